// The static build's hub download (hub-download.ts) driven in Node against the local hub
// (models/testing/local-hub.ts: real HTTP, the tree API, CDN redirects): what it installs is
// verified, nothing unverifiable is installed, a file is never read past the size the hub
// announced, and a hub that stops answering fails within the stall time, after which downloading
// again resumes. The same fetch and Web Crypto as in the browser; the store is in memory.
import assert from 'node:assert/strict';
import { after, before, beforeEach, test } from 'node:test';
import type { DownloadProgress, RegistryModel } from '../../common/models-api.ts';
import { EMBEDDED_MODEL_DIR } from '../../models/src/paths.ts';
import { LocalHub } from '../../models/testing/local-hub.ts';
import { DownloadError, downloadToStore, type DownloadStore } from './hub-download.ts';

const REPO = 'likely-test/embedded-web';
const ONNX = 'onnx/model.onnx';
let hub: LocalHub;

const entry = (files?: RegistryModel['files']): RegistryModel => ({
  id: 'tiny-web',
  name: 'Tiny (embedded), for the browser',
  size: 'small',
  precision: 'fp32',
  repo: REPO,
  revision: 'main',
  memoryBytes: 1e8,
  files: files ?? ['config.json', 'tokenizer.json', ONNX].map((path) => ({ path, bytes: null, approxBytes: 1000, sha256: null })),
});

function memoryStore() {
  const files = new Map<string, Uint8Array>();
  let installed: unknown = null;
  const store: DownloadStore = {
    has: async (id, path) => files.has(`${id}/${path}`),
    put: async (id, path, bytes) => void files.set(`${id}/${path}`, bytes),
    markInstalled: async (record) => void (installed = record),
  };
  return { store, files, installed: () => installed };
}

async function download(store: DownloadStore, opts: { entry?: RegistryModel; stallMs?: number; signal?: AbortSignal } = {}) {
  const events: DownloadProgress[] = [];
  await downloadToStore(hub.endpoint, opts.entry ?? entry(), store, opts.signal ?? new AbortController().signal, (p) => events.push(p), { stallMs: opts.stallMs });
  return events;
}

async function failsWith(p: Promise<unknown>, code: string, message: RegExp): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof DownloadError, String(e));
    assert.equal(e.info.code, code, e.message);
    assert.match(e.message, message);
    return true;
  });
}

before(async () => {
  hub = await new LocalHub().start();
  hub.addRepo(REPO, EMBEDDED_MODEL_DIR);
});
after(() => hub.close());
beforeEach(() => {
  hub.treeFilter = null;
  hub.chunked = false;
  hub.silent.clear();
  hub.stallAfter.clear();
  hub.sent.clear();
});

test('nothing unverifiable is installed: an empty file list, or one without sizes or checksums, stops the download before a byte of the model moves', async () => {
  const cases: [string, LocalHub['treeFilter'], RegExp][] = [
    ['an empty file list', () => null, /^the hub lists no size or checksum for config\.json of likely-test\/embedded-web \(it is not in its file list\), so it could not be verified; nothing was downloaded or installed$/],
    ['no sizes', (e) => ({ ...e, size: undefined, lfs: e.lfs && { oid: e.lfs.oid } }), /^the hub lists no size for config\.json/],
    ['no checksums', (e) => ({ ...e, oid: undefined, lfs: e.lfs && { size: e.lfs.size } }), /^the hub lists no checksum for config\.json/],
    ['no checksum for the model only', (e) => (e.path === ONNX ? { path: e.path, size: e.size } : e), /^the hub lists no checksum for onnx\/model\.onnx/],
  ];
  for (const [what, filter, message] of cases) {
    hub.treeFilter = filter;
    const { store, files, installed } = memoryStore();
    const before = hub.log.length;
    await failsWith(download(store), 'unverifiable', message);
    assert.equal(installed(), null, `${what}: not installed`);
    assert.equal(files.size, 0, `${what}: nothing stored`);
    assert.deepEqual(hub.log.slice(before).filter((r) => r.url.includes('/resolve/')), [], `${what}: no file was fetched`);
  }
  // The registry's own facts are enough.
  hub.treeFilter = () => null;
  const files = entry().files.map((f) => ({ ...f, bytes: hub.file(REPO, f.path).data.length, sha256: hub.file(REPO, f.path).sha256 }));
  const { store, installed } = memoryStore();
  await download(store, { entry: entry(files) });
  assert.ok(installed());
  // A registry entry with no files at all installs nothing either.
  await failsWith(download(memoryStore().store, { entry: entry([]) }), 'unverifiable', /^tiny-web lists no files; nothing was installed$/);
});

test('a file is read no further than the size the hub announced: more fails at once (261 MB were read for a 4 MB file)', async () => {
  const announced = 4_000_000;
  hub.treeFilter = (e) => (e.path === ONNX ? { ...e, size: announced, lfs: { oid: e.lfs!.oid, size: announced } } : e);
  // With a Content-Length larger than announced, it fails before reading the body.
  await failsWith(download(memoryStore().store), 'checksum', /^the hub sent more of onnx\/model\.onnx than the 4000000 bytes it announced; it was discarded, nothing was installed$/);
  // Without one (chunked), it stops reading where the announced size ends.
  hub.chunked = true;
  hub.sent.clear();
  const { store, installed } = memoryStore();
  await failsWith(download(store), 'checksum', /than the 4000000 bytes it announced/);
  await new Promise((r) => setTimeout(r, 200));
  const sent = hub.sent.get(ONNX) ?? 0;
  assert.ok(sent < announced + 16 * 1024 * 1024, `the hub got to send ${sent} of ${hub.file(REPO, ONNX).data.length} bytes`);
  assert.equal(installed(), null);
});

test('a hub that stops answering fails within the stall time with a line saying so, and downloading again resumes', { timeout: 60_000 }, async () => {
  const { store, files, installed } = memoryStore();
  // No answer to the file list.
  hub.silent.add('api/tree');
  let t = performance.now();
  await failsWith(download(store, { stallMs: 300 }), 'network', /^the hub stopped answering \(nothing for 0\.3 s while fetching the file list of likely-test\/embedded-web\); downloading again resumes$/);
  assert.ok(performance.now() - t < 5000);
  hub.silent.clear();
  // No headers for a file.
  hub.silent.add('tokenizer.json');
  t = performance.now();
  await failsWith(download(store, { stallMs: 300 }), 'network', /while fetching tokenizer\.json\); downloading again resumes$/);
  assert.ok(performance.now() - t < 5000);
  assert.ok(files.has('tiny-web/config.json') && !files.has('tiny-web/tokenizer.json'), 'the file before it is kept');
  hub.silent.clear();
  // Bytes that stop coming in the middle of the model.
  hub.stallAfter.set(ONNX, 3_000_000);
  const events: DownloadProgress[] = [];
  t = performance.now();
  await failsWith(downloadToStore(hub.endpoint, entry(), store, new AbortController().signal, (p) => events.push(p), { stallMs: 300 }), 'network', /while fetching onnx\/model\.onnx\); downloading again resumes$/);
  assert.ok(performance.now() - t < 5000);
  assert.equal(events.at(-1)!.phase, 'downloading', 'it never claimed to be verifying a file it was still waiting for');
  assert.equal(installed(), null);
  // Downloading again: the stored files are kept, the rest comes, and the model installs.
  const again = await download(store, { stallMs: 300 });
  assert.equal(again.at(-1)!.phase, 'done');
  assert.ok(again.find((e) => e.phase === 'downloading')!.resumedBytes > 0, 'resumed with the files already stored');
  assert.deepEqual((installed() as { files: { path: string }[] }).files.map((f) => f.path), ['config.json', 'tokenizer.json', ONNX]);
  assert.ok(Buffer.from(files.get(`tiny-web/${ONNX}`)!).equals(hub.file(REPO, ONNX).data), 'the model as the hub has it');

  // A pause during a body still stops the download at once (a pause and a stall abort the same request).
  hub.chunkDelayMs = 5;
  try {
    const controller = new AbortController();
    const p = downloadToStore(hub.endpoint, entry(), memoryStore().store, controller.signal, (e) => {
      if (e.file === ONNX && e.bytes > 2e6) controller.abort();
    });
    await failsWith(p, 'aborted', /paused/);
  } finally {
    hub.chunkDelayMs = 0;
  }
});
