/**
 * What a GPT-2 model folder's files must say, checked without reading any file: the config's shape,
 * the ONNX files a folder may hold and the interface the engine runs, a printable model name.
 * Environment-neutral, so the Node loader (model-folder.ts) and the browser's (model-files.ts) apply
 * the same rules and the same messages. Every problem is reported with the file it concerns.
 */
import type { ModelInfo } from '../../common/api.ts';
import type { OnnxInterface } from './onnx-graph.ts';

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

/** A config.json's GPT-2 shape, checked; `path` names the file in errors. */
export function parseConfig(raw: unknown, path: string): GPT2Config {
  const c = raw as Partial<GPT2Config> & { model_type?: string; n_ctx?: number };
  if (!c || typeof c !== 'object') throw new ModelError(`${path}: not a JSON object`);
  if (c.model_type && c.model_type !== 'gpt2') throw new ModelError(`${path}: model_type is "${c.model_type}", expected "gpt2"`);
  for (const key of ['n_layer', 'n_head', 'n_embd'] as const) {
    if (!Number.isInteger(c[key]) || (c[key] as number) <= 0) throw new ModelError(`${path}: "${key}" must be a positive integer`);
  }
  return {
    n_layer: c.n_layer!,
    n_head: c.n_head!,
    n_embd: c.n_embd!,
    n_positions: c.n_positions ?? c.n_ctx ?? 1024,
    vocab_size: c.vocab_size ?? 50257,
    likely: c.likely,
  };
}


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
export function checkGraph(g: OnnxInterface, layers: number, file: string): string[] {
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
