import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { EngineStatus, ScoreUpdate } from '../common/api.ts';
import { EngineHost } from '../models/src/engine-host.ts';
import { EMBEDDED_MODEL_DIR } from '../models/src/paths.ts';
import { buildElectron } from './build.ts';

// Inside the repo (dist/ is ignored), so the bundle resolves onnxruntime-node from node_modules as the app does.
const dist = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist');
mkdirSync(dist, { recursive: true });
const out = mkdtempSync(join(dist, 'electron-test-'));
before(() => buildElectron(out));
after(() => rmSync(out, { recursive: true, force: true }));

const builtin = (m: string) => m.startsWith('node:') || builtinModules.includes(m);
function imports(file: string): string[] {
  const src = readFileSync(join(out, file), 'utf8');
  return [...src.matchAll(/(?:^|\n)import\s[^;]*?from\s*["']([^"']+)["']/g), ...src.matchAll(/\brequire\(["']([^"']+)["']\)/g)].map((m) => m[1]!);
}

test('the preload is CommonJS and requires nothing but electron (a sandboxed preload can load nothing else)', () => {
  const src = readFileSync(join(out, 'preload.cjs'), 'utf8');
  assert.doesNotMatch(src, /^\s*import\s/m);
  assert.deepEqual([...new Set(imports('preload.cjs'))], ['electron']);
  assert.match(src, /exposeInMainWorld\("likelyEngine"/);
  assert.match(src, /exposeInMainWorld\("likelyShell"/);
  assert.match(src, /exposeInMainWorld\("likelyModels"/);
  assert.doesNotMatch(src, /exposeInMainWorld\([^,]+,\s*import_electron\.ipcRenderer\)/, 'ipcRenderer itself is never exposed');
});

test('main.js and engine-process.js load only Node built-ins, electron and onnxruntime-node at run time', () => {
  assert.deepEqual([...new Set(imports('main.js').filter((m) => !builtin(m)))], ['electron']);
  assert.deepEqual([...new Set(imports('engine-process.js').filter((m) => !builtin(m)))], ['onnxruntime-node']);
});

test('the bundled engine process scores the embedded model exactly like the source one', async () => {
  const text = 'Packaged or not, the engine gives the same numbers.';
  async function scoreWith(entry?: string) {
    const host = new EngineHost({ device: 'cpu', entry, modelDir: EMBEDDED_MODEL_DIR });
    try {
      const done = new Promise<ScoreUpdate>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('timed out')), 60_000);
        host.on('status', (s: EngineStatus) => s.state === 'error' && reject(new Error(s.message)));
        host.on('scores', (u) => {
          if (u.done) {
            clearTimeout(timer);
            resolve(u);
          }
        });
      });
      await host.call('update', { version: 1, text });
      const u = await done;
      assert.equal(u.from, 0);
      return u.tokens.map((t) => t.logprob);
    } finally {
      host.close();
    }
  }
  const bundled = await scoreWith(join(out, 'engine-process.js'));
  const source = await scoreWith();
  assert.ok(bundled.length > 5);
  assert.deepEqual(bundled, source);
});
