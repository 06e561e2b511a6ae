import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { EngineStatus, ScoreUpdate } from '../../common/api.ts';
import { EngineHost, forkSpawn, ModelSwitchError, type EngineProcessLike } from './engine-host.ts';
import { nextEvent } from '../testing/host-events.ts';
import { EMBEDDED_MODEL_DIR } from './paths.ts';
import { EMBEDDED_NAME } from '../testing/embedded.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const PYTHON = '/usr/bin/python3';
const hasOnnx = spawnSync(PYTHON, ['-c', 'import onnx, numpy'], { stdio: 'ignore' }).status === 0;


test('the engine process scores, and after a crash it restarts and re-scores the current document', async () => {
  const host = new EngineHost({ device: 'cpu' });
  try {
    await nextEvent<EngineStatus>(host, 'status', (s) => s.state === 'ready');
    const text = 'The engine runs in its own process.';
    const done = nextEvent<ScoreUpdate>(host, 'scores', (u) => u.version === 1 && u.done);
    await host.call('update', { version: 1, text });
    const first = await done;
    const top = await host.call('topK', { version: 1, index: 2, k: 10 });
    assert.equal(top.length, 10);
    assert.ok(top[0]!.logprob >= top[9]!.logprob);

    const restarting = nextEvent<EngineStatus>(host, 'status', (s) => s.state === 'restarting');
    const rescored = nextEvent<ScoreUpdate>(host, 'scores', (u) => u.version === 1 && u.done);
    host.kill(); // SIGKILL, as a native crash or the OOM killer would
    const status = await restarting;
    assert.match(status.message ?? '', /restarting/);
    // A call during the restart fails fast with a clear error instead of hanging.
    await assert.rejects(host.call('topK', { version: 1, index: 0, k: 5 }), /restarting|stopped/);
    const again = await rescored;
    assert.equal(host.restarts, 1);
    assert.equal(again.tokenCount, first.tokenCount);
    assert.deepEqual(again.tokens.map((t) => t.logprob), first.tokens.map((t) => t.logprob));
  } finally {
    host.close();
  }
});

test("the engine process serves attention, to a page session in the page's own versions too", async () => {
  const host = new EngineHost({ device: 'cpu' });
  try {
    await nextEvent<EngineStatus>(host, 'status', (s) => s.state === 'ready');
    const page = host.session();
    const text = 'Seven purple kites drifted over the quiet harbor. Seven purple kites drifted over the quiet harbor.';
    const done = nextEvent<ScoreUpdate>(page, 'scores', (u) => u.version === 7 && u.done);
    await page.call('update', { version: 7, text });
    const scored = await done;
    const index = scored.tokens.map((t) => t.text).lastIndexOf(' quiet');
    const r = await page.call('attention', { version: 7, index, k: 2 });
    assert.equal(r.token.text, ' quiet');
    assert.equal(r.copiedFrom?.start, text.indexOf(' quiet'), 'copied from the first copy');
    assert.ok(r.layers.length > 0 && r.layers.every((l) => l.heads.every((h) => h.top.length === 2)));
    await assert.rejects(page.call('attention', { version: 7, index: -1 }), /index must be a non-negative integer/);
  } finally {
    host.close();
  }
});

test('a missing model is a clear error status, not a restart loop', async () => {
  const host = new EngineHost({ modelDir: '/nonexistent/model', device: 'cpu' });
  try {
    const s = await nextEvent<EngineStatus>(host, 'status', (s) => s.state === 'error');
    assert.match(s.message ?? '', /does not exist/);
    await assert.rejects(host.call('modelInfo', {}), /no model/);
    assert.equal(host.restarts, 0);
  } finally {
    host.close();
  }
});

test('a flood of updates reaches the process one at a time, newest wins: nothing piles up in the pipe', { timeout: 120_000 }, async () => {
  // The flood that grew the web server by ~17 MB per 1,000 updates: every update was written to
  // the process's pipe while its event loop was blocked in a model run, and queued natively.
  const written: number[] = [];
  const spawn = forkSpawn();
  const host = new EngineHost({
    device: 'cpu',
    spawn: (entry, args) => {
      const proc = spawn(entry, args);
      return { ...proc, on: proc.on, kill: proc.kill, postMessage: (msg: unknown) => {
        const m = msg as { method?: string; params?: { version: number } };
        if (m.method === 'update') written.push(m.params!.version);
        proc.postMessage(msg);
      } } as EngineProcessLike;
    },
  });
  try {
    await nextEvent<EngineStatus>(host, 'status', (s) => s.state === 'ready');
    const base = 'The quick brown fox jumps over the lazy dog. '.repeat(60);
    const done = nextEvent<ScoreUpdate>(host, 'scores', (u) => u.version === 300 && u.done);
    const results = [];
    for (let v = 1; v <= 300; v++) results.push(host.call('update', { version: v, text: base + 'x'.repeat(v % 40) }));
    await done;
    await Promise.all(results); // superseded updates resolve too
    assert.equal(written[0], 1);
    assert.equal(written.at(-1), 300, 'the newest always goes');
    assert.ok(written.length < 30, `only ${written.length} of 300 updates were written to the process`);
  } finally {
    host.close();
  }
});

test('invalid parameters from a client are rejected', async () => {
  const host = new EngineHost({ device: 'cpu' });
  try {
    await assert.rejects(host.call('update', { version: 1, text: 42 as unknown as string }), /invalid parameters/);
  } finally {
    host.close();
  }
});

// ------------------------------------------------------------------------------------------------
// Switching the model or the device at runtime

function tempModelCopy(name: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'likely-switch-'));
  cpSync(EMBEDDED_MODEL_DIR, dir, { recursive: true, filter: (src) => !basename(src).startsWith('.likely-') });
  const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as { likely?: { name?: string } };
  config.likely = { ...config.likely, name };
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
  return dir;
}

/** Everything the host emits from now on, and a way to wait for the next matching event. */
function record(host: EngineHost) {
  const statuses: EngineStatus[] = [];
  const scores: ScoreUpdate[] = [];
  host.on('status', (s) => statuses.push(s));
  host.on('scores', (u) => scores.push(u));
  return { statuses, scores };
}

const TEXT = 'The committee met on Tuesday to discuss the budget, and several members argued about taxes.';

test('switchModel loads another folder, reports loading → ready with its info, and re-scores the open document', async () => {
  const copy = tempModelCopy('Test model (copy for the switch test)');
  const host = new EngineHost({ device: 'cpu' });
  try {
    const ready = await nextEvent<EngineStatus>(host, 'status', (s) => s.state === 'ready');
    assert.equal(ready.model?.name, EMBEDDED_NAME);
    const first = nextEvent<ScoreUpdate>(host, 'scores', (u) => u.version === 7 && u.done);
    await host.call('update', { version: 7, text: TEXT });
    const before = await first;

    const seen = record(host);
    const rescored = nextEvent<ScoreUpdate>(host, 'scores', (u) => u.version === 7 && u.done);
    const info = await host.switchModel({ modelDir: copy });
    assert.equal(info.name, 'Test model (copy for the switch test)');
    assert.equal(info.precision, 'fp32');
    assert.equal(info.device, 'cpu');
    assert.equal(info.fallbackReason, 'CPU chosen in settings');
    assert.deepEqual(host.modelOptions, { modelDir: copy, device: 'cpu', precision: undefined });
    // The re-sent document may already be scoring by now: look at the statuses up to the first ready.
    const states = seen.statuses.map((s) => s.state);
    assert.deepEqual(
      states.slice(0, states.indexOf('ready') + 1),
      ['loading', 'loading', 'ready'],
      'the host says it is loading, then the new process does, then it is ready',
    );
    assert.match(seen.statuses[0]!.message ?? '', new RegExp(`loading the model in ${copy.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
    assert.equal(seen.statuses[states.indexOf('ready')]!.model?.name, info.name);
    assert.equal(host.status.model?.name, info.name);
    // The document the writer had open is scored again, from its first token, by the new process.
    const after = await rescored;
    assert.equal(seen.scores[0]!.from, 0);
    assert.equal(after.tokenCount, before.tokenCount);
    assert.deepEqual(after.tokens.map((t) => t.logprob), before.tokens.map((t) => t.logprob), 'same weights, same numbers');
    assert.equal((await host.call('modelInfo', {})).name, info.name);
    assert.equal(host.restarts, 0, 'a switch is not counted as a crash restart');
  } finally {
    host.close();
    rmSync(copy, { recursive: true, force: true });
  }
});

test('switchModel to an int8 folder re-scores with int8 numbers; device CPU and back to auto say why the GPU is not used', { skip: !hasOnnx && `${PYTHON} lacks the onnx module` }, async () => {
  const work = mkdtempSync(join(tmpdir(), 'likely-switch-int8-'));
  const int8 = join(work, 'int8');
  const r = spawnSync(PYTHON, [join(ROOT, 'models', 'training', 'quantize.py'), EMBEDDED_MODEL_DIR, int8], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const host = new EngineHost({ device: 'auto' });
  try {
    await nextEvent<EngineStatus>(host, 'status', (s) => s.state === 'ready');
    const first = nextEvent<ScoreUpdate>(host, 'scores', (u) => u.version === 1 && u.done);
    await host.call('update', { version: 1, text: TEXT });
    const fp32 = await first;

    const rescored = nextEvent<ScoreUpdate>(host, 'scores', (u) => u.version === 1 && u.done);
    const info = await host.switchModel({ modelDir: int8 });
    assert.equal(info.precision, 'int8');
    const q = await rescored;
    assert.equal(q.tokenCount, fp32.tokenCount);
    const diffs = q.tokens.map((t, i) => Math.abs(t.logprob - fp32.tokens[i]!.logprob));
    // 8-bit activations through the embedded model's copying circuit: 0.44 measured (see quantize.test.ts).
    assert.ok(Math.max(...diffs) > 0 && Math.max(...diffs) < 0.6, `int8 numbers, close to fp32 (max diff ${Math.max(...diffs)})`);

    // Device only: the folder and its precision stay.
    const cpu = await host.switchModel({ device: 'cpu' });
    assert.equal(cpu.precision, 'int8');
    assert.equal(cpu.device, 'cpu');
    assert.equal(cpu.fallbackReason, 'CPU chosen in settings');
    assert.deepEqual(host.modelOptions, { modelDir: int8, device: 'cpu', precision: undefined });
    const auto = await host.switchModel({ device: 'auto' });
    if (auto.device === 'cpu') assert.match(auto.fallbackReason ?? '', /provider|GPU/, 'auto on a machine without a usable GPU says why');
    else assert.equal(auto.fallbackReason, undefined);
  } finally {
    host.close();
    rmSync(work, { recursive: true, force: true });
  }
});

test('a broken or missing folder reports a clear error, then the previous model comes back and keeps scoring', async () => {
  const broken = tempModelCopy('Broken');
  writeFileSync(join(broken, 'onnx', 'model.onnx'), Buffer.from('this is not an onnx file'));
  const host = new EngineHost({ device: 'cpu' });
  try {
    await nextEvent<EngineStatus>(host, 'status', (s) => s.state === 'ready');
    const first = nextEvent<ScoreUpdate>(host, 'scores', (u) => u.version === 3 && u.done);
    await host.call('update', { version: 3, text: TEXT });
    const before = await first;

    for (const dir of [broken, join(broken, 'no-such-folder')]) {
      const seen = record(host);
      const rescored = nextEvent<ScoreUpdate>(host, 'scores', (u) => u.version === 3 && u.done);
      const err = await host.switchModel({ modelDir: dir }).then(
        () => assert.fail('the switch should fail'),
        (e: unknown) => e as ModelSwitchError,
      );
      assert.ok(err instanceof ModelSwitchError);
      assert.match(err.message, dir === broken ? /could not load the model in .*: corrupt model file/ : /could not load the model in .*: model folder .* does not exist/);
      assert.equal(err.restored?.name, EMBEDDED_NAME, 'the previous model is back');
      // Up to the restored model's ready (the re-sent document may already be scoring after it).
      const states = seen.statuses.map((s) => s.state);
      const readyAt = states.indexOf('ready', states.indexOf('error'));
      assert.deepEqual(states.slice(states.indexOf('error'), readyAt + 1), ['error', 'loading', 'loading', 'ready']);
      const error = seen.statuses.find((s) => s.state === 'error')!;
      assert.match(error.message ?? '', dir === broken ? /corrupt model file/ : /does not exist/);
      assert.match(seen.statuses[readyAt]!.message ?? '', /back to the embedded model/, 'the ready status says why the old model is back');
      assert.deepEqual(host.modelOptions, { modelDir: undefined, device: 'cpu', precision: undefined });
      // The writer's document is scored again by the restored model, and calls work.
      const after = await rescored;
      assert.deepEqual(after.tokens.map((t) => t.logprob), before.tokens.map((t) => t.logprob));
      assert.equal((await host.call('topK', { version: 3, index: 1, k: 3 })).length, 3);
    }
    assert.equal(host.restarts, 0);
  } finally {
    host.close();
    rmSync(broken, { recursive: true, force: true });
  }
});

test('asking for the GPU where none can run falls back to the previous device with the reason', async () => {
  const host = new EngineHost({ device: 'cpu' });
  try {
    await nextEvent<EngineStatus>(host, 'status', (s) => s.state === 'ready');
    const outcome = await host.switchModel({ device: 'gpu' }).then(
      (info) => ({ info }),
      (e: ModelSwitchError) => ({ error: e }),
    );
    if ('info' in outcome) {
      // A machine with a working GPU provider (CUDA / DirectML / CoreML).
      assert.notEqual(outcome.info.device, 'cpu');
      assert.equal(outcome.info.fallbackReason, undefined);
    } else {
      assert.match(outcome.error.message, /GPU requested but/);
      assert.equal(outcome.error.restored?.device, 'cpu');
      assert.equal(host.modelOptions.device, 'cpu');
      assert.equal(host.status.state, 'ready');
    }
  } finally {
    host.close();
  }
});

test('switches run one after another; the last one asked for is what runs', async () => {
  const a = tempModelCopy('Model A');
  const b = tempModelCopy('Model B');
  const host = new EngineHost({ device: 'cpu' });
  try {
    const [ia, ib] = await Promise.all([host.switchModel({ modelDir: a }), host.switchModel({ modelDir: b })]);
    assert.equal(ia.name, 'Model A');
    assert.equal(ib.name, 'Model B');
    assert.equal((await host.call('modelInfo', {})).name, 'Model B');
    assert.equal(host.status.model?.name, 'Model B');
  } finally {
    host.close();
    rmSync(a, { recursive: true, force: true });
    rmSync(b, { recursive: true, force: true });
  }
});

test('a switch during the crash-restart backoff replaces the pending restart (one process, the new model)', async () => {
  const copy = tempModelCopy('Model after a crash');
  const host = new EngineHost({ device: 'cpu' });
  try {
    await nextEvent<EngineStatus>(host, 'status', (s) => s.state === 'ready');
    const restarting = nextEvent<EngineStatus>(host, 'status', (s) => s.state === 'restarting');
    host.kill();
    await restarting;
    const info = await host.switchModel({ modelDir: copy });
    assert.equal(info.name, 'Model after a crash');
    await new Promise((r) => setTimeout(r, 400)); // past the 100 ms backoff the crash had scheduled
    assert.equal(host.restarts, 0, 'the scheduled restart did not start a second process');
    assert.equal((await host.call('modelInfo', {})).name, 'Model after a crash');
    assert.equal(host.status.state, 'ready');
  } finally {
    host.close();
    rmSync(copy, { recursive: true, force: true });
  }
});
