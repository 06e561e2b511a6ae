/**
 * What a GPT-2 model folder's files must say, checked without reading any file: the config's shape
 * (and that it matches the graph's), the largest each small file of a folder may be,
 * the ONNX files a folder may hold and the interface the engine runs, a printable model name.
 * Environment-neutral, so the Node loader (model-folder.ts) and the browser's (model-files.ts) apply
 * the same rules and the same messages. Every problem is reported with the file it concerns.
 */
import type { ModelInfo } from '../../common/api.ts';
import type { OnnxInterface } from './onnx-graph.ts';
import { CHUNK_MIN, CONTEXT_MIN } from './windows.ts';

import type { ModelPrecision as Precision } from '../../common/models-api.ts';

export type { Precision };

export interface GPT2Config {
  n_layer: number;
  n_head: number;
  n_embd: number;
  n_positions: number;
  vocab_size: number;
  likely?: { name?: string };
}

export class ModelError extends Error {}

/** GPT-2's byte-level BPE vocabulary: the engine's tokenizer produces these ids. */
export const GPT2_VOCAB = 50257;
/**
 * The fewest positions the engine can run: it scores a long text in windows that give each chunk
 * of at least CHUNK_MIN tokens CONTEXT_MIN tokens before it (windows.ts); with less, every window
 * is a single token fed with more positions than the model has (n_positions 0 hung `likely score`).
 */
export const MIN_POSITIONS = CONTEXT_MIN + CHUNK_MIN;

/** The range of each config.json number the engine runs (GPT-2 XL: 48 layers, 25 heads, width 1,600, 1,024 positions). */
const CONFIG_RANGES: Record<'n_layer' | 'n_head' | 'n_embd' | 'n_positions' | 'vocab_size', [number, number]> = {
  n_layer: [1, 512],
  n_head: [1, 1024],
  n_embd: [1, 65_536],
  n_positions: [MIN_POSITIONS, 131_072],
  vocab_size: [GPT2_VOCAB, 1 << 22],
};

const shown = (v: unknown) => (typeof v === 'number' ? String(v) : JSON.stringify(v) ?? String(v));

/**
 * A config.json's GPT-2 shape with every problem of it, each one line naming `file` and the field:
 * values of the wrong type, missing, non-integer, out of the range the engine runs (n_positions 0
 * or 1e308, n_embd 1e9), n_embd not a multiple of n_head. The one check of the Node loader, the
 * browser's and the validator (models/manager/validate.ts).
 */
export function configProblems(raw: unknown, file: string): { config: GPT2Config | null; problems: string[] } {
  const problems: string[] = [];
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) return { config: null, problems: [`${file} is not a JSON object`] };
  const c = raw as Record<string, unknown>;
  if (c.model_type !== undefined && c.model_type !== 'gpt2') problems.push(`${file}: model_type is "${String(c.model_type)}", expected "gpt2"`);
  const int = (key: keyof typeof CONFIG_RANGES, fallback?: number, as: string = key): number => {
    const v = as in c ? c[as] : fallback;
    if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) {
      const what = fallback === undefined ? (v === undefined ? ' (missing)' : `, got ${shown(v)}`) : `, got ${shown(v)}${typeof v === 'number' ? '' : ` (a ${v === null ? 'null' : typeof v})`}`;
      problems.push(`${file}: "${as}" must be a positive integer${what}`);
      return 0;
    }
    const [min, max] = CONFIG_RANGES[key];
    if (key === 'vocab_size' && v < min) problems.push(`${file}: vocab_size ${v} is smaller than GPT-2's ${GPT2_VOCAB} tokens`);
    else if (key === 'n_positions' && v < min) problems.push(`${file}: "${as}" is ${v}; the engine needs at least ${min} positions (${CONTEXT_MIN} of context before each chunk of ${CHUNK_MIN} tokens)`);
    else if (v > max) problems.push(`${file}: "${as}" must be at most ${max}, got ${shown(v)}`);
    else return v;
    return 0;
  };
  const n_layer = int('n_layer');
  const n_head = int('n_head');
  const n_embd = int('n_embd');
  if (n_head && n_embd && n_embd % n_head !== 0) problems.push(`${file}: n_embd ${n_embd} is not a multiple of n_head ${n_head}`);
  const n_positions = int('n_positions', 1024, c.n_positions === undefined && c.n_ctx !== undefined ? 'n_ctx' : 'n_positions');
  const vocab_size = int('vocab_size', GPT2_VOCAB);
  if (problems.length) return { config: null, problems };
  const likely = c.likely && typeof c.likely === 'object' ? (c.likely as { name?: unknown }) : undefined;
  return { config: { n_layer, n_head, n_embd, n_positions, vocab_size, ...(typeof likely?.name === 'string' ? { likely: { name: likely.name } } : {}) }, problems };
}

/** A config.json's GPT-2 shape, checked (configProblems); `path` names the file in errors. Throws ModelError with every problem in one line. */
export function parseConfig(raw: unknown, path: string): GPT2Config {
  const { config, problems } = configProblems(raw, path);
  if (!config) throw new ModelError(problems.join('; '));
  return config;
}

const MiB = 1024 * 1024;
/**
 * The most bytes each small file of a model folder may hold, checked before it is read (GPT-2's
 * are far smaller: tokenizer.json 2.1 MB, vocab.json 1 MB, merges.txt 456 kB, config.json 1 kB),
 * so a huge or endless file (a link to /dev/zero) is refused instead of read into memory.
 */
export const MODEL_FILE_MAX_BYTES: Readonly<Record<string, number>> = {
  'config.json': MiB,
  'generation_config.json': MiB,
  'tokenizer_config.json': MiB,
  'special_tokens_map.json': MiB,
  'tokenizer.json': 64 * MiB,
  'vocab.json': 32 * MiB,
  'merges.txt': 32 * MiB,
};

/** The ONNX files a model folder may hold (in onnx/), in the order the engine prefers them. */
export const ONNX_FILES: Readonly<Record<string, Precision>> = {
  'model.onnx': 'fp32',
  'model_fp16.onnx': 'fp16',
  'model_quantized.onnx': 'int8',
  'model_int8.onnx': 'int8',
};

/**
 * A model name from a config.json, safe to print to a terminal or show in the app: terminal escape
 * sequences, control characters and bidirectional overrides removed, at most 120 characters.
 */
export function printableName(name: string): string {
  return (
    name
      // eslint-disable-next-line no-control-regex -- removing control characters is the point
      .replace(/\x1b(\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(\x07|\x1b\\)?|[@-Z\\-_])/g, '')
      // eslint-disable-next-line no-control-regex
      .replace(/[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g, '')
      .trim()
      .slice(0, 120)
  );
}

const kvNames = (prefix: string, layers: number) => Array.from({ length: layers }, (_, i) => [`${prefix}.${i}.key`, `${prefix}.${i}.value`]).flat();

function abbreviate(names: string[]): string {
  return names.length <= 4 ? names.join(', ') : `${names.slice(0, 3).join(', ')} and ${names.length - 3} more`;
}

/**
 * What the engine feeds and reads (gpt2.ts): inputs input_ids, attention_mask and the cache of every
 * layer, optionally position_ids (the model numbers positions from the cache length without them)
 * and use_cache_branch (a merged decoder); outputs logits and the new cache. The cache may be
 * float32 or float16 whatever the weights are. Returns the problems, each naming `file`.
 */
export function checkGraph(g: OnnxInterface, config: GPT2Config, file: string, configFile = 'config.json'): string[] {
  const layers = config.n_layer;
  const problems: string[] = [];
  const inputs = new Set(g.inputs.map((i) => i.name));
  const outputs = new Set(g.outputs.map((o) => o.name));
  const wantedInputs = ['input_ids', 'attention_mask', ...kvNames('past_key_values', layers)];
  const missingIn = wantedInputs.filter((n) => !inputs.has(n));
  if (missingIn.length) {
    const hint = missingIn.some((n) => n.startsWith('past_key_values')) ? ' (export it with past key values, e.g. Optimum --task text-generation-with-past)' : '';
    problems.push(`${file} lacks the inputs ${abbreviate(missingIn)}${hint}`);
  }
  const known = new Set([...wantedInputs, 'position_ids', 'use_cache_branch']);
  const extra = g.inputs.map((i) => i.name).filter((n) => !known.has(n));
  if (extra.length) {
    const extraLayers = extra.filter((n) => /^past_key_values\.\d+\./.test(n));
    const hint = extraLayers.length ? ` (the graph has more layers than config.json's n_layer ${layers})` : '';
    problems.push(`${file} has inputs the engine does not feed: ${abbreviate(extra)}${hint}`);
  }
  const missingOut = ['logits', ...kvNames('present', layers)].filter((n) => !outputs.has(n));
  if (missingOut.length) problems.push(`${file} lacks the outputs ${abbreviate(missingOut)}`);
  const kvTypes = new Set(kvNames('past_key_values', layers).map((n) => g.inputs.find((i) => i.name === n)?.elemType));
  for (const t of kvTypes) if (t !== undefined && t !== 1 && t !== 10) problems.push(`${file}'s past_key_values are of type ${t}, not float32 or float16`);
  const branch = g.inputs.find((i) => i.name === 'use_cache_branch');
  if (branch && branch.elemType !== 9) problems.push(`${file}'s use_cache_branch is not a bool`);
  // The config must say what the graph is: the engine shapes its cache and windows from it.
  const [, heads, , headWidth] = g.inputs.find((i) => i.name === 'past_key_values.0.key')?.dims ?? [];
  if (typeof heads === 'number' && heads !== config.n_head) problems.push(`${configFile}: n_head ${config.n_head} does not match ${file}, whose cache has ${heads} heads`);
  else if (typeof headWidth === 'number' && headWidth * config.n_head !== config.n_embd) problems.push(`${configFile}: n_embd ${config.n_embd} does not match ${file}, whose ${config.n_head} heads are ${headWidth} wide (n_embd ${headWidth * config.n_head})`);
  const vocab = g.outputs.find((o) => o.name === 'logits')?.dims[2];
  if (typeof vocab === 'number' && vocab !== config.vocab_size) problems.push(`${configFile}: vocab_size ${config.vocab_size} does not match ${file}, whose logits have ${vocab} entries`);
  if (g.positions !== null && config.n_positions > g.positions) problems.push(`${configFile}: n_positions ${config.n_positions} is more than ${file} can run (its position table has ${g.positions} rows)`);
  return problems;
}


/** What the app shows about a loaded model; `source` names it when its config.json has no name (the folder's name). */
export function describeModel(config: GPT2Config, m: { id: string; source: string; precision: Precision; device: string; fallbackReason?: string }): ModelInfo {
  return {
    id: m.id,
    name: (config.likely?.name ? printableName(config.likely.name) : '') || `GPT-2 ${config.n_layer}×${config.n_embd} (${m.source})`,
    device: m.device,
    ...(m.fallbackReason ? { fallbackReason: m.fallbackReason } : {}),
    precision: m.precision,
    layers: config.n_layer,
    heads: config.n_head,
    width: config.n_embd,
    contextLength: config.n_positions,
  };
}
