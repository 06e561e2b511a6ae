/**
 * Downloads against a local hub on 127.0.0.1 (local-hub.ts) serving the embedded model's real
 * files over real HTTP with Range support: completion and checksums, a transfer cut mid-file and
 * resumed with Range, a corrupt file, 404, a file changed on the server, pause, disk full, network
 * down, and that the models folder never holds a half-written model.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, test } from 'node:test';
import type { DownloadProgress } from '../../common/models-api.ts';
import { loadEngine } from '../src/load-from-folder.ts';
import { EMBEDDED_MODEL_DIR } from '../src/paths.ts';
import { ModelManagerError } from './errors.ts';
import { COMMIT, LocalHub } from '../testing/local-hub.ts';
import { MANIFEST, ModelManager, type InstalledManifest } from './manager.ts';
import { hubEndpoint, resolveUrl, type RegistryModel } from './registry.ts';

const REPO = 'likely-test/embedded-ONNX';
const ONNX = 'onnx/model.onnx';
const ONNX_BYTES = statSync(join(EMBEDDED_MODEL_DIR, ONNX)).size;

function registryEntry(over: Partial<RegistryModel> = {}): RegistryModel {
  return {
    id: 'tiny-fp32',
    name: 'Tiny (embedded) fp32',
    size: 'small',
    precision: 'fp32',
    repo: REPO,
    revision: 'main',
    memoryBytes: 100e6,
    files: [
      { path: 'config.json', bytes: null, approxBytes: 600, sha256: null },
      { path: 'tokenizer.json', bytes: null, approxBytes: 1.5e6, sha256: null },
      { path: 'tokenizer_config.json', bytes: null, approxBytes: 218, sha256: null },
      { path: ONNX, bytes: null, approxBytes: 29e6, sha256: null },
    ],
    ...over,
  };
}

let hub: LocalHub;
let dir: string;

function manager(over: Partial<RegistryModel> = {}, extra: RegistryModel[] = []): ModelManager {
  return new ModelManager({ modelsDir: dir, registry: [registryEntry(over), ...extra], endpoint: hub.endpoint });
}

/** Every visible entry of the models folder is a complete, installed model. */
function assertNoHalfWrittenModel(): string[] {
  if (!existsSync(dir)) return [];
  const visible = readdirSync(dir).filter((n) => !n.startsWith('.'));
  for (const name of visible) {
    const manifest = JSON.parse(readFileSync(join(dir, name, MANIFEST), 'utf8')) as InstalledManifest;
    for (const f of manifest.files) assert.equal(statSync(join(dir, name, f.path)).size, f.bytes, `${name}/${f.path} is complete`);
  }
  return visible;
}

async function rejectsWith(p: Promise<unknown>, code: string, message?: RegExp): Promise<ModelManagerError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof ModelManagerError, `expected a ModelManagerError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    if (message) assert.match(e.message, message);
    assert.ok(!e.message.includes('\n'), 'the message is one line');
    return e;
  }
  assert.fail(`expected a ${code} error`);
}

const gets = (path: string) => hub.requestsFor(path).filter((r) => r.method === 'GET' && r.server === 'cdn');

before(async () => {
  hub = await new LocalHub().start();
  hub.addRepo(REPO, EMBEDDED_MODEL_DIR);
});
after(() => hub.close());
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'likely-models-'));
  hub.log.length = 0;
  hub.cutAfter.clear();
  hub.corrupt.clear();
  hub.addRepo(REPO, EMBEDDED_MODEL_DIR);
});

describe('download', () => {
  test('completes, verifies every file, installs atomically, and the engine scores with it', async () => {
    const events: DownloadProgress[] = [];
    const m = manager();
    assert.equal(m.list().find((e) => e.id === 'tiny-fp32')?.installed, false);
    hub.chunkDelayMs = 5; // ~0.6 s in all, long enough to measure a speed
    const path = await m
      .download('tiny-fp32', {
        onProgress: (p) => {
          events.push(p);
          if (p.phase !== 'done') assert.deepEqual(assertNoHalfWrittenModel(), [], 'nothing visible before the install');
        },
      })
      .finally(() => (hub.chunkDelayMs = 0));
    assert.equal(path, join(dir, 'tiny-fp32'));
    for (const f of ['config.json', 'tokenizer.json', 'tokenizer_config.json', ONNX]) {
      assert.ok(readFileSync(join(path, f)).equals(readFileSync(join(EMBEDDED_MODEL_DIR, f))), `${f} is byte-identical`);
    }
    const manifest = JSON.parse(readFileSync(join(path, MANIFEST), 'utf8')) as InstalledManifest;
    assert.equal(manifest.revision, COMMIT, 'pinned to the commit the hub reported');
    assert.deepEqual(
      manifest.files.map((f) => [f.path, f.verifiedBy]),
      [
        ['config.json', 'git-sha1'],
        ['tokenizer.json', 'git-sha1'],
        ['tokenizer_config.json', 'git-sha1'],
        [ONNX, 'sha256'],
      ],
    );
    assert.equal(manifest.files[3]!.sha256, hub.file(REPO, ONNX).sha256);
    // Every file after the first HEAD is fetched from the pinned commit.
    const hubUrls = hub.log.filter((r) => r.server === 'hub').map((r) => r.url);
    assert.equal(hubUrls[0], `/${REPO}/resolve/main/config.json`);
    assert.ok(hubUrls.slice(1).every((u) => u.includes(`/resolve/${COMMIT}/`)), hubUrls.join(' '));

    // Progress: phases in order, bytes never decrease, the last event has everything.
    const phases = [...new Set(events.map((e) => e.phase))];
    assert.deepEqual(phases, ['connecting', 'downloading', 'verifying', 'installing', 'done']);
    for (let i = 1; i < events.length; i++) assert.ok(events[i]!.bytes >= events[i - 1]!.bytes);
    const last = events.at(-1)!;
    const total = ['config.json', 'tokenizer.json', 'tokenizer_config.json', ONNX].reduce((s, f) => s + statSync(join(EMBEDDED_MODEL_DIR, f)).size, 0);
    assert.equal(last.totalBytes, total);
    assert.equal(last.bytes, total);
    assert.equal(last.etaSeconds, 0);
    const timed = events.filter((e) => e.phase === 'downloading' && e.bytesPerSecond > 0);
    assert.ok(timed.length > 0, 'a speed was measured');
    assert.ok(timed.some((e) => e.etaSeconds !== null && e.etaSeconds > 0), 'and a time left');

    assert.deepEqual(assertNoHalfWrittenModel(), ['tiny-fp32']);
    assert.deepEqual(readdirSync(join(dir, '.staging')), [], 'staging is empty afterwards');
    const entry = m.list().find((e) => e.id === 'tiny-fp32')!;
    assert.equal(entry.installed, true);
    assert.equal(m.resolve('tiny-fp32'), path);
    assert.equal(await m.download('tiny-fp32'), path, 'downloading an installed model is a no-op');

    const text = 'The committee met on Tuesday to discuss the budget.';
    const downloaded = await loadEngine({ modelDir: m.resolve('tiny-fp32'), device: 'cpu' });
    const embedded = await loadEngine({ modelDir: EMBEDDED_MODEL_DIR, device: 'cpu' });
    const [a, b] = [await downloaded.score(text), await embedded.score(text)];
    await Promise.all([downloaded.dispose(), embedded.dispose()]);
    assert.equal(a.tokens.length, 10);
    assert.deepEqual(a.tokens, b.tokens);
    assert.equal(a.perplexity, b.perplexity);
  });

  test('a transfer cut in the middle resumes from where it stopped, after a restart', async () => {
    const cut = 10_000_000 + 123;
    hub.cutAfter.set(ONNX, cut);
    await rejectsWith(manager().download('tiny-fp32'), 'network', /retry to resume/);
    assert.deepEqual(assertNoHalfWrittenModel(), []);
    const partial = join(dir, '.staging', 'tiny-fp32', `${ONNX}.partial`);
    const kept = statSync(partial).size;
    // Normally every byte sent is kept; writes still buffered when the socket dies may be lost.
    assert.ok(kept > cut / 2 && kept <= cut, `kept ${kept} of the ${cut} bytes sent`);
    const fresh = manager(); // a new process: only what is on disk carries over
    assert.equal(fresh.list().find((e) => e.id === 'tiny-fp32')!.partialBytes! >= kept, true);

    const events: DownloadProgress[] = [];
    await fresh.download('tiny-fp32', { onProgress: (p) => events.push(p) });
    const onnxGets = gets(ONNX);
    assert.equal(onnxGets.length, 2);
    assert.equal(onnxGets[0]!.headers.range, undefined);
    assert.equal(onnxGets[1]!.headers.range, `bytes=${kept}-`, 'the second request carried the Range');
    assert.equal(onnxGets[1]!.headers['if-range'], undefined, 'the hub ETag is not sent to the CDN');
    const smallFiles = ['config.json', 'tokenizer.json', 'tokenizer_config.json'].reduce((s, f) => s + statSync(join(EMBEDDED_MODEL_DIR, f)).size, 0);
    assert.equal(events.find((e) => e.phase === 'downloading')!.resumedBytes, smallFiles + kept, 'finished files and the partial count as resumed');
    assert.ok(readFileSync(join(dir, 'tiny-fp32', ONNX)).equals(readFileSync(join(EMBEDDED_MODEL_DIR, ONNX))));
    assert.deepEqual(assertNoHalfWrittenModel(), ['tiny-fp32']);
  });

  test('pause with an AbortSignal keeps the partial file; the next download resumes it', async () => {
    const controller = new AbortController();
    hub.chunkDelayMs = 2;
    try {
      const m = manager();
      const p = m.download('tiny-fp32', {
        signal: controller.signal,
        onProgress: (e) => {
          if (e.file === ONNX && e.bytes > 5e6) controller.abort();
        },
      });
      await rejectsWith(p, 'aborted', /paused/);
    } finally {
      hub.chunkDelayMs = 0;
    }
    const kept = statSync(join(dir, '.staging', 'tiny-fp32', `${ONNX}.partial`)).size;
    assert.ok(kept > 3e6 && kept < ONNX_BYTES, `kept ${kept}`);
    assert.deepEqual(assertNoHalfWrittenModel(), []);
    await manager().download('tiny-fp32');
    assert.equal(gets(ONNX).at(-1)!.headers.range, `bytes=${kept}-`);
    assert.ok(readFileSync(join(dir, 'tiny-fp32', ONNX)).equals(readFileSync(join(EMBEDDED_MODEL_DIR, ONNX))));
  });

  test('a corrupted file fails its checksum, is deleted and nothing is installed', async () => {
    hub.corrupt.add(ONNX);
    const e = await rejectsWith(manager().download('tiny-fp32'), 'checksum', /onnx\/model\.onnx failed its checksum \(sha256 expected [0-9a-f]{12}…, got [0-9a-f]{12}…\)/);
    assert.match(e.message, /deleted/);
    assert.deepEqual(assertNoHalfWrittenModel(), []);
    const staged = join(dir, '.staging', 'tiny-fp32', 'onnx');
    assert.deepEqual(readdirSync(staged), [], 'neither the file nor its partial is kept');
    // A small file whose git SHA-1 does not match fails the same way.
    hub.corrupt.clear();
    hub.corrupt.add('tokenizer_config.json');
    rmSync(join(dir, '.staging'), { recursive: true });
    await rejectsWith(manager().download('tiny-fp32'), 'checksum', /tokenizer_config\.json failed its checksum \(git-sha1/);
    assert.deepEqual(assertNoHalfWrittenModel(), []);
  });

  test('a registry SHA-256 that differs from the hub fails before any byte is downloaded', async () => {
    const files = registryEntry().files.map((f) => (f.path === ONNX ? { ...f, sha256: 'ab'.repeat(32) } : f));
    await rejectsWith(manager({ files }).download('tiny-fp32'), 'checksum', /onnx\/model\.onnx on the hub \(sha256 [0-9a-f]{12}…\) is not the file in the registry \(sha256 abababababab…\)/);
    assert.equal(gets(ONNX).length, 0);
    assert.equal(
      hub.log.filter((r) => r.method === 'GET').length,
      0,
      'no GET at all',
    );
    // The right registry checksum verifies as sha256.
    const good = registryEntry().files.map((f) => (f.path === ONNX ? { ...f, sha256: hub.file(REPO, ONNX).sha256, bytes: ONNX_BYTES } : f));
    await manager({ files: good }).download('tiny-fp32');
    const manifest = JSON.parse(readFileSync(join(dir, 'tiny-fp32', MANIFEST), 'utf8')) as InstalledManifest;
    assert.equal(manifest.files[3]!.verifiedBy, 'sha256');
  });

  test('a 404 is a clear error and nothing is installed', async () => {
    const files = [...registryEntry().files, { path: 'onnx/model.onnx_data', bytes: null, approxBytes: 1, sha256: null }];
    await rejectsWith(manager({ files }).download('tiny-fp32'), 'not-found', /^onnx\/model\.onnx_data was not found on the server \(404 for http:\/\/127\.0\.0\.1:\d+\/likely-test\/embedded-ONNX\/resolve\/c0ffee0+42\/onnx\/model\.onnx_data\)$/);
    await rejectsWith(manager({ repo: 'likely-test/no-such-repo' }).download('tiny-fp32'), 'not-found', /config\.json was not found/);
    assert.deepEqual(assertNoHalfWrittenModel(), []);
    assert.equal(gets(ONNX).length, 0, 'the 404 is found by the HEADs, before downloading');
  });

  test('a file changed on the server between attempts restarts that file', async () => {
    hub.cutAfter.set(ONNX, 4_000_000);
    await rejectsWith(manager().download('tiny-fp32'), 'network');
    const original = readFileSync(join(EMBEDDED_MODEL_DIR, ONNX));
    const changed = Buffer.from(original);
    changed[100]! ^= 0x55; // inside a string field; a different file, same size
    hub.setFile(REPO, ONNX, changed);
    const notices: string[] = [];
    await manager().download('tiny-fp32', { onNotice: (n) => notices.push(n) });
    assert.deepEqual(notices, ['onnx/model.onnx changed on the server; restarting it']);
    const last = gets(ONNX).at(-1)!;
    assert.equal(last.headers.range, undefined, 'the changed file was fetched from the start');
    assert.ok(readFileSync(join(dir, 'tiny-fp32', ONNX)).equals(changed));
  });

  test('two downloads of one model at once: the second is refused', async () => {
    const m = manager();
    const first = m.download('tiny-fp32');
    await rejectsWith(m.download('tiny-fp32'), 'busy', /already downloading/);
    await first;
  });

  test('a hub that gives no checksum, or no size, for its files gets nothing installed: the download stops before a byte moves (a corrupt model was marked installed)', async () => {
    for (const hook of ['noChecksums', 'noSizes'] as const) {
      hub[hook] = true;
      try {
        const before = hub.log.length;
        await rejectsWith(manager().download('tiny-fp32'), 'unverifiable', new RegExp(`^the hub gives no ${hook === 'noSizes' ? 'size' : 'checksum'} for config\\.json of ${REPO} .*nothing was downloaded or installed$`));
        assert.deepEqual(hub.log.slice(before).filter((r) => r.method === 'GET'), [], 'no GET was sent');
        assert.deepEqual(assertNoHalfWrittenModel(), []);
        assert.equal(manager().list().find((e) => e.id === 'tiny-fp32')!.installed, false);
      } finally {
        hub[hook] = false;
      }
    }
    // The registry's own sizes and SHA-256s are enough, whatever the hub leaves out.
    hub.noChecksums = true;
    hub.noSizes = true;
    try {
      const files = registryEntry().files.map((f) => ({ ...f, bytes: hub.file(REPO, f.path).data.length, sha256: hub.file(REPO, f.path).sha256 }));
      await manager({ files }).download('tiny-fp32');
      assert.deepEqual(assertNoHalfWrittenModel(), ['tiny-fp32']);
    } finally {
      hub.noChecksums = false;
      hub.noSizes = false;
    }
  });

  test('a hub that stops answering fails with a line saying so (within the stall time, 30 s unless told), and downloading again resumes', async () => {
    const quick = () => new ModelManager({ modelsDir: dir, registry: [registryEntry()], endpoint: hub.endpoint, stallTimeoutMs: 400 });
    // No answer at all to a HEAD.
    hub.silent.add('tokenizer.json');
    let t = performance.now();
    try {
      await rejectsWith(quick().download('tiny-fp32'), 'network', /^the hub stopped answering for tokenizer\.json \(no data from 127\.0\.0\.1:\d+ for 0\.4 s\)/);
    } finally {
      hub.silent.delete('tokenizer.json');
    }
    assert.ok(performance.now() - t < 10_000, 'failed within seconds');
    // Bytes that stop in the middle of a file.
    hub.stallAfter.set(ONNX, 4_000_000);
    t = performance.now();
    await rejectsWith(quick().download('tiny-fp32'), 'network', /^the server stopped sending onnx\/model\.onnx after \d+ of \d+ bytes \(no data from .* for 0\.4 s\); retry to resume$/);
    assert.ok(performance.now() - t < 20_000, 'failed within seconds');
    assert.deepEqual(assertNoHalfWrittenModel(), []);
    const kept = statSync(join(dir, '.staging', 'tiny-fp32', `${ONNX}.partial`)).size;
    assert.ok(kept > 0, 'the bytes that came are kept');
    await quick().download('tiny-fp32');
    assert.equal(gets(ONNX).at(-1)!.headers.range, `bytes=${kept}-`, 'downloading again resumed');
    assert.ok(readFileSync(join(dir, 'tiny-fp32', ONNX)).equals(readFileSync(join(EMBEDDED_MODEL_DIR, ONNX))));
  });

  test('network down is a clear error', async () => {
    const m = new ModelManager({ modelsDir: dir, registry: [registryEntry()], endpoint: 'http://127.0.0.1:9' });
    await rejectsWith(m.download('tiny-fp32'), 'network', /network error for config\.json: ECONNREFUSED/);
    assert.deepEqual(assertNoHalfWrittenModel(), []);
  });

  test('disk full while writing is a clear error and keeps what was written', { skip: process.platform !== 'linux' && 'needs /dev/full' }, async () => {
    // /dev/full answers every write with ENOSPC: the partial file is a link to it.
    const onnxDir = join(dir, '.staging', 'tiny-fp32', 'onnx');
    mkdirSync(onnxDir, { recursive: true });
    symlinkSync('/dev/full', join(onnxDir, 'model.onnx.partial'));
    await rejectsWith(manager().download('tiny-fp32'), 'disk-full', /disk is full while writing .*model\.onnx\.partial; free some space and retry/);
    assert.deepEqual(assertNoHalfWrittenModel(), []);
  });

  test('HF_ENDPOINT chooses the hub', async () => {
    assert.equal(hubEndpoint({}), 'https://huggingface.co');
    assert.equal(hubEndpoint({ HF_ENDPOINT: 'https://hf-mirror.example/' }), 'https://hf-mirror.example');
    assert.equal(resolveUrl('https://huggingface.co', 'Xenova/gpt2', 'main', 'onnx/model.onnx'), 'https://huggingface.co/Xenova/gpt2/resolve/main/onnx/model.onnx');
    const saved = process.env.HF_ENDPOINT;
    process.env.HF_ENDPOINT = hub.endpoint + '/';
    try {
      const m = new ModelManager({ modelsDir: dir, registry: [registryEntry()] });
      assert.equal(m.endpoint, hub.endpoint);
      await m.download('tiny-fp32');
      assert.ok(existsSync(join(dir, 'tiny-fp32', ONNX)));
    } finally {
      if (saved === undefined) delete process.env.HF_ENDPOINT;
      else process.env.HF_ENDPOINT = saved;
    }
  });

  test('remove uninstalls, drops partial downloads, and refuses the embedded model', async () => {
    const m = manager();
    await m.download('tiny-fp32');
    await m.remove('tiny-fp32');
    assert.deepEqual(assertNoHalfWrittenModel(), []);
    assert.equal(m.list().find((e) => e.id === 'tiny-fp32')!.installed, false);
    await rejectsWith(m.remove('tiny-fp32'), 'unknown-model', /not installed/);
    await rejectsWith(m.remove('embedded'), 'in-use', /ships with the app/);
    hub.cutAfter.set(ONNX, 2_000_000);
    await rejectsWith(m.download('tiny-fp32'), 'network');
    assert.ok(m.list().find((e) => e.id === 'tiny-fp32')!.partialBytes! > 0);
    await m.remove('tiny-fp32');
    assert.equal(existsSync(join(dir, '.staging', 'tiny-fp32')), false);
    assert.equal(m.list().find((e) => e.id === 'tiny-fp32')!.partialBytes, undefined);
    const inUse = new ModelManager({ modelsDir: dir, registry: [registryEntry()], endpoint: hub.endpoint, isInUse: (id) => id === 'tiny-fp32' });
    await inUse.download('tiny-fp32');
    await rejectsWith(inUse.remove('tiny-fp32'), 'in-use', /switch to another model first/);
  });

  test('unknown ids and models not downloaded resolve to clear errors', async () => {
    const m = manager();
    assert.throws(() => m.resolve('tiny-fp32'), /tiny-fp32 is not downloaded yet \(likely models download tiny-fp32\)/);
    assert.throws(() => m.resolve('nope'), /no model "nope"/);
    assert.equal(m.resolve('embedded'), EMBEDDED_MODEL_DIR);
    await rejectsWith(m.download('nope'), 'unknown-model');
  });

  test('memory warnings compare the model with this machine', () => {
    const small = (total: number, free: number) => new ModelManager({ modelsDir: dir, registry: [registryEntry({ memoryBytes: 8e9 })], endpoint: hub.endpoint, memory: () => ({ total, free }) });
    assert.equal(small(64e9, 32e9).list().find((e) => e.id === 'tiny-fp32')!.memoryWarning, undefined);
    assert.equal(small(8e9, 4e9).list().find((e) => e.id === 'tiny-fp32')!.memoryWarning, 'needs about 8.0 GB of memory; this machine has 8.0 GB in all');
    assert.equal(small(16e9, 4e9).list().find((e) => e.id === 'tiny-fp32')!.memoryWarning, 'needs about 8.0 GB of memory; 4.0 GB is free now (close other programs first)');
  });
});
