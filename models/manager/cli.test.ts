/**
 * `likely models list|download|import|remove|path` as a user runs it: the real registry, the hub at
 * HF_ENDPOINT (a local hub serving the embedded model's files under Xenova/gpt2's name), the models
 * folder at LIKELY_MODELS_DIR.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { formatBytes, type DownloadProgress, type ModelListEntry } from '../../common/models-api.ts';
import { progressLine } from '../cli/models.ts';
import { EMBEDDED_MODEL_DIR } from '../src/paths.ts';
import { buildModelFolder } from '../synthetic/random-models.ts';
import { LocalHub } from '../testing/local-hub.ts';
import { EMBEDDED_NAME, EMBEDDED_SHAPE } from '../testing/embedded.ts';
import { hostileFolder, HOSTILE_WORDS, type Hostile } from '../testing/hostile-folders.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
let hub: LocalHub;
let modelsDir: string;

function likely(args: string[], timeoutMs?: number): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'models/cli.ts', ...args], {
      cwd: ROOT,
      env: { ...process.env, HF_ENDPOINT: hub.endpoint, LIKELY_MODELS_DIR: modelsDir, HF_TOKEN: '' },
      // A command that hangs (a FIFO read) is killed and fails its test instead of hanging the file.
      ...(timeoutMs ? { timeout: timeoutMs, killSignal: 'SIGKILL' as const } : {}),
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

before(async () => {
  hub = await new LocalHub().start();
  hub.addRepo('Xenova/gpt2', EMBEDDED_MODEL_DIR);
  modelsDir = mkdtempSync(join(tmpdir(), 'likely-cli-models-'));
});
after(async () => {
  await hub.close();
  rmSync(modelsDir, { recursive: true, force: true });
});

describe('likely models', () => {
  test('list, download, path, remove', async () => {
    const list = await likely(['models', 'list', '--json']);
    assert.equal(list.code, 0, list.stderr);
    const parsed = JSON.parse(list.stdout) as { modelsDir: string; models: ModelListEntry[] };
    assert.equal(parsed.modelsDir, modelsDir);
    assert.deepEqual(
      parsed.models.map((m) => m.id),
      ['embedded', ...['small', 'medium', 'large', 'xl'].flatMap((s) => ['fp32', 'fp16', 'int8'].map((p) => `gpt2-${s}-${p}`))],
    );
    const xl = parsed.models.find((m) => m.id === 'gpt2-xl-fp32')!;
    assert.deepEqual([xl.repo, xl.installed, xl.precision, xl.size], ['onnx-community/gpt2-xl-ONNX', false, 'fp32', 'xl']);
    assert.ok(xl.downloadBytes! > 6e9 && xl.memoryBytes > 7e9);

    const table = await likely(['models', 'list']);
    assert.match(table.stdout, /^ID +SIZE +PREC +DOWNLOAD +MEMORY +STATUS$/m);
    assert.match(table.stdout, /^gpt2-small-fp32 +small +fp32 +503 MB +930 MB +not downloaded$/m);
    assert.match(table.stdout, new RegExp(`models folder: ${modelsDir}`));

    const dl = await likely(['models', 'download', 'gpt2-small-fp32']);
    assert.equal(dl.code, 0, dl.stderr);
    assert.equal(dl.stdout, join(modelsDir, 'gpt2-small-fp32') + '\n');
    assert.match(dl.stderr, /gpt2-small-fp32: connecting to the hub…/);
    // The four files the registry lists, served from the embedded model's folder.
    const total = formatBytes(['config.json', 'tokenizer.json', 'tokenizer_config.json', 'onnx/model.onnx'].reduce((s, f) => s + statSync(join(EMBEDDED_MODEL_DIR, f)).size, 0));
    assert.match(dl.stderr, new RegExp(`onnx/model\\.onnx \\(4/4\\) {2}[\\d.]+ [kMG]?B / ${total.replace('.', '\\.')} {2}\\d+%`));
    assert.ok(dl.stderr.includes(`gpt2-small-fp32: done, ${total}`), dl.stderr);
    assert.ok(readFileSync(join(modelsDir, 'gpt2-small-fp32', 'onnx', 'model.onnx')).equals(readFileSync(join(EMBEDDED_MODEL_DIR, 'onnx', 'model.onnx'))));

    const path = await likely(['models', 'path', 'gpt2-small-fp32']);
    assert.equal(path.stdout, join(modelsDir, 'gpt2-small-fp32') + '\n');
    const again = JSON.parse((await likely(['models', 'list', '--json'])).stdout) as { models: ModelListEntry[] };
    assert.equal(again.models.find((m) => m.id === 'gpt2-small-fp32')!.installed, true);

    const rm = await likely(['models', 'remove', 'gpt2-small-fp32']);
    assert.equal(rm.code, 0, rm.stderr);
    assert.equal(existsSync(join(modelsDir, 'gpt2-small-fp32')), false);
  });

  test('import a folder, then remove it', async () => {
    const imp = await likely(['models', 'import', EMBEDDED_MODEL_DIR, '--id', 'brown']);
    assert.equal(imp.code, 0, imp.stderr);
    assert.equal(imp.stdout, 'brown\n');
    assert.ok(imp.stderr.startsWith(`imported ${EMBEDDED_NAME} as brown (fp32, `), imp.stderr);
    assert.equal((await likely(['models', 'path', 'brown'])).stdout, EMBEDDED_MODEL_DIR + '\n');
    assert.equal((await likely(['models', 'remove', 'brown'])).code, 0);
    assert.ok(existsSync(join(EMBEDDED_MODEL_DIR, 'onnx', 'model.onnx')));
  });

  test('errors are one line and a non-zero exit', async () => {
    const cases: [string[], number, RegExp][] = [
      [['models'], 2, /^likely: usage: likely models list/],
      [['models', 'frobnicate'], 2, /^likely: unknown models command "frobnicate"/],
      [['models', 'download', 'gpt2-huge'], 1, /^likely: no model "gpt2-huge" in the registry/],
      [['models', 'download', 'gpt2-medium-fp32'], 1, /^likely: config\.json was not found on the server \(404 for http:\/\/127\.0\.0\.1:\d+\/onnx-community\/gpt2-medium-ONNX\/resolve\/main\/config\.json\)$/],
      [['models', 'import', join(modelsDir, 'nowhere')], 1, /^likely: .*nowhere does not exist$/],
      [['models', 'remove', 'embedded'], 1, /^likely: the embedded model ships with the app and cannot be removed$/],
      [['models', 'list', '--yaml'], 2, /^likely: unknown option --yaml$/],
    ];
    for (const [args, code, message] of cases) {
      const r = await likely(args);
      assert.equal(r.code, code, `${args.join(' ')}: ${r.stderr}`);
      const lines = r.stderr.split('\n').filter((l) => l.startsWith('likely:'));
      assert.equal(lines.length, 1, r.stderr);
      assert.match(lines[0]!, message);
    }
  });

  test("inspect prints each ONNX file's interface, whether Likely can run it and show its attention", async () => {
    const merged = buildModelFolder(join(modelsDir, 'inspect-merged'), 'model_fp16.onnx', { interface: 'merged', weights: 'fp16', externalData: false });
    const r = await likely(['models', 'inspect', merged]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /onnx\/model_fp16\.onnx \(fp16, .*\)\n {2}opset 13; external data: none\n {2}merged decoder \(If on use_cache_branch\), no position_ids/);
    assert.match(r.stdout, / {4}use_cache_branch +bool +\[1\]\n/);
    const { heads, width } = EMBEDDED_SHAPE; // buildModelFolder rebuilds the embedded model
    assert.match(r.stdout, new RegExp(` {4}past_key_values\\.0\\.key +float32 +\\[batch_size, ${heads}, past_sequence_length, ${width / heads}\\]\n`));
    assert.match(r.stdout, / {2}Likely can run it\.\n {2}attention view: available\n$/);
    const fused = buildModelFolder(join(modelsDir, 'inspect-fused'), 'model.onnx', { interface: 'with-past', weights: 'fp32', externalData: false, attention: 'fused' });
    assert.match(
      (await likely(['models', 'inspect', fused])).stdout,
      / {2}Likely can run it\.\n {2}attention view: unavailable \(the graph computes attention in one fused com\.microsoft\.MultiHeadAttention operator, which keeps the attention weights inside\)\n$/,
    );
    const withPast = buildModelFolder(join(modelsDir, 'inspect-ext'), 'model.onnx', { interface: 'with-past', weights: 'fp32', externalData: true });
    rmSync(join(withPast, 'onnx', 'model.onnx_data'));
    const broken = await likely(['models', 'inspect', withPast, '--json']);
    const report = JSON.parse(broken.stdout) as { files: { path: string; graph: { opsets: Record<string, number>; externalData: string[] }; problems: string[] }[] };
    assert.equal(report.files[0]!.graph.opsets[''], 14);
    assert.deepEqual(report.files[0]!.graph.externalData, ['model.onnx_data']);
    assert.deepEqual(report.files[0]!.problems, ['onnx/model.onnx_data is missing (the weights of onnx/model.onnx)']);
    assert.match((await likely(['models', 'inspect', withPast])).stdout, / {2}Likely cannot run it: onnx\/model\.onnx_data is missing[^\n]*\n$/, 'no attention view for a file that does not run');
  });

  test('inspect and import of a folder with a FIFO, a link to /dev/zero or a 9 GB file in place of a model file: one line naming it, at once (they hung, or read /dev/zero into memory)', { timeout: 600_000, skip: process.platform === 'win32' && 'needs mkfifo' }, async () => {
    const cases: [string, Hostile][] = [
      ['config.json', 'fifo'],
      ['onnx/model.onnx', 'fifo'],
      ['tokenizer.json', 'fifo'],
      ['merges.txt', 'fifo'],
      ['tokenizer_config.json', 'fifo'],
      ['onnx/model.onnx_data', 'fifo'],
      ['config.json', 'zero'],
      ['vocab.json', 'zero'],
      ['onnx/model.onnx', 'zero'],
      ['tokenizer.json', 'huge'],
      ['config.json', 'huge'],
    ];
    for (const [file, kind] of cases) {
      const dir = hostileFolder(join(modelsDir, '..', `hostile-${kind}`), file, kind);
      const inspect = await likely(['models', 'inspect', dir], 60_000);
      assert.equal(inspect.code, 0, `inspect, ${file} as ${kind}: ${inspect.stderr}`);
      const named = inspect.stdout.split('\n').filter((l) => l.includes(file) && HOSTILE_WORDS[kind].test(l));
      assert.equal(named.length >= 1, true, `inspect names ${file} as ${kind}:\n${inspect.stdout}`);
      assert.doesNotMatch(inspect.stdout, /Likely can run it\./);
      const imp = await likely(['models', 'import', dir, '--id', 'hostile'], 60_000);
      assert.equal(imp.code, 1, `import, ${file} as ${kind}: ${imp.stderr}`);
      assert.equal(imp.stderr.split('\n').filter(Boolean).length, 1, imp.stderr);
      assert.ok(imp.stderr.includes(file) && HOSTILE_WORDS[kind].test(imp.stderr), imp.stderr);
    }
    // --copy copies every file of a good folder, and refuses one it would block on (a FIFO beside the model files).
    const extra = hostileFolder(join(modelsDir, '..', 'hostile-extra'), 'README.fifo', 'fifo');
    const copy = await likely(['models', 'import', extra, '--id', 'copied-fifo', '--copy'], 60_000);
    assert.equal(copy.code, 1, copy.stderr);
    assert.match(copy.stderr, /^likely: cannot copy .*README\.fifo: it is a named pipe \(FIFO\), not a regular file\n$/);
    assert.equal(existsSync(join(modelsDir, 'copied-fifo')), false, 'nothing installed');
    assert.equal(existsSync(join(modelsDir, '.staging', 'copied-fifo')), false, 'nothing left in staging');
  });

  test('one broken likely-model.json does not break the list: every model that can be read is listed, the broken ones marked with why', { timeout: 120_000, skip: process.platform === 'win32' && 'needs mkfifo' }, async () => {
    const good = await likely(['models', 'import', EMBEDDED_MODEL_DIR, '--id', 'good-one']);
    assert.equal(good.code, 0, good.stderr);
    const broken: [string, string | null, RegExp][] = [
      ['no-fields', JSON.stringify({ id: 'no-fields' }), /^likely-model\.json: "name" must be a string \(missing\); remove it \(likely models remove no-fields\) and import it again$/],
      ['bad-precision', JSON.stringify({ id: 'bad-precision', name: 'x', source: 'imported', precision: 'fp64', memoryBytes: 1, files: [] }), /^likely-model\.json: "precision" must be fp32, fp16 or int8, got "fp64"/],
      ['not-json', '{ "id": ', /^likely-model\.json is not valid JSON/],
      ['a-list', '[]', /^likely-model\.json: not a JSON object/],
      ['gpt2-small-fp16', JSON.stringify({ id: 'gpt2-small-fp16', name: 7 }), /^likely-model\.json: "name" must be a string; remove it \(likely models remove gpt2-small-fp16\) and download it again$/],
      ['a-fifo', null, /^likely-model\.json is a named pipe \(FIFO\), not a regular file/],
    ];
    // A folder whose name holds a bidi override: listed, and shown by the app's rule for text.
    const rtl = 'rtl\u202eledom';
    mkdirSync(join(modelsDir, rtl));
    writeFileSync(join(modelsDir, rtl, 'likely-model.json'), JSON.stringify({ id: rtl, name: 'Name \u2066isolated\u2069', source: 'imported', precision: 'fp32', memoryBytes: 1, files: [], path: join(modelsDir, rtl) }));
    for (const [id, content] of broken) {
      mkdirSync(join(modelsDir, id), { recursive: true });
      if (content === null) execFileSync('mkfifo', [join(modelsDir, id, 'likely-model.json')]);
      else writeFileSync(join(modelsDir, id, 'likely-model.json'), content);
    }
    try {
      const list = await likely(['models', 'list', '--json'], 60_000);
      assert.equal(list.code, 0, list.stderr);
      const { models } = JSON.parse(list.stdout) as { models: ModelListEntry[] };
      assert.equal(models.find((m) => m.id === 'good-one')?.installed, true, 'the good import is listed');
      assert.equal(models.filter((m) => m.source === 'hub').length, 12, 'every registry model is listed');
      for (const [id, , why] of broken) {
        const entry = models.find((m) => m.id === id)!;
        assert.ok(entry, `${id} is listed`);
        assert.equal(entry.installed, false);
        assert.match(entry.problem ?? '', why, id);
      }
      const table = await likely(['models', 'list'], 60_000);
      assert.equal(table.code, 0, table.stderr);
      assert.match(table.stdout, /^no-fields .* broken: likely-model\.json: "name" must be a string/m);
      assert.match(table.stdout, /^good-one .* imported \(/m);
      assert.match(table.stdout, /^rtl⟨U\+202E⟩ledom +- +fp32 /m);
      assert.ok(![...table.stdout].some((ch) => /[\u202a-\u202e\u2066-\u2069]/.test(ch)), 'no bidi control reaches the terminal');
      const use = await likely(['models', 'path', 'bad-precision'], 60_000);
      assert.match(use.stderr, /^likely: bad-precision cannot be used: likely-model\.json: "precision" must be/);
      const rm = await likely(['models', 'remove', 'no-fields'], 60_000);
      assert.equal(rm.code, 0, rm.stderr);
      assert.equal(existsSync(join(modelsDir, 'no-fields')), false, 'a broken entry can be removed');
    } finally {
      for (const id of [...broken.map(([id]) => id), rtl]) rmSync(join(modelsDir, id), { recursive: true, force: true });
      await likely(['models', 'remove', 'good-one']);
    }
  });

  test('progress lines', () => {
    const p: DownloadProgress = { id: 'x', phase: 'downloading', file: 'onnx/model.onnx_data', fileIndex: 4, fileCount: 5, bytes: 1.25e9, totalBytes: 6.24e9, resumedBytes: 0, bytesPerSecond: 12.5e6, etaSeconds: 399 };
    assert.equal(progressLine(p), 'onnx/model.onnx_data (5/5)  1.3 GB / 6.2 GB  20%  12.5 MB/s  6:39 left');
    assert.equal(progressLine({ ...p, bytesPerSecond: 0, etaSeconds: null }), 'onnx/model.onnx_data (5/5)  1.3 GB / 6.2 GB  20%  0 B/s  --:-- left');
  });
});
