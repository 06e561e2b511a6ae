// The static build's engine worker without a browser: its message handler (worker-dispatch.ts)
// over the worker's engine host (engine-host.ts) running the embedded model on onnxruntime-node
// instead of onnxruntime-web (the same engine code). It must answer exactly as the local server's
// WebSocket does (server/serve.test.ts): malformed messages with one line to id -1, every call
// validated, and the page's versions through the same EngineSession.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, relative } from 'node:path';
import { after, before, test } from 'node:test';
import { validateEngineCall, type Prediction, type ScoreUpdate } from '../../common/api.ts';
import type { ModelsState } from '../../common/models-api.ts';
import { invalidMessageReply, type WireMessage } from '../../common/rpc.ts';
import { EngineSession } from '../../models/src/engine-session.ts';
import { createSession } from '../../models/src/ort.ts';
import { EMBEDDED_MODEL_DIR } from '../../models/src/paths.ts';
import type { BrowserModels as BrowserModelsType } from './browser-models.ts';
import { WorkerEngineHost } from './engine-host.ts';
import { workerDispatch } from './worker-dispatch.ts';

/** The embedded model's files, served the way the static build serves them (model/ and its manifest.json beside the worker's assets/). */
function embeddedFiles(): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (!e.name.startsWith('.') && statSync(p).isFile()) files.set(relative(EMBEDDED_MODEL_DIR, p), readFileSync(p));
    }
  };
  walk(EMBEDDED_MODEL_DIR);
  const manifest = { files: [...files].map(([path, data]) => ({ path, bytes: data.length, sha256: createHash('sha256').update(data).digest('hex') })) };
  files.set('manifest.json', Buffer.from(JSON.stringify(manifest)));
  return files;
}

let server: Server;
let BrowserModels: typeof BrowserModelsType;

interface Worker {
  host: WorkerEngineHost;
  models: BrowserModelsType;
  sent: WireMessage[];
  /** Posts `msg` as the page would and resolves with the answer to `id` (or to -1). */
  post(msg: unknown, id?: number): Promise<Extract<WireMessage, { kind: 'result' }>>;
  call<T>(method: string, params: unknown): Promise<T>;
  until(pred: (u: ScoreUpdate) => boolean, from?: number): Promise<ScoreUpdate>;
  /** Posts a message that has no answer (configure, picked-folder). */
  raw(msg: unknown): Promise<void>;
}

/** What engine-worker.ts builds, with onnxruntime-node for onnxruntime-web and messages posted by the test. */
function worker(): Worker {
  const host = new WorkerEngineHost((bytes) => createSession(bytes, { device: 'cpu' })); // the embedded model keeps no external data
  const sent: WireMessage[] = [];
  const waiters = new Set<() => void>();
  const push = (m: WireMessage) => {
    sent.push(m);
    for (const w of [...waiters]) w();
  };
  const models = new BrowserModels(host, (event, data) => push({ kind: 'event', event, data }));
  let version = 0;
  const handle = workerDispatch(new EngineSession(host, () => ++version), models, push);
  void models.start();
  let nextId = 1;
  const post = (msg: unknown, id = -1) =>
    new Promise<Extract<WireMessage, { kind: 'result' }>>((resolve) => {
      const from = sent.length;
      const check = () => {
        const r = sent.slice(from).find((m): m is Extract<WireMessage, { kind: 'result' }> => m.kind === 'result' && m.id === id);
        if (r) {
          waiters.delete(check);
          resolve(r);
        }
      };
      waiters.add(check);
      void handle(msg);
      check();
    });
  return {
    host,
    models,
    sent,
    post,
    raw: (msg) => handle(msg),
    async call<T>(method: string, params: unknown) {
      const id = nextId++;
      const r = await post({ kind: 'call', id, method, params }, id);
      if (r.error !== undefined) throw new Error(r.error);
      return r.result as T;
    },
    until: (pred, from = 0) =>
      new Promise((resolve) => {
        const check = () => {
          const e = sent.slice(from).find((m) => m.kind === 'event' && m.event === 'scores' && pred(m.data as ScoreUpdate));
          if (e) {
            waiters.delete(check);
            resolve((e as { data: ScoreUpdate }).data);
          }
        };
        waiters.add(check);
        check();
      }),
  };
}

before(async () => {
  const files = embeddedFiles();
  server = createServer((req, res) => {
    const path = decodeURIComponent((req.url ?? '').replace(/^\/model\//, ''));
    const data = files.get(path);
    if (!data) return void res.writeHead(404).end();
    res.writeHead(200, { 'content-length': data.length }).end(data);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  // The worker's global scope as far as the worker's code reads it: where its script is.
  (globalThis as unknown as { self: unknown }).self = { location: new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}/assets/engine-worker.js`) };
  ({ BrowserModels } = await import('./browser-models.ts'));
  w = worker();
});
after(async () => {
  await w.host.dispose();
  server.close();
});

let w: Worker;

test('a call before the model has loaded waits for it and is answered', { timeout: 120_000 }, async () => {
  await w.call('update', { version: 1, text: 'Sent before the model was ready.' });
  const done = await w.until((u) => u.version === 1 && u.done);
  assert.ok(done.tokenCount > 4);
  assert.equal((await w.call<Prediction[]>('topK', { version: 1, index: 1, k: 3 })).length, 3);
});

test('a message that is not a well-formed call is answered with one line to id -1, exactly as the local server answers it (an object id used to be answered)', async () => {
  const malformed: unknown[] = [
    { kind: 'call', id: { nested: true }, method: 'modelInfo', params: {} },
    { kind: 'call', id: '7', method: 'modelInfo', params: {} },
    { kind: 'call', id: 1.5, method: 'modelInfo', params: {} },
    { kind: 'call', id: 2 ** 53, method: 'modelInfo', params: {} },
    { kind: 'call', id: null, method: 'modelInfo' },
    null,
    'modelInfo',
    42,
    [],
    { kind: 'frobnicate', id: 3 },
    { kind: 'result', id: 4, result: 'spoofed' },
  ];
  for (const msg of malformed) {
    const expected = invalidMessageReply(msg);
    const reply = await w.post(msg, expected.id);
    assert.deepEqual(reply, expected, JSON.stringify(msg));
    assert.match(reply.error!, /^invalid message: expected \{kind:"call", id, method, params\}$/);
  }
  assert.deepEqual(invalidMessageReply({ kind: 'call', id: { nested: true } }).id, -1);
  // A method without a name, or the wrong kind of page message, is refused the same way.
  assert.equal((await w.post({ kind: 'call', id: 9, params: {} }, 9)).error, invalidMessageReply({}).error);
  assert.match((await w.post({ kind: 'configure', hubEndpoint: { url: 'x' } })).error!, /^invalid hub endpoint/);
  assert.match((await w.post({ kind: 'picked-folder', folder: { name: 'x', files: 'all of them' } })).error!, /^invalid picked folder/);

  // Well-formed calls are validated as over IPC and the WebSocket: unknown methods, bad or huge parameters.
  const cases: [string, unknown][] = [
    ['resolve', { id: 'embedded' }],
    ['topK', { version: 1, index: 0, k: 1e9 }],
    ['predictions', { version: 1, from: 3, to: 1, k: 5 }],
    ['update', 'text'],
    ['update', { version: 1e300, text: 'absurd' }],
    ['update', { version: 2, text: 'x'.repeat(6 * 1024 * 1024) }],
    ['infill', { version: 1, start: 0, end: 4, prefixOnly: 'yes' }],
    ['importModel', { dir: 'relative/path' }],
    ['selectModel', { id: '../../etc' }],
  ];
  for (const [method, params] of cases) {
    const expected = (() => {
      try {
        validateEngineCall(method, params);
        return null;
      } catch (e) {
        return (e as Error).message;
      }
    })();
    const reply = await w.post({ kind: 'call', id: 700, method, params }, 700);
    assert.ok(reply.error, `${method} was refused`);
    if (!['importModel', 'selectModel'].includes(method)) assert.equal(reply.error, expected);
  }
});

test('the models state names the hub downloads come from (the page may set another)', async () => {
  assert.equal((await w.call<ModelsState>('modelsState', {})).hubEndpoint, 'https://huggingface.co');
  await w.raw({ kind: 'configure', hubEndpoint: 'http://127.0.0.1:9999' });
  assert.equal((await w.call<ModelsState>('modelsState', {})).hubEndpoint, 'http://127.0.0.1:9999');
});

test('one update with an absurd version does not wedge scoring: the same per-page version rule as the local server', { timeout: 120_000 }, async () => {
  await w.call('update', { version: Number.MAX_SAFE_INTEGER, text: 'The largest version there is.' });
  await w.until((u) => u.version === Number.MAX_SAFE_INTEGER && u.done);
  await assert.rejects(w.call('update', { version: 2, text: 'Lower.' }), /^Error: invalid parameters for update: version must be greater than the last one \(9007199254740991\)$/);
  await assert.rejects(w.call('update', { version: 2 ** 53, text: 'Unsafe.' }), /version must be a non-negative integer/);
  await assert.rejects(w.call('topK', { version: 3, index: 0, k: 5 }), /version 3 is not a recent version of this page's document/);
  assert.equal((await w.call<Prediction[]>('topK', { version: Number.MAX_SAFE_INTEGER, index: 2, k: 3 })).length, 3, 'the absurd version itself is answered');
  // The engine's own versions stayed small: a model switch re-scores the page's text and the page sees its own version.
  const before = w.sent.length;
  await w.models.call({ method: 'selectModel', params: { id: 'embedded' } });
  const rescored = await new Promise<ScoreUpdate>((resolve) => {
    const poll = () => {
      const e = w.sent.slice(before).find((m) => m.kind === 'event' && m.event === 'scores' && (m.data as ScoreUpdate).done);
      if (e) resolve((e as { data: ScoreUpdate }).data);
      else setTimeout(poll, 50);
    };
    poll();
  });
  assert.equal(rescored.version, Number.MAX_SAFE_INTEGER);
  // And a fresh page (a reload starts a new worker) scores from version 1.
  const fresh = worker();
  try {
    await fresh.call('update', { version: 1, text: 'A reloaded page scores from version 1.' });
    assert.ok((await fresh.until((u) => u.version === 1 && u.done)).tokenCount > 4);
  } finally {
    await fresh.host.dispose();
  }
});
