// The models service (both transports use it) against a local hub serving a renamed copy of the
// embedded model and a real engine process: list with sizes, memory and warnings; a download with
// progress, paused and resumed with a Range request; switching the engine to it (the document is
// re-scored); device changes; a GPU that is not there; import, removal, the saved choice. And the
// validation every call from a page goes through.
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { after, before, test } from 'node:test';
import type { EngineStatus, ScoreUpdate } from '../../common/api.ts';
import { validateModelsCall, type AppModelsEvents, type DownloadProgress, type ModelsState } from '../../common/models-api.ts';
import { LocalHub } from '../testing/local-hub.ts';
import type { RegistryModel } from '../manager/registry.ts';
import { EngineHost } from '../src/engine-host.ts';
import { nextEvent } from '../testing/host-events.ts';
import { EMBEDDED_MODEL_DIR } from '../src/paths.ts';
import { initialChoice, ModelsService, type ModelsChoice } from './models-service.ts';

const work = mkdtempSync(join(tmpdir(), 'likely-models-service-'));
const REPO = 'likely-test/tiny-copy';
const NAME = 'Test model (from the test hub)';
let hub: LocalHub;
let registry: RegistryModel[];

function modelCopy(dir: string, name: string): string {
  cpSync(EMBEDDED_MODEL_DIR, dir, { recursive: true, filter: (src) => !basename(src).startsWith('.likely-') });
  const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as { likely?: Record<string, unknown> };
  config.likely = { ...config.likely, name };
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
  return dir;
}

before(async () => {
  hub = await new LocalHub().start();
  hub.addRepo(REPO, modelCopy(join(work, 'hub-copy'), NAME));
  const files = ['config.json', 'tokenizer.json', 'tokenizer_config.json', 'onnx/model.onnx'];
  registry = [
    {
      id: 'tiny-test-fp32',
      name: 'Tiny test model (fp32)',
      size: 'small',
      precision: 'fp32',
      repo: REPO,
      revision: 'main',
      memoryBytes: 400_000_000,
      files: files.map((path) => ({ path, bytes: null, approxBytes: hub.file(REPO, path).data.length, sha256: null })),
    },
    {
      id: 'huge-test-fp32',
      name: 'A model too large for this machine',
      size: 'xl',
      precision: 'fp32',
      repo: REPO,
      revision: 'main',
      memoryBytes: 64e9,
      files: files.map((path) => ({ path, bytes: null, approxBytes: 1e9, sha256: null })),
    },
  ];
});

after(async () => {
  await hub?.close();
  rmSync(work, { recursive: true, force: true });
});

function harness(name: string, opts: { device?: 'auto' | 'cpu'; modelId?: string | null } = {}) {
  const modelsDir = join(work, name);
  const events: { event: keyof AppModelsEvents; data: unknown }[] = [];
  const persisted: ModelsChoice[] = [];
  let engine: EngineHost | null = null;
  const service = new ModelsService({
    manager: { modelsDir, registry, endpoint: hub.endpoint, memory: () => ({ total: 16e9, free: 8e9 }) },
    engines: () => (engine ? [engine] : []),
    initial: { modelId: opts.modelId ?? null, device: opts.device ?? 'cpu' },
    emit: (event, data) => events.push({ event, data }),
    persist: (c) => void persisted.push(c),
  });
  engine = new EngineHost(service.engineOptions());
  return { service, engine, events, persisted, modelsDir };
}


test('validateModelsCall accepts well-formed calls and names what is wrong with the others', () => {
  assert.deepEqual(validateModelsCall('modelsState', undefined), { method: 'modelsState', params: {} });
  assert.deepEqual(validateModelsCall('downloadModel', { id: 'gpt2-small-fp32' }).params, { id: 'gpt2-small-fp32' });
  assert.deepEqual(validateModelsCall('importModel', { dir: '/home/me/gpt2', copy: true }).params, { dir: '/home/me/gpt2', copy: true });
  assert.deepEqual(validateModelsCall('importModel', { dir: 'C:\\Users\\me\\gpt2' }).params, { dir: 'C:\\Users\\me\\gpt2' });
  assert.deepEqual(validateModelsCall('importModel', {}).params, {});
  assert.deepEqual(validateModelsCall('setDevice', { device: 'gpu' }).params, { device: 'gpu' });
  const bad: [unknown, unknown, RegExp][] = [
    ['dispose', {}, /unknown models method "dispose"/],
    [42, {}, /unknown models method 42/],
    ['__proto__', {}, /unknown models method/],
    ['toString', {}, /unknown models method/],
    ['downloadModel', {}, /id must be a model id/],
    ['downloadModel', { id: '../../etc' }, /id must be a model id/],
    ['downloadModel', { id: 'A'.repeat(5) }, /id must be a model id/],
    ['downloadModel', { id: 'x'.repeat(101) }, /id must be a model id/],
    ['selectModel', null, /expected an object/],
    ['selectModel', ['embedded'], /expected an object/],
    ['removeModel', { id: 7 }, /id must be a model id/],
    ['importModel', { dir: 'relative/folder' }, /absolute folder path/],
    ['importModel', { dir: '/ok\0/x' }, /absolute folder path/],
    ['importModel', { dir: '/ok', id: 'Bad Id' }, /id must be lower-case/],
    ['importModel', { dir: '/ok', copy: 'yes' }, /copy must be true or false/],
    ['setDevice', { device: 'tpu' }, /device must be auto, gpu or cpu/],
    ['setDevice', {}, /device must be auto, gpu or cpu/],
  ];
  for (const [method, params, message] of bad) assert.throws(() => validateModelsCall(method, params), message, `${String(method)} ${JSON.stringify(params)}`);
});

test('list, download with progress (paused and resumed), switch the engine to it and re-score, device, removal', { timeout: 180_000 }, async () => {
  const { service, engine, events, persisted, modelsDir } = harness('main');
  try {
    const first = service.state();
    assert.equal(first.selected, 'embedded');
    assert.equal(first.device, 'cpu');
    assert.equal(first.modelsDir, modelsDir);
    assert.equal(first.nativeFolderPicker, false);
    assert.deepEqual(
      first.models.map((m) => [m.id, m.source, m.installed]),
      [
        ['embedded', 'embedded', true],
        ['tiny-test-fp32', 'hub', false],
        ['huge-test-fp32', 'hub', false],
      ],
    );
    const tiny = first.models[1]!;
    const onnxBytes = hub.file(REPO, 'onnx/model.onnx').data.length;
    assert.ok(tiny.downloadBytes! > onnxBytes, 'the download size counts every file');
    assert.equal(tiny.memoryBytes, 400_000_000);
    assert.equal(tiny.memoryWarning, undefined);
    assert.match(first.models[2]!.memoryWarning ?? '', /needs about 64\.0 GB of memory; this machine has 16\.0 GB in all/);

    await nextEvent<EngineStatus>(engine, 'status', (s) => s.state === 'ready');
    const text = 'A short draft that the engine scores before and after the switch.';
    const scored = nextEvent<ScoreUpdate>(engine, 'scores', (u) => u.version === 1 && u.done);
    await engine.call('update', { version: 1, text });
    const before = await scored;

    // Download slowly, pause in the middle, then resume.
    hub.chunkDelayMs = 30;
    const progress: DownloadProgress[] = [];
    const offProgress = () => events.filter((e) => e.event === 'modelProgress').map((e) => e.data as DownloadProgress);
    const running = service.download('tiny-test-fp32');
    assert.equal(service.download('tiny-test-fp32'), running, 'a second request joins the running download');
    // Pause inside the weights (the CDN file, sent slowly), past the small files the hub sends at once.
    const inWeights = () => offProgress().some((p) => p.phase === 'downloading' && p.file === 'onnx/model.onnx' && p.bytes > 4_000_000);
    for (let i = 0; i < 400 && !inWeights(); i++) await new Promise((r) => setTimeout(r, 25));
    assert.ok(inWeights(), 'the weights are downloading');
    assert.equal(service.state().downloads[0]?.state, 'running');
    assert.equal(service.pause('tiny-test-fp32'), true);
    await assert.rejects(running, /paused/);
    const paused = service.state();
    assert.equal(paused.downloads[0]!.state, 'paused');
    const partial = paused.models.find((m) => m.id === 'tiny-test-fp32')!.partialBytes ?? 0;
    assert.ok(partial > 4_000_000, `partial bytes kept: ${partial}`);
    assert.equal(service.pause('tiny-test-fp32'), false, 'nothing to pause now');

    hub.chunkDelayMs = 0;
    const seen = events.length;
    const done = await service.download('tiny-test-fp32');
    assert.equal(done.path, join(modelsDir, 'tiny-test-fp32'));
    progress.push(...events.slice(seen).filter((e) => e.event === 'modelProgress').map((e) => e.data as DownloadProgress));
    const resumed = progress.find((p) => p.phase === 'downloading')!;
    assert.ok(resumed.resumedBytes >= partial - 300_000, `resumed from the partial bytes (${resumed.resumedBytes} of ${partial})`);
    assert.ok(hub.log.some((r) => r.server === 'cdn' && /^bytes=[1-9]\d*-$/.test(String(r.headers.range))), 'the resume used a Range request');
    const last = progress.at(-1)!;
    assert.equal(last.phase, 'done');
    assert.equal(last.bytes, last.totalBytes);
    assert.ok(progress.every((p, i) => i === 0 || p.bytes >= progress[i - 1]!.bytes), 'bytes only grow');
    const installed = service.state();
    assert.equal(installed.downloads[0]!.state, 'done');
    assert.equal(installed.models.find((m) => m.id === 'tiny-test-fp32')!.installed, true);
    assert.ok(events.some((e) => e.event === 'modelsState' && (e.data as ModelsState).downloads[0]?.state === 'done'), 'pages hear that it is done');

    // Use it: the engine switches and the open document is scored again by the new model.
    const rescored = nextEvent<ScoreUpdate>(engine, 'scores', (u) => u.version === 1 && u.done);
    const selection = await service.select('tiny-test-fp32');
    assert.equal(selection.selected, 'tiny-test-fp32');
    assert.deepEqual(selection.model, { name: NAME, precision: 'fp32', device: 'cpu', fallbackReason: 'CPU chosen in settings' });
    const after = await rescored;
    assert.deepEqual(after.tokens.map((t) => t.logprob), before.tokens.map((t) => t.logprob), 'same weights, same numbers');
    assert.equal(engine.status.model?.name, NAME);
    assert.deepEqual(persisted.at(-1), { modelId: 'tiny-test-fp32', modelDir: join(modelsDir, 'tiny-test-fp32'), device: 'cpu' });
    assert.equal(service.state().selected, 'tiny-test-fp32');

    // The model in use cannot be removed; another can.
    await assert.rejects(service.remove('tiny-test-fp32'), /is the model in use; switch to another model first/);

    // The device: auto says why no GPU is used here (or uses one).
    const auto = await service.setDevice('auto');
    assert.equal(auto.device, 'auto');
    assert.equal(auto.selected, 'tiny-test-fp32');
    if (auto.model!.device === 'cpu') assert.match(auto.model!.fallbackReason ?? '', /provider|GPU/);
    assert.equal(persisted.at(-1)!.device, 'auto');

    await service.select('embedded');
    await service.remove('tiny-test-fp32');
    assert.equal(service.state().models.find((m) => m.id === 'tiny-test-fp32')!.installed, false);
    assert.equal(service.state().downloads.length, 0);
  } finally {
    engine.close();
  }
});

test('a device that cannot run leaves the previous one, with the reason in the state', async () => {
  const { service, engine, persisted } = harness('gpu');
  try {
    const outcome = await service.setDevice('gpu').then(
      (s) => ({ s }),
      (e: Error) => ({ e }),
    );
    if ('s' in outcome) {
      assert.notEqual(outcome.s.model?.device, 'cpu', 'a machine with a GPU runs it there');
      return;
    }
    assert.match(outcome.e.message, /GPU requested but/);
    const state = service.state();
    assert.equal(state.device, 'cpu', 'the setting stays what ran');
    assert.match(state.switchError ?? '', /GPU requested but/);
    assert.equal(state.switching, undefined);
    assert.deepEqual(persisted, [], 'nothing saved');
    assert.equal(engine.status.state, 'ready');
    assert.equal(engine.status.model?.device, 'cpu');
  } finally {
    engine.close();
  }
});

test('import: a typed path, a native picker (or its cancel), refusal of a folder that is no model', async () => {
  const { service, engine, modelsDir } = harness('import');
  engine.close();
  const folder = modelCopy(join(work, 'my-export'), 'My export');
  await assert.rejects(service.call('importModel', {}), /type the path of the model folder/);
  assert.equal(await service.call('importModel', {}, { pickFolder: async () => null }), null);
  const entry = await service.call('importModel', {}, { pickFolder: async () => folder });
  assert.equal(entry?.id, 'local-my-export');
  assert.equal(entry?.name, 'My export');
  assert.equal(entry?.path, folder);
  await assert.rejects(service.call('importModel', { dir: folder }), /already exists/);
  const copied = await service.call('importModel', { dir: folder, id: 'my-copy', copy: true });
  assert.equal(copied?.path, join(modelsDir, 'my-copy'));
  await assert.rejects(service.call('importModel', { dir: join(work, 'hub-copy', 'onnx') }), /not a usable GPT-2 model|config\.json/);
});

test('the saved choice: a model that still exists is used; a removed one falls back to the embedded model with the reason', () => {
  const { service, engine } = harness('saved');
  engine.close();
  const manager = service.manager;
  assert.deepEqual(initialChoice(manager, { modelId: 'embedded', device: 'cpu' }), { modelId: 'embedded', modelDir: EMBEDDED_MODEL_DIR, device: 'cpu' });
  const gone = initialChoice(manager, { modelId: 'tiny-test-fp32', device: 'auto' });
  assert.equal(gone.modelId, 'embedded');
  assert.match(gone.problem ?? '', /tiny-test-fp32 is not downloaded yet.*; using the embedded model/);
  assert.deepEqual(initialChoice(manager, { modelId: null, modelDir: '/some/folder', device: 'gpu' }), { modelId: null, modelDir: '/some/folder', device: 'gpu' });
  assert.deepEqual(initialChoice(manager, { modelId: null, modelDir: EMBEDDED_MODEL_DIR, device: 'cpu' }), { modelId: 'embedded', modelDir: EMBEDDED_MODEL_DIR, device: 'cpu' });
});

test('the Models panel state names the hub downloads come from, and lists a broken likely-model.json with why beside every other model', async () => {
  const { service, engine, modelsDir } = harness('broken-manifest');
  engine.close();
  assert.equal((await service.call('modelsState', {})).hubEndpoint, hub.endpoint, 'the endpoint the downloads use (HF_ENDPOINT or the option)');
  mkdirSync(join(modelsDir, 'half-written'), { recursive: true });
  writeFileSync(join(modelsDir, 'half-written', 'likely-model.json'), JSON.stringify({ id: 'half-written', source: 'imported' }));
  const folder = modelCopy(join(work, 'fine-export'), 'Fine export');
  await service.call('importModel', { dir: folder, id: 'fine' });
  const state = await service.call('modelsState', {});
  assert.deepEqual(state.models.map((m) => m.id), ['embedded', 'tiny-test-fp32', 'huge-test-fp32', 'fine', 'half-written']);
  const broken = state.models.find((m) => m.id === 'half-written')!;
  assert.equal(broken.installed, false);
  assert.match(broken.problem ?? '', /^likely-model\.json: "name" must be a string \(missing\)/);
  assert.equal(state.models.find((m) => m.id === 'fine')!.problem, undefined);
  await assert.rejects(service.call('selectModel', { id: 'half-written' }), /half-written cannot be used: likely-model\.json/);
});
