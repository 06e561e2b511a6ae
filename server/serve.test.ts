// The local web server's models methods over its WebSocket, with the real engine process: calls
// are validated before anything acts, the registry given with --registry and the hub in
// HF_ENDPOINT are used, progress and status events reach the page, a switch is kept in the models
// folder and used at the next start.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect as connectTcp } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { after, before, test } from 'node:test';
import WebSocket from 'ws';
import { validateEngineCall, type EngineStatus, type Prediction, type ScoreUpdate, type TokenScore } from '../common/api.ts';
import { MAX_UPDATE_CHARS } from '../common/limits.ts';
import type { DownloadProgress, ModelSelection, ModelsState } from '../common/models-api.ts';
import { hostileFolder } from '../models/testing/hostile-folders.ts';
import { LocalHub } from '../models/testing/local-hub.ts';
import { EMBEDDED_MODEL_DIR } from '../models/src/paths.ts';
import { startWebServer, WEB_SETTINGS_FILE, type WebServer } from './serve.ts';

const work = mkdtempSync(join(tmpdir(), 'likely-serve-models-'));
const modelsDir = join(work, 'models');
const registryPath = join(work, 'registry.json');
const REPO = 'likely-test/served';
const NAME = 'Test model (served by the test hub)';
let hub: LocalHub;
const savedEndpoint = process.env.HF_ENDPOINT;

before(async () => {
  const copy = join(work, 'hub-copy');
  cpSync(EMBEDDED_MODEL_DIR, copy, { recursive: true, filter: (src) => !basename(src).startsWith('.likely-') });
  const config = JSON.parse(readFileSync(join(copy, 'config.json'), 'utf8')) as { likely?: Record<string, unknown> };
  config.likely = { ...config.likely, name: NAME };
  writeFileSync(join(copy, 'config.json'), JSON.stringify(config));
  hub = await new LocalHub().start();
  hub.addRepo(REPO, copy);
  const files = ['config.json', 'tokenizer.json', 'tokenizer_config.json', 'onnx/model.onnx'].map((path) => ({ path, bytes: null, approxBytes: hub.file(REPO, path).data.length, sha256: null }));
  writeFileSync(registryPath, JSON.stringify({ version: 1, models: [{ id: 'served-tiny-fp32', name: 'Served tiny', size: 'small', precision: 'fp32', repo: REPO, revision: 'main', memoryBytes: 3e8, files }] }));
  process.env.HF_ENDPOINT = hub.endpoint;
});

after(async () => {
  if (savedEndpoint === undefined) delete process.env.HF_ENDPOINT;
  else process.env.HF_ENDPOINT = savedEndpoint;
  await hub?.close();
  rmSync(work, { recursive: true, force: true });
});

interface Page {
  ws: WebSocket;
  events: { event: string; data: unknown }[];
  call<T>(method: string, params?: unknown): Promise<T>;
  raw(msg: unknown): Promise<{ result?: unknown; error?: string }>;
  /** The first event (from index `from` of `events` on) that matches. */
  until<T>(event: string, pred: (d: T) => boolean, from?: number): Promise<T>;
}

async function connect(web: WebServer): Promise<Page> {
  const ws = new WebSocket(`ws://127.0.0.1:${web.port}/engine`, { origin: `http://127.0.0.1:${web.port}` });
  const events: { event: string; data: unknown }[] = [];
  const pending = new Map<number, (m: { result?: unknown; error?: string }) => void>();
  const waiters = new Set<() => void>();
  let nextId = 1;
  ws.on('message', (raw) => {
    const msg = JSON.parse(String(raw)) as { kind: string; id: number; event: string; data: unknown; result?: unknown; error?: string };
    if (msg.kind === 'result') {
      pending.get(msg.id)?.(msg);
      pending.delete(msg.id);
    } else {
      events.push({ event: msg.event, data: msg.data });
      for (const w of [...waiters]) w();
    }
  });
  await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
  const raw = (msg: unknown) =>
    new Promise<{ result?: unknown; error?: string }>((resolve) => {
      const id = (msg as { id?: number }).id ?? -1;
      pending.set(id, resolve);
      ws.send(JSON.stringify(msg));
    });
  return {
    ws,
    events,
    raw,
    async call<T>(method: string, params: unknown = {}) {
      const r = await raw({ kind: 'call', id: nextId++, method, params });
      if (r.error !== undefined) throw new Error(r.error);
      return r.result as T;
    },
    until<T>(event: string, pred: (d: T) => boolean, from = 0) {
      return new Promise<T>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`timed out waiting for ${event}`)), 60_000);
        const check = () => {
          for (; from < events.length; from++) {
            const e = events[from]!;
            if (e.event === event && pred(e.data as T)) {
              clearTimeout(timer);
              waiters.delete(check);
              return resolve(e.data as T);
            }
          }
        };
        waiters.add(check);
        check();
      });
    },
  };
}

test('models calls are validated before anything acts on them', async () => {
  const web = await startWebServer({ port: 0, modelsDir, registryPath, device: 'cpu' });
  try {
    const page = await connect(web);
    await assert.rejects(page.call('selectModel', { id: '../../etc/passwd' }), /invalid parameters for selectModel: id must be a model id/);
    await assert.rejects(page.call('setDevice', { device: 'tpu' }), /device must be auto, gpu or cpu/);
    await assert.rejects(page.call('importModel', { dir: 'relative' }), /absolute folder path/);
    await assert.rejects(page.call('downloadModel', 'served-tiny-fp32'), /expected an object/);
    const unknown = await page.raw({ kind: 'call', id: 99, method: 'resolve', params: { id: 'embedded' } });
    assert.equal(unknown.error, 'unknown engine method "resolve"');
    // A web page cannot open a native folder picker: it must type the path.
    await assert.rejects(page.call('importModel', {}), /type the path of the model folder/);
    await assert.rejects(page.call('selectModel', { id: 'served-tiny-fp32' }), /not downloaded yet/);
    await assert.rejects(page.call('removeModel', { id: 'embedded' }), /cannot be removed/);
    assert.equal(existsSync(join(modelsDir, WEB_SETTINGS_FILE)), false, 'nothing was saved');
    page.ws.close();
  } finally {
    await web.close();
  }
});

test('download from HF_ENDPOINT with progress over the socket, switch (status names the model), kept for the next start', { timeout: 180_000 }, async () => {
  let web = await startWebServer({ port: 0, modelsDir, registryPath, device: 'cpu' });
  try {
    const page = await connect(web);
    await page.until<EngineStatus>('status', (s) => s.state === 'ready');
    const state = await page.call<ModelsState>('modelsState');
    assert.equal(state.modelsDir, modelsDir);
    assert.deepEqual(
      state.models.map((m) => m.id),
      ['embedded', 'served-tiny-fp32'],
      'the registry is the one given with --registry',
    );
    assert.equal(state.selected, 'embedded');

    const done = await page.call<{ id: string; path: string }>('downloadModel', { id: 'served-tiny-fp32' });
    assert.equal(done.path, join(modelsDir, 'served-tiny-fp32'));
    assert.ok(hub.log.some((r) => r.server === 'hub' && r.url.startsWith(`/${REPO}/resolve/`)), 'fetched from HF_ENDPOINT');
    const last = await page.until<DownloadProgress>('modelProgress', (p) => p.phase === 'done');
    assert.equal(last.bytes, last.totalBytes);
    await page.until<ModelsState>('modelsState', (s) => s.models.some((m) => m.id === 'served-tiny-fp32' && m.installed));

    await page.call('update', { version: 1, text: 'Scores before and after the switch.' });
    await page.until<{ version: number; done: boolean }>('scores', (u) => u.version === 1 && u.done);
    const seen = page.events.length;
    const selection = await page.call<ModelSelection>('selectModel', { id: 'served-tiny-fp32' });
    assert.equal(selection.model?.name, NAME);
    const after = page.events.slice(seen);
    const statuses = after.filter((e) => e.event === 'status').map((e) => e.data as EngineStatus);
    const readyAt = statuses.findIndex((s) => s.state === 'ready');
    assert.deepEqual([...new Set(statuses.slice(0, readyAt + 1).map((s) => s.state))], ['loading', 'ready']);
    assert.equal(statuses[readyAt]!.model?.name, NAME);
    // The page's document is scored again, in the page's own version numbers.
    await page.until<{ version: number; done: boolean }>('scores', (u) => u.version === 1 && u.done, seen);
    assert.deepEqual(JSON.parse(readFileSync(join(modelsDir, WEB_SETTINGS_FILE), 'utf8')), { modelId: 'served-tiny-fp32', device: 'cpu' });
    page.ws.close();
    await web.close();

    // The next start runs the saved model without being told.
    web = await startWebServer({ port: 0, modelsDir, registryPath });
    const again = await connect(web);
    const ready = await again.until<EngineStatus>('status', (s) => s.state === 'ready');
    assert.equal(ready.model?.name, NAME);
    assert.equal((await again.call<ModelsState>('modelsState')).selected, 'served-tiny-fp32');
    again.ws.close();
  } finally {
    await web.close();
  }
});

test('a reload or a second tab gets every token of its document, and versions are its own', { timeout: 180_000 }, async () => {
  const web = await startWebServer({ port: 0, modelsDir, registryPath, device: 'cpu' });
  try {
    const text = 'A reload sends the same text again; the new page has no scores yet and must get all of them.';
    const first = await connect(web);
    await first.call('update', { version: 1, text: text.slice(0, 40) });
    await first.call('update', { version: 7, text });
    const before = await first.until<ScoreUpdate>('scores', (u) => u.version === 7 && u.done);
    // The same text (and a prefix-sharing one) from a new page: the engine used to answer
    // firstChanged = tokenCount and no tokens, so the page was never colored.
    for (const next of [text, text + ' And more.']) {
      const page = await connect(web);
      await page.call('update', { version: 1, text: next });
      const done = await page.until<ScoreUpdate>('scores', (u) => u.version === 1 && u.done);
      const chunks = page.events.filter((e) => e.event === 'scores').map((e) => e.data as ScoreUpdate);
      assert.equal(chunks[0]!.firstChanged, 0);
      assert.equal(new Set(chunks.flatMap((c) => c.tokens.map((t) => t.start))).size, done.tokenCount, 'every token arrived');
      if (next === text) {
        const mine = chunks.flatMap((c) => c.tokens);
        const firstPage = scoresOf(before, first); // the tokens the first page got for its version 7 (after its unchanged prefix)
        for (const [i, t] of firstPage.entries()) if (t) assert.equal(mine[i]!.logprob, t.logprob, `token ${i} scores the same for both pages`);
      }
      page.ws.close();
    }
  } finally {
    await web.close();
  }
});

/** Every token of a finished version, from the chunks a page received. */
function scoresOf(done: ScoreUpdate, page: Page): TokenScore[] {
  const tokens: TokenScore[] = [];
  for (const e of page.events) if (e.event === 'scores' && (e.data as ScoreUpdate).version === done.version) for (const [i, t] of (e.data as ScoreUpdate).tokens.entries()) tokens[(e.data as ScoreUpdate).from + i] = t;
  return tokens;
}

test('one message cannot wedge scoring: versions must increase per connection, and a new connection starts clean', { timeout: 180_000 }, async () => {
  const web = await startWebServer({ port: 0, modelsDir, registryPath, device: 'cpu' });
  try {
    const page = await connect(web);
    await page.call('update', { version: Number.MAX_SAFE_INTEGER, text: 'The largest version there is.' });
    await page.until<ScoreUpdate>('scores', (u) => u.version === Number.MAX_SAFE_INTEGER && u.done);
    await assert.rejects(page.call('update', { version: 2, text: 'Lower.' }), /^Error: invalid parameters for update: version must be greater than the last one \(9007199254740991\)$/);
    await assert.rejects(page.call('update', { version: 2 ** 53, text: 'Unsafe.' }), /version must be a non-negative integer/);
    await assert.rejects(page.call('topK', { version: 3, index: 0, k: 5 }), /version 3 is not a recent version of this page's document/);
    const next = await connect(web); // used to never score until the server restarted
    await next.call('update', { version: 1, text: 'A new tab scores from version 1.' });
    const done = await next.until<ScoreUpdate>('scores', (u) => u.version === 1 && u.done);
    assert.ok(done.tokenCount > 5);
    assert.equal((await next.call<Prediction[]>('topK', { version: 1, index: 2, k: 3 })).length, 3);
    page.ws.close();
    next.ws.close();
  } finally {
    await web.close();
  }
});

test('engine parameters are refused over the WebSocket with the same one line as over IPC, never clamped', { timeout: 120_000 }, async () => {
  const web = await startWebServer({ port: 0, modelsDir, registryPath, device: 'cpu' });
  try {
    const page = await connect(web);
    await page.call('update', { version: 1, text: 'Some text to ask about.' });
    await page.until<ScoreUpdate>('scores', (u) => u.version === 1 && u.done);
    const cases: [string, Record<string, unknown>][] = [
      ['topK', { version: 1, index: 0, k: 1e9 }],
      ['topK', { version: 1, index: 0, k: 0 }],
      ['topK', { version: 1, index: 0, k: -1 }],
      ['predictions', { version: 1, from: 3, to: 1, k: 5 }],
      ['infill', { version: 1, start: 0, end: 4, k: 1e9 }],
      ['infill', { version: 1, start: 0, end: 4, prefixOnly: 'yes' }],
      ['update', { version: 2, text: 'x'.repeat(MAX_UPDATE_CHARS + 1) }],
    ];
    for (const [method, params] of cases) {
      const ipc = (() => {
        try {
          validateEngineCall(method, params);
          return 'accepted';
        } catch (e) {
          return (e as Error).message;
        }
      })();
      assert.notEqual(ipc, 'accepted', `${method} ${JSON.stringify(params).slice(0, 60)}`);
      assert.equal((await page.raw({ kind: 'call', id: 500, method, params })).error, ipc);
    }
    // Far past the limit (20 MB): the socket refuses the message itself and closes.
    const closed = new Promise<number>((resolve) => page.ws.once('close', (code) => resolve(code)));
    page.ws.send(JSON.stringify({ kind: 'call', id: 501, method: 'update', params: { version: 3, text: 'x'.repeat(20e6) } }));
    assert.equal(await closed, 1009, 'message too big');
  } finally {
    await web.close();
  }
});

test('a broken --registry is a clear error', async () => {
  const bad = join(work, 'bad-registry.json');
  writeFileSync(bad, JSON.stringify({ models: [{ id: 'x' }] }));
  await assert.rejects(startWebServer({ port: 0, modelsDir, registryPath: bad }), /--registry: .*models\[0\] \(x\): "name" must be a string/);
});

/** Sends raw bytes to the server and resolves with the status line of its answer (or why none came). */
function rawRequest(port: number, request: string): Promise<string> {
  return new Promise((resolve) => {
    const socket = connectTcp(port, '127.0.0.1', () => socket.write(request));
    let data = '';
    socket.setTimeout(10_000, () => socket.destroy());
    socket.on('data', (d) => {
      data += d.toString('latin1');
      if (data.includes('\r\n')) socket.destroy(); // the status line is all a case looks at (a 101 would stay open)
    });
    socket.on('close', () => resolve(data.split('\r\n')[0] || 'no answer'));
    socket.on('error', () => {});
  });
}

test('a request with two Host headers, none, two Origins or a flood of headers is refused (RFC 9112: 400), for pages and for the WebSocket', { timeout: 60_000 }, async () => {
  const dist = join(work, 'dist-headers');
  mkdirSync(dist, { recursive: true });
  writeFileSync(join(dist, 'index.html'), '<!doctype html><title>t</title>');
  const web = await startWebServer({ port: 0, modelsDir, registryPath, device: 'cpu', distDir: dist });
  try {
    const ours = `127.0.0.1:${web.port}`;
    const upgrade = (headers: string) => `GET /engine HTTP/1.1\r\n${headers}Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`;
    const cases: [string, string, RegExp][] = [
      ['one Host, ours', `GET / HTTP/1.1\r\nHost: ${ours}\r\nConnection: close\r\n\r\n`, /^HTTP\/1\.1 200 /],
      ['ours, then a foreign one', `GET / HTTP/1.1\r\nHost: ${ours}\r\nHost: evil.example\r\nConnection: close\r\n\r\n`, /^HTTP\/1\.1 400 /],
      ['a foreign one, then ours', `GET / HTTP/1.1\r\nHost: evil.example\r\nHost: ${ours}\r\nConnection: close\r\n\r\n`, /^HTTP\/1\.1 400 /],
      ['ours twice', `GET / HTTP/1.1\r\nHost: ${ours}\r\nhost: ${ours}\r\nConnection: close\r\n\r\n`, /^HTTP\/1\.1 400 /],
      ['none (HTTP/1.0)', `GET / HTTP/1.0\r\n\r\n`, /^HTTP\/1\.1 400 /],
      ['150 headers', `GET / HTTP/1.1\r\nHost: ${ours}\r\n${Array.from({ length: 150 }, (_, i) => `X-Filler-${i}: ${i}\r\n`).join('')}Connection: close\r\n\r\n`, /^HTTP\/1\.1 431 /],
      ['a 32 KB header', `GET / HTTP/1.1\r\nHost: ${ours}\r\nX-Big: ${'a'.repeat(32 * 1024)}\r\nConnection: close\r\n\r\n`, /^HTTP\/1\.1 431 /],
      ['upgrade, one Host and our Origin', upgrade(`Host: ${ours}\r\nOrigin: http://${ours}\r\n`), /^HTTP\/1\.1 101 /],
      ['upgrade, two Hosts', upgrade(`Host: ${ours}\r\nHost: evil.example\r\nOrigin: http://${ours}\r\n`), /^HTTP\/1\.1 400 /],
      ['upgrade, two Origins', upgrade(`Host: ${ours}\r\nOrigin: http://${ours}\r\nOrigin: http://evil.example\r\n`), /^HTTP\/1\.1 400 /],
      ['upgrade, our Origin twice', upgrade(`Host: ${ours}\r\nOrigin: http://${ours}\r\nOrigin: http://${ours}\r\n`), /^HTTP\/1\.1 400 /],
      ['upgrade, 150 headers', upgrade(`Host: ${ours}\r\nOrigin: http://${ours}\r\n${Array.from({ length: 150 }, (_, i) => `X-F${i}: ${i}\r\n`).join('')}`), /^HTTP\/1\.1 431 /],
    ];
    for (const [what, request, status] of cases) assert.match(await rawRequest(web.port, request), status, what);
  } finally {
    await web.close();
  }
});

test('importing a model folder with a FIFO (or a link to /dev/zero) over the WebSocket never blocks GET / or scoring: one line naming the file, at once', { timeout: 120_000, skip: process.platform === 'win32' && 'needs mkfifo' }, async () => {
  const dist = join(work, 'dist-fifo');
  mkdirSync(dist, { recursive: true });
  writeFileSync(join(dist, 'index.html'), '<!doctype html><title>t</title>');
  const web = await startWebServer({ port: 0, modelsDir: join(work, 'fifo-models'), registryPath, device: 'cpu', distDir: dist });
  // If the import blocks the server, a writer opens the FIFOs after 8 s so the test ends (and fails on its timings).
  const folders = [hostileFolder(join(work, 'fifo-config'), 'config.json', 'fifo'), hostileFolder(join(work, 'fifo-onnx'), 'onnx/model.onnx', 'fifo'), hostileFolder(join(work, 'zero-vocab'), 'vocab.json', 'zero')];
  const unblock = spawn('sh', ['-c', `sleep 8; for f in "$@"; do [ -p "$f" ] && (timeout 5 sh -c 'echo x > "$0"' "$f" &); done; sleep 1`, 'sh', join(folders[0]!, 'config.json'), join(folders[1]!, 'onnx', 'model.onnx')], { stdio: 'ignore' });
  try {
    const page = await connect(web);
    await page.call('update', { version: 1, text: 'A page that scores while another imports.' });
    await page.until<ScoreUpdate>('scores', (u) => u.version === 1 && u.done);
    const t0 = performance.now();
    const imports = folders.map((dir) => page.call('importModel', { dir }).then(() => 'imported', (e: Error) => e.message));
    // While the imports run: a page load, and the page's scoring, answer within a few seconds.
    const get = await fetch(web.url).then((r) => r.status);
    const getMs = performance.now() - t0;
    await page.call('update', { version: 2, text: 'A page that scores while another imports, edited.' });
    await page.until<ScoreUpdate>('scores', (u) => u.version === 2 && u.done);
    const scoreMs = performance.now() - t0;
    const results = await Promise.all(imports);
    const importMs = performance.now() - t0;
    assert.equal(get, 200);
    assert.ok(getMs < 3000, `GET / took ${Math.round(getMs)} ms`);
    assert.ok(scoreMs < 5000, `scoring took ${Math.round(scoreMs)} ms`);
    assert.ok(importMs < 5000, `the imports were answered after ${Math.round(importMs)} ms`);
    assert.match(results[0]!, /config\.json is a named pipe \(FIFO\), not a regular file/);
    assert.match(results[1]!, /onnx\/model\.onnx is a named pipe \(FIFO\), not a regular file/);
    assert.match(results[2]!, /vocab\.json is a device, not a regular file/);
    for (const r of results) assert.ok(!r.includes('\n'), r);
    // Another client can connect and score too.
    const next = await connect(web);
    await next.call('update', { version: 1, text: 'Another tab, after the imports.' });
    await next.until<ScoreUpdate>('scores', (u) => u.version === 1 && u.done);
    next.ws.close();
    page.ws.close();
  } finally {
    unblock.kill();
    await web.close();
  }
});
