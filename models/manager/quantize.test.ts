/**
 * models/training/quantize.py on the embedded model: the int8 folder validates, loads in the real
 * engine as int8, and its log-probs stay close to fp32's.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, test } from 'node:test';
import { loadEngine } from '../src/load-from-folder.ts';
import { EMBEDDED_MODEL_DIR } from '../src/paths.ts';
import { EMBEDDED_SHAPE } from '../testing/embedded.ts';
import { validateModelFolder } from './validate.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const SCRIPT = join(ROOT, 'models', 'training', 'quantize.py');
const PYTHON = '/usr/bin/python3';
const hasOnnx = spawnSync(PYTHON, ['-c', 'import onnx, numpy'], { stdio: 'ignore' }).status === 0;
const work = mkdtempSync(join(tmpdir(), 'likely-quantize-'));
after(() => rmSync(work, { recursive: true, force: true }));

const TEXT =
  'The committee met on Tuesday to discuss the budget. Several members argued that the proposal would raise taxes on small farms, while others said it was long overdue.';

describe('quantize.py', { skip: !hasOnnx && `${PYTHON} lacks the onnx module (apt-get install python3-onnx)` }, () => {
  test('int8 variant of the embedded model: valid, loads as int8, log-probs within 0.6 nats of fp32, 0.15 on average', async () => {
    const out = join(work, 'embedded-int8');
    const r = spawnSync(PYTHON, [SCRIPT, EMBEDDED_MODEL_DIR, out], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const { layers: L, width: C, vocabSize: V } = EMBEDDED_SHAPE;
    // Four MatMuls per layer and the head; the head's weight is the tied embedding, which stays.
    assert.match(r.stdout, new RegExp(`^quantized ${4 * L + 1} MatMuls \\(per-column int8; ${4 * L} fp32 weights dropped\\): .*model_quantized\\.onnx \\([\\d.]+ MB\\)\n$`));

    const valid = await validateModelFolder(out);
    assert.deepEqual(
      valid.onnx.map((o) => [o.path, o.precision]),
      [['onnx/model_quantized.onnx', 'int8']],
    );
    const bytes = readFileSync(join(out, 'onnx', 'model_quantized.onnx'));
    assert.ok(bytes.includes('MatMulInteger') && bytes.includes('DynamicQuantizeLinear'));
    // The layer weights shrink to a quarter; the head gets an int8 copy of the tied embedding,
    // which stays fp32 for its Gather.
    const fp32Bytes = statSync(join(EMBEDDED_MODEL_DIR, 'onnx', 'model.onnx')).size;
    const layerWeights = L * (C * 3 * C + C * C + C * 4 * C + 4 * C * C);
    const expected = fp32Bytes - layerWeights * 3 + V * C;
    assert.ok(Math.abs(bytes.length - expected) < 0.01 * expected, `${bytes.length} bytes, expected about ${expected}`);

    const fp32 = await loadEngine({ modelDir: EMBEDDED_MODEL_DIR, device: 'cpu' });
    const int8 = await loadEngine({ modelDir: out, device: 'cpu' });
    assert.equal(int8.info.precision, 'int8');
    const [a, b] = [await fp32.score(TEXT), await int8.score(TEXT)];
    await Promise.all([fp32.dispose(), int8.dispose()]);
    assert.equal(a.tokens.length, b.tokens.length);
    const diffs = a.tokens.map((t, i) => Math.abs(t.logprob - b.tokens[i]!.logprob));
    const max = Math.max(...diffs);
    const mean = diffs.reduce((s, d) => s + d, 0) / diffs.length;
    assert.ok(max > 0, 'int8 is not bit-identical to fp32 (the quantized graph ran)');
    // Activations are quantized per run (DynamicQuantizeLinear), to 8 bits over each tensor's range. The
    // embedded model's copying circuit (models/training/circuits.py) reads narrow residual channels with
    // 12x query/key gains, so that rounding moves its log-probs more than a plain model's: measured 0.32
    // max, 0.12 mean with four induction heads and export.py's int8-friendly rescaling (0.97, 0.19 with its
    // head balancing alone; two heads: 0.45, 0.11; Likely Mini before the circuit: 0.075, 0.020). A broken quantization is off by nats.
    assert.ok(max < 0.6 && mean < 0.15, `max ${max.toFixed(4)}, mean ${mean.toFixed(4)} nats`);
  });

  test('bad input is a one-line error', () => {
    const r = spawnSync(PYTHON, [SCRIPT, join(work, 'nowhere')], { encoding: 'utf8' });
    assert.notEqual(r.status, 0);
    assert.equal(r.stderr, `quantize: ${join(work, 'nowhere', 'onnx', 'model.onnx')} does not exist (quantize an fp32 model folder)\n`);
    const same = spawnSync(PYTHON, [SCRIPT, EMBEDDED_MODEL_DIR, EMBEDDED_MODEL_DIR], { encoding: 'utf8' });
    assert.equal(same.stderr, 'quantize: OUT_DIR must differ from SRC_DIR\n');
  });
});
