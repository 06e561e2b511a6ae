import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadEngine } from './load-from-folder.ts';
import { hasScoringHead, writeScoredModel } from './onnx-patch.ts';
import { readOnnxInterface } from './onnx-file.ts';
import { buildModelFolder } from '../synthetic/random-models.ts';
import { EMBEDDED_MODEL_DIR } from './paths.ts';
import { BAD_CONFIGS, configWith } from '../testing/bad-configs.ts';

function copyModel(): string {
  const dir = mkdtempSync(join(tmpdir(), 'likely-model-'));
  cpSync(EMBEDDED_MODEL_DIR, dir, { recursive: true });
  return dir;
}

test('a missing config, tokenizer or ONNX file is an error naming the file', async () => {
  for (const file of ['config.json', 'onnx/model.onnx']) {
    const dir = copyModel();
    rmSync(join(dir, file));
    await assert.rejects(loadEngine({ modelDir: dir, device: 'cpu' }), (e: Error) => e.message.includes(join(dir, file)));
  }
  const dir = copyModel();
  rmSync(join(dir, 'tokenizer.json'));
  rmSync(join(dir, 'vocab.json'));
  await assert.rejects(loadEngine({ modelDir: dir, device: 'cpu' }), /tokenizer\.json/);
});

test('a corrupt ONNX file or config is an error naming the file', async () => {
  const dir = copyModel();
  const onnx = join(dir, 'onnx', 'model.onnx');
  const bytes = readFileSync(onnx);
  writeFileSync(onnx, bytes.subarray(0, bytes.length >> 1)); // truncated download
  await assert.rejects(loadEngine({ modelDir: dir, device: 'cpu' }), (e: Error) => /corrupt/.test(e.message) && e.message.includes(onnx));
  writeFileSync(join(dir, 'config.json'), '{ not json');
  await assert.rejects(loadEngine({ modelDir: dir, device: 'cpu' }), /corrupt model file .*config\.json/);
});

test('the scoring head is appended by streaming the file: original inputs kept, its own added, weights untouched', async () => {
  const src = join(EMBEDDED_MODEL_DIR, 'onnx', 'model.onnx');
  const before = await readOnnxInterface(src);
  const dir = mkdtempSync(join(tmpdir(), 'likely-patch-'));
  const dest = join(dir, 'scored.onnx');
  writeScoredModel(src, before, dest, 10);
  const after = await readOnnxInterface(dest);
  assert.deepEqual(after.inputs.slice(0, before.inputs.length), before.inputs);
  assert.equal(after.inputs.at(-1)!.name, 'likely_targets');
  assert.deepEqual(after.outputs.map((o) => o.name).slice(-5), ['likely_logprob', 'likely_rank', 'likely_entropy', 'likely_top_logprobs', 'likely_top_ids']);
  assert.ok(after.size - before.size < 4096, 'weights are not copied or re-encoded');
  assert.ok(hasScoringHead(after) && !hasScoringHead(before));
  rmSync(dir, { recursive: true, force: true });
});

test('the scoring graph of a self-contained model goes to the cache folder, never into the model folder', async () => {
  const dir = copyModel();
  const cache = mkdtempSync(join(tmpdir(), 'likely-cache-'));
  process.env.LIKELY_CACHE_DIR = cache;
  try {
    const engines = await Promise.all([0, 1, 2].map(() => loadEngine({ modelDir: dir, device: 'cpu' })));
    assert.deepEqual(readdirSync(join(dir, 'onnx')), ['model.onnx'], 'nothing written beside the model');
    const written = readdirSync(cache, { recursive: true }).map(String).filter((f) => f.endsWith('.onnx'));
    assert.equal(written.length, 1, `one patched file for three engines: ${written.join(', ')}`);
    assert.ok(!readdirSync(cache, { recursive: true }).some((f) => String(f).endsWith('.tmp')), 'no temporary file left');
    const scores = await Promise.all(engines.map((e) => e.score('Three engines, one model.')));
    assert.deepEqual(scores[1]!.tokens, scores[0]!.tokens);
    await Promise.all(engines.map((e) => e.dispose()));
  } finally {
    delete process.env.LIKELY_CACHE_DIR;
    rmSync(cache, { recursive: true, force: true });
  }
});

test('a model with external data whose folder cannot take the scoring and attention graphs loads them from the cache folder (hard links to its weights)', async () => {
  const root = mkdtempSync(join(tmpdir(), 'likely-ext-'));
  const dir = buildModelFolder(join(root, 'model'), 'model.onnx', { interface: 'with-past', weights: 'fp32', externalData: true });
  // What a read-only folder does to the write, in a way root cannot bypass: the name is a folder.
  mkdirSync(join(dir, 'onnx', '.likely-scored-model.onnx', 'blocked'), { recursive: true });
  mkdirSync(join(dir, 'onnx', '.likely-attention-v1-model.onnx', 'blocked'), { recursive: true });
  const cache = join(root, 'cache');
  process.env.LIKELY_CACHE_DIR = cache;
  try {
    const engine = await loadEngine({ modelDir: dir, device: 'cpu' });
    const embedded = await loadEngine({ device: 'cpu' });
    const text = 'Weights beside the graph, wherever it is written.';
    const [a, b] = [await engine.score(text), await embedded.score(text)];
    for (let i = 0; i < a.tokens.length; i++) assert.ok(Math.abs(a.tokens[i]!.logprob - b.tokens[i]!.logprob) < 1e-4);
    assert.ok(readdirSync(cache, { recursive: true }).some((f) => String(f).endsWith('model.onnx_data')), 'weights hard-linked into the cache');
    for (const e of [engine, embedded]) {
      e.update(1, text);
      await e.idle();
    }
    const [x, y] = [await engine.attention({ version: 1, index: 5 }), await embedded.attention({ version: 1, index: 5 })];
    assert.equal(x.unavailable, undefined, x.unavailable);
    assert.deepEqual(x.layers.map((l) => l.summed.map((s) => s.index)), y.layers.map((l) => l.summed.map((s) => s.index)));
    assert.ok(readdirSync(cache, { recursive: true }).some((f) => String(f).endsWith('.likely-attention-v1-model.onnx')), 'the attention graph written beside the linked weights');
    await engine.dispose();
    await embedded.dispose();
  } finally {
    delete process.env.LIKELY_CACHE_DIR;
    rmSync(root, { recursive: true, force: true });
  }
});

test('the engine reports the device it runs on and why not a GPU', async () => {
  const engine = await loadEngine({ device: 'cpu' });
  assert.equal(engine.info.device, 'cpu');
  assert.match(engine.info.fallbackReason ?? '', /CPU chosen/);
  assert.equal(engine.info.contextLength, 1024);
  await engine.dispose();
});

test('config values outside what the graph runs are refused at load, one line naming the field', { timeout: 120_000 }, async () => {
  const dir = copyModel();
  try {
    for (const [change, message] of BAD_CONFIGS) {
      writeFileSync(join(dir, 'config.json'), configWith(change));
      await assert.rejects(loadEngine({ modelDir: dir, device: 'cpu' }), (e: Error) => message.test(e.message) && e.message.includes('config.json') && !e.message.includes('\n'), JSON.stringify(change));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('small model files over their size limit are refused before they are read, naming the file and the limit', async () => {
  const dir = copyModel();
  try {
    writeFileSync(join(dir, 'config.json'), configWith({ padding: 'x'.repeat(1.5 * 1024 * 1024) }));
    await assert.rejects(loadEngine({ modelDir: dir, device: 'cpu' }), (e: Error) => e.message === `${join(dir, "config.json")} is 1.5 MB; a config.json is at most 1.0 MB`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a run that fails inside onnxruntime prints none of onnxruntime's own log lines (colour escapes, node names)", { timeout: 60_000 }, () => {
  // A position past the table: the Gather error an n_positions of 1e308 used to reach.
  const script = `
    import { createSession } from './models/src/ort.ts';
    const s = await createSession('models/embedded/onnx/model.onnx', { device: 'cpu' });
    const feeds = { input_ids: { type: 'int64', data: BigInt64Array.of(1n), dims: [1, 1] }, attention_mask: { type: 'int64', data: BigInt64Array.of(1n), dims: [1, 1] }, position_ids: { type: 'int64', data: BigInt64Array.of(5000n), dims: [1, 1] } };
    for (let l = 0; l < 6; l++) for (const k of ['key', 'value']) feeds['past_key_values.' + l + '.' + k] = { type: 'float32', data: new Float32Array(0), dims: [1, 8, 0, 22] };
    await s.run(feeds, ['logits']).then(() => console.log('ran'), (e) => console.log('rejected: ' + e.message.split('\\n')[0]));`;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: join(EMBEDDED_MODEL_DIR, '..', '..'), encoding: 'utf8' });
  assert.match(r.stdout, /^rejected: .*Gather/, r.stderr);
  assert.equal(r.stderr, '', 'nothing on stderr');
  assert.ok(!(r.stdout + r.stderr).includes('\x1b'), 'no colour escapes');
});
