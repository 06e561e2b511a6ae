/**
 * GPT-2-shaped models with random weights for benchmarks: the real layer/head/width sizes, so their
 * cost equals the real GPT-2's. Built on demand into models/random/ (git-ignored), in TypeScript:
 * no Python on the benchmark's path.
 *
 *   npm run models:random -- small [medium large xl] [--dtype fp32|fp16|int8]
 *
 * The folder is the onnx-community layout (decoder with past and position_ids, opset 14); weights
 * over protobuf's 2 GB limit go to model.onnx_data. The same names give the same weights at every
 * precision, so fp32 and int8 of one size are the same model.
 */
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { EMBEDDED_MODEL_DIR, RANDOM_MODELS_DIR } from '../src/paths.ts';
import { CliError, isEntry, scriptOptions } from '../cli/args.ts';
import { GPT2_SIZES, randomWeights, weightDims, weightsOf, writeGpt2Onnx, type Gpt2Interface, type Gpt2Shape, type Gpt2Weights } from './gpt2-onnx.ts';

export type Size = keyof typeof GPT2_SIZES;
const ONNX_NAME: Record<'fp32' | 'fp16' | 'int8', string> = { fp32: 'model.onnx', fp16: 'model_fp16.onnx', int8: 'model_quantized.onnx' };
/** Protobuf's 2 GB limit, with room for the graph. */
const INLINE_LIMIT = 1.8e9;

export function randomModelDir(size: Size, dtype: 'fp32' | 'fp16' | 'int8' = 'fp32'): string {
  return join(RANDOM_MODELS_DIR, `gpt2-${size}-${dtype}`);
}

/** Builds models/random/gpt2-<size>-<dtype> unless it exists; returns its folder. */
export function ensureRandomModel(size: Size, dtype: 'fp32' | 'fp16' | 'int8' = 'fp32', log: (m: string) => void = (m) => process.stderr.write(m + '\n')): string {
  const dir = randomModelDir(size, dtype);
  const onnx = join(dir, 'onnx', ONNX_NAME[dtype]);
  if (existsSync(onnx)) return dir;
  const shape = GPT2_SIZES[size];
  const bytesPerWeight = dtype === 'fp32' ? 4 : dtype === 'fp16' ? 2 : 1;
  const weights = weightDims(shape).reduce((n, [, d]) => n + d.reduce((a, b) => a * b, 1), 0);
  log(`building the random-weight GPT-2-${size}-shaped model (${dtype}, ${(weights / 1e6).toFixed(0)} M weights) in ${dir} ...`);
  const t = performance.now();
  mkdirSync(join(dir, 'onnx'), { recursive: true });
  writeFileSync(
    join(dir, 'config.json'),
    JSON.stringify(
      {
        architectures: ['GPT2LMHeadModel'],
        model_type: 'gpt2',
        n_layer: shape.layers,
        n_head: shape.heads,
        n_embd: shape.width,
        n_positions: shape.positions,
        n_ctx: shape.positions,
        vocab_size: shape.vocab,
        bos_token_id: 50256,
        eos_token_id: 50256,
        activation_function: 'gelu_new',
        layer_norm_epsilon: shape.eps,
        likely: { name: `random GPT-2 ${size} (${dtype})` },
      },
      null,
      2,
    ),
  );
  for (const f of ['tokenizer.json', 'tokenizer_config.json', 'vocab.json', 'merges.txt']) copyFileSync(join(EMBEDDED_MODEL_DIR, f), join(dir, f));
  const externalData = weights * bytesPerWeight > INLINE_LIMIT;
  writeGpt2Onnx(onnx, { shape, interface: 'with-past', weights: dtype, source: randomWeights(), externalData });
  log(`wrote ${onnx} in ${((performance.now() - t) / 1000).toFixed(0)} s`);
  return dir;
}

/** One ONNX interface of the hub's (see gpt2-onnx.ts). */
export interface OnnxVariant {
  interface: Gpt2Interface;
  weights: Gpt2Weights;
  externalData: boolean;
  /** 'fused': one com.microsoft.MultiHeadAttention per layer (gpt2-onnx.ts); default decomposed. */
  attention?: 'decomposed' | 'fused';
}

export function embeddedShape(dir = EMBEDDED_MODEL_DIR): Gpt2Shape {
  const c = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as { n_layer: number; n_head: number; n_embd: number; vocab_size: number; n_positions: number; layer_norm_epsilon?: number };
  return { layers: c.n_layer, heads: c.n_head, width: c.n_embd, vocab: c.vocab_size, positions: c.n_positions, eps: c.layer_norm_epsilon ?? 1e-5 };
}

/**
 * Writes a model folder (config.json and tokenizer files of the embedded model, without its
 * "likely" metadata, as the hub's config has none) whose ONNX file `onnxName` has `variant`'s
 * interface and the embedded model's weights.
 */
export function buildModelFolder(dir: string, onnxName: string, variant: OnnxVariant): string {
  mkdirSync(join(dir, 'onnx'), { recursive: true });
  const config = JSON.parse(readFileSync(join(EMBEDDED_MODEL_DIR, 'config.json'), 'utf8')) as Record<string, unknown>;
  delete config.likely;
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config, null, 2));
  for (const f of ['tokenizer.json', 'tokenizer_config.json']) copyFileSync(join(EMBEDDED_MODEL_DIR, f), join(dir, f));
  writeGpt2Onnx(join(dir, 'onnx', onnxName), {
    shape: embeddedShape(),
    interface: variant.interface,
    weights: variant.weights,
    source: embeddedWeights(),
    externalData: variant.externalData,
    attention: variant.attention,
  });
  return dir;
}

let cachedWeights: ReturnType<typeof weightsOf> | null = null;
/** The embedded model's weights (read once). */
export function embeddedWeights() {
  return (cachedWeights ??= weightsOf(join(EMBEDDED_MODEL_DIR, 'onnx', 'model.onnx')));
}

if (isEntry(import.meta.url)) {
  const { sizes, dtype } = scriptOptions('models:random', { values: ['dtype'] }, (args) => {
    const usage = 'usage: npm run models:random -- small|medium|large|xl [...] [--dtype fp32|fp16|int8]';
    const dtype = (args.values.dtype ?? 'fp32') as 'fp32' | 'fp16' | 'int8';
    if (!['fp32', 'fp16', 'int8'].includes(dtype)) throw new CliError(`--dtype must be fp32, fp16 or int8, got "${dtype}"; ${usage}`);
    const unknown = args.positional.find((a) => !(a in GPT2_SIZES));
    if (!args.positional.length || unknown !== undefined) throw new CliError(unknown !== undefined ? `unknown size "${unknown}"; ${usage}` : usage);
    return { sizes: args.positional as Size[], dtype };
  });
  for (const size of sizes) {
    const dir = randomModelDir(size, dtype);
    if (existsSync(join(dir, 'onnx', ONNX_NAME[dtype]))) console.log(`exists: ${dir}`);
    else ensureRandomModel(size, dtype);
  }
}
