/**
 * The large-model path on CPU: the GPT-2-XL-shaped random-weight model (6.2 GB of external data,
 * `npm run models:random -- xl`) validates without loading its weights, imports, and scores.
 * Skips, saying why, when that model has not been built or the machine lacks the memory.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { freemem, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { loadEngine } from '../src/load-from-folder.ts';
import { RANDOM_MODELS_DIR } from '../src/paths.ts';
import { ModelManager } from './manager.ts';
import { validateModelFolder } from './validate.ts';

const XL = join(RANDOM_MODELS_DIR, 'gpt2-xl-fp32');
const built = existsSync(join(XL, 'onnx', 'model.onnx')) && existsSync(join(XL, 'onnx', 'model.onnx_data'));
const NEEDED = 9e9;
const skip = !built ? `${XL} is not built (npm run models:random -- xl: 6.2 GB of disk, a few minutes)` : freemem() < NEEDED ? `needs ${NEEDED / 1e9} GB of free memory, ${(freemem() / 1e9).toFixed(1)} GB free` : false;
const modelsDir = mkdtempSync(join(tmpdir(), 'likely-xl-'));
after(() => rmSync(modelsDir, { recursive: true, force: true }));

test('GPT-2-XL-shaped model with external data: validates, imports and scores on CPU', { skip, timeout: 15 * 60_000 }, async () => {
  const rss = process.memoryUsage().rss;
  const valid = await validateModelFolder(XL);
  assert.ok(process.memoryUsage().rss - rss < 64e6, 'validation does not read the weights');
  assert.deepEqual([valid.config.layers, valid.config.heads, valid.config.width], [48, 25, 1600]);
  assert.deepEqual(
    valid.onnx.map((o) => [o.path, o.externalData]),
    [['onnx/model.onnx', ['model.onnx_data']]],
  );
  assert.ok(valid.onnx[0]!.bytes > 6.2e9, `${valid.onnx[0]!.bytes} bytes`);

  const manager = new ModelManager({ modelsDir, registry: [] });
  const entry = await manager.import(XL, { id: 'xl-random' });
  assert.ok(entry.memoryBytes > 8e9);

  const engine = await loadEngine({ modelDir: manager.resolve('xl-random'), device: 'cpu' });
  try {
    assert.deepEqual([engine.info.layers, engine.info.width, engine.info.device], [48, 1600, 'cpu']);
    const { tokens, perplexity } = await engine.score('The quick brown fox jumps over the lazy dog.');
    assert.equal(tokens.length, 10);
    assert.ok(tokens.every((t) => Number.isFinite(t.logprob) && t.logprob < 0 && t.rank >= 1));
    // Random weights spread probability almost evenly over the 50,257 tokens.
    assert.ok(perplexity > 1000, `perplexity ${perplexity}`);
  } finally {
    await engine.dispose();
  }
});
