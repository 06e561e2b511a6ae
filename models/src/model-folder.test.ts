import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { Engine } from './engine.ts';
import { addScoringHead, readGraphInterface } from './onnx-patch.ts';
import { EMBEDDED_MODEL_DIR } from './paths.ts';

function copyModel(): string {
  const dir = mkdtempSync(join(tmpdir(), 'likely-model-'));
  cpSync(EMBEDDED_MODEL_DIR, dir, { recursive: true });
  return dir;
}

test('a missing config, tokenizer or ONNX file is an error naming the file', async () => {
  for (const file of ['config.json', 'onnx/model.onnx']) {
    const dir = copyModel();
    rmSync(join(dir, file));
    await assert.rejects(Engine.load({ modelDir: dir, device: 'cpu' }), (e: Error) => e.message.includes(join(dir, file)));
  }
  const dir = copyModel();
  rmSync(join(dir, 'tokenizer.json'));
  rmSync(join(dir, 'vocab.json'));
  await assert.rejects(Engine.load({ modelDir: dir, device: 'cpu' }), /tokenizer\.json/);
});

test('a corrupt ONNX file or config is an error naming the file', async () => {
  const dir = copyModel();
  const onnx = join(dir, 'onnx', 'model.onnx');
  const bytes = readFileSync(onnx);
  writeFileSync(onnx, bytes.subarray(0, bytes.length >> 1)); // truncated download
  await assert.rejects(Engine.load({ modelDir: dir, device: 'cpu' }), (e: Error) => /corrupt/.test(e.message) && e.message.includes(onnx));
  writeFileSync(join(dir, 'config.json'), '{ not json');
  await assert.rejects(Engine.load({ modelDir: dir, device: 'cpu' }), /corrupt model file .*config\.json/);
});

test('the scoring head is appended once, keeps the original inputs and adds its own', () => {
  const model = readFileSync(join(EMBEDDED_MODEL_DIR, 'onnx', 'model.onnx'));
  const before = readGraphInterface(model);
  const patched = addScoringHead(model, 10);
  const after = readGraphInterface(patched);
  assert.deepEqual(after.inputs.slice(0, before.inputs.length), before.inputs);
  assert.deepEqual(after.inputs.at(-1)!.name, 'likely_targets');
  assert.deepEqual(after.outputs.map((o) => o.name).slice(-5), ['likely_logprob', 'likely_rank', 'likely_entropy', 'likely_top_logprobs', 'likely_top_ids']);
  assert.ok(patched.length - model.length < 4096, 'weights are not copied or re-encoded');
  assert.equal(addScoringHead(patched, 10), patched, 'patching twice is a no-op');
});

test('the engine reports the device it runs on and why not a GPU', async () => {
  const engine = await Engine.load({ device: 'cpu' });
  assert.equal(engine.info.device, 'cpu');
  assert.match(engine.info.fallbackReason ?? '', /CPU chosen/);
  assert.equal(engine.info.contextLength, 1024);
  await engine.dispose();
});
