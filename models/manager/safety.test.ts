/**
 * The model manager never touches anything outside its models folder, whatever id it is given
 * (API and CLI); `import --copy` copies files, not links; file-system failures are sentences.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, test } from 'node:test';
import { loadEngine } from '../src/load-from-folder.ts';
import { EMBEDDED_MODEL_DIR } from '../src/paths.ts';
import { ModelManagerError } from './errors.ts';
import { MANIFEST, ModelManager } from './manager.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const root = mkdtempSync(join(tmpdir(), 'likely-safety-'));
after(() => rmSync(root, { recursive: true, force: true }));

/** A home with the user's documents, a models folder, and a sibling folder that looks like a model. */
function world(name: string) {
  const home = join(root, name);
  const modelsDir = join(home, 'data', 'models');
  mkdirSync(join(home, 'Documents'), { recursive: true });
  writeFileSync(join(home, 'Documents', 'novel.txt'), 'chapter one');
  mkdirSync(join(home, 'data', 'sibling'), { recursive: true });
  writeFileSync(join(home, 'data', 'sibling', MANIFEST), JSON.stringify({ id: 'sibling', name: 'x', source: 'imported', precision: 'fp32', memoryBytes: 1, files: [], installedAt: '' }));
  mkdirSync(join(modelsDir, 'kept'), { recursive: true });
  writeFileSync(join(modelsDir, 'kept', MANIFEST), JSON.stringify({ id: 'kept', name: 'kept', source: 'imported', precision: 'fp32', memoryBytes: 1, files: [], installedAt: '' }));
  return { home, modelsDir };
}

const OUTSIDE = (home: string) => ['..', '../..', '../../Documents', '../sibling', '../../../../Documents', join(home, 'Documents'), '/', '.', '.staging', '.trash', 'kept/..', 'a/../../sibling', '..\\sibling', ''];

function intact(home: string, modelsDir: string) {
  assert.equal(readFileSync(join(home, 'Documents', 'novel.txt'), 'utf8'), 'chapter one');
  assert.ok(existsSync(join(home, 'data', 'sibling', MANIFEST)));
  assert.ok(existsSync(join(modelsDir, 'kept', MANIFEST)));
}

test('remove, resolve and download refuse ids that leave the models folder', async () => {
  const { home, modelsDir } = world('api');
  const manager = new ModelManager({ modelsDir, registry: [] });
  for (const id of OUTSIDE(home)) {
    await assert.rejects(manager.remove(id), (e) => e instanceof ModelManagerError && /not a model id|cannot be removed|not installed/.test(e.message), `remove ${JSON.stringify(id)}`);
    assert.throws(() => manager.resolve(id), ModelManagerError, `resolve ${JSON.stringify(id)}`);
    intact(home, modelsDir);
  }
  await manager.remove('kept');
  assert.ok(!existsSync(join(modelsDir, 'kept')), 'a real id is still removed');
});

test('likely models remove refuses the same ids', () => {
  const { home, modelsDir } = world('cli');
  for (const id of ['..', '../../Documents', '../sibling', join(home, 'Documents')]) {
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'models/cli.ts', 'models', 'remove', id], { cwd: ROOT, env: { ...process.env, LIKELY_MODELS_DIR: modelsDir }, encoding: 'utf8' });
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /is not a model id/);
    assert.equal(r.stderr.trim().split('\n').length, 1, 'one line');
    intact(home, modelsDir);
  }
});

test('import --copy copies the files links point to, not the links', async () => {
  const elsewhere = join(root, 'blobs');
  cpSync(EMBEDDED_MODEL_DIR, elsewhere, { recursive: true });
  const linked = join(root, 'linked-model');
  mkdirSync(join(linked, 'onnx'), { recursive: true });
  for (const f of ['config.json', 'tokenizer.json', 'tokenizer_config.json', 'onnx/model.onnx']) symlinkSync(join(elsewhere, f), join(linked, f));
  const modelsDir = join(root, 'copy-models');
  const manager = new ModelManager({ modelsDir, registry: [] });
  const entry = await manager.import(linked, { id: 'linked', copy: true });
  const onnx = join(modelsDir, 'linked', 'onnx', 'model.onnx');
  assert.ok(lstatSync(onnx).isFile() && !lstatSync(onnx).isSymbolicLink(), 'a regular file');
  renameSync(elsewhere, elsewhere + '-moved'); // the blobs go away: the copy must not care
  const engine = await loadEngine({ modelDir: manager.resolve(entry.id), device: 'cpu' });
  assert.ok((await engine.score('Still here.')).tokens.length > 0);
  await engine.dispose();
});

test('file-system failures are sentences, not error codes', async () => {
  const file = join(root, 'not-a-folder');
  writeFileSync(file, 'x');
  const onFile = new ModelManager({ modelsDir: join(file, 'models'), registry: [] });
  await assert.rejects(onFile.import(EMBEDDED_MODEL_DIR, { id: 'x', copy: true }), (e) => {
    assert.ok(e instanceof ModelManagerError);
    assert.doesNotMatch(e.message, /\b(ENOTDIR|EEXIST|EROFS)\b/);
    assert.match(e.message, /is a file, not a folder|is in the way/);
    return true;
  });
  const blocked = new ModelManager({ modelsDir: file, registry: [] });
  await assert.rejects(blocked.import(EMBEDDED_MODEL_DIR, { id: 'y', copy: true }), (e) => e instanceof ModelManagerError && !/\bE[A-Z]+\b/.test(e.message) && e.message.includes(file));
});
