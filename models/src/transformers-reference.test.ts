// The embedded model folder is a transformers.js model folder: @huggingface/transformers loads it as it
// would a hub download and its logits give the same log-probs as `likely score` (the engine's own
// scoring head inside ONNX Runtime). A folder the reference cannot read, or a head that drifts from
// the model's logits, fails here.
import assert from 'node:assert/strict';
import { dirname } from 'node:path';
import { test } from 'node:test';
import { loadEngine } from './load-from-folder.ts';
import { EMBEDDED_MODEL_DIR } from './paths.ts';

const TEXT = 'The jury said it found the city\'s election laws outmoded.\n\ndef mean(xs):\n    return sum(xs) / len(xs)\n';
const EOT = 50256n;

test('transformers.js loads models/embedded and its log-probs equal the engine\'s', { timeout: 180_000 }, async () => {
  const { AutoModelForCausalLM, Tensor, env } = await import('@huggingface/transformers');
  env.allowRemoteModels = false;
  env.localModelPath = dirname(EMBEDDED_MODEL_DIR);
  const engine = await loadEngine({ modelDir: EMBEDDED_MODEL_DIR });
  try {
    const { tokens } = await engine.score(TEXT);
    const ids = tokens.map((t) => BigInt(t.id));
    // The engine scores token k given <|endoftext|> + tokens[0..k), so the reference sees the same input.
    const input = BigInt64Array.from([EOT, ...ids.slice(0, -1)]);
    const model = await AutoModelForCausalLM.from_pretrained('embedded', { dtype: 'fp32', local_files_only: true });
    const out = await model({
      input_ids: new Tensor('int64', input, [1, input.length]),
      attention_mask: new Tensor('int64', new BigInt64Array(input.length).fill(1n), [1, input.length]),
    });
    const logits = out.logits.data as Float32Array;
    const vocab = out.logits.dims[2]!;
    let worst = 0;
    tokens.forEach((t, k) => {
      const row = logits.subarray(k * vocab, (k + 1) * vocab);
      let max = -Infinity;
      for (const x of row) max = Math.max(max, x);
      let sum = 0;
      for (const x of row) sum += Math.exp(x - max);
      const reference = row[t.id]! - max - Math.log(sum);
      worst = Math.max(worst, Math.abs(reference - t.logprob));
    });
    assert.ok(tokens.length > 30, 'a text of some length');
    assert.ok(worst < 1e-4, `largest difference ${worst} nats`);
    await model.dispose();
  } finally {
    await engine.dispose();
  }
});
