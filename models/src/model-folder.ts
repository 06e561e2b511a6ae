/**
 * A GPT-2 model folder in the transformers.js / Optimum layout:
 *   config.json, tokenizer.json (or vocab.json + merges.txt), onnx/model.onnx
 *   [+ onnx/model.onnx_data for large models], or model_fp16.onnx / model_quantized.onnx.
 * The one place that knows which ONNX files a folder may hold and what interface the engine runs
 * (the validator in models/manager/validate.ts and `likely models inspect` use the same list and
 * check). Every problem is reported with the file it concerns.
 */
import { createHash } from 'node:crypto';
import { existsSync, linkSync, mkdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { readOnnxInterface, type OnnxInterface } from './onnx-graph.ts';
import { hasScoringHead, writeScoredModel } from './onnx-patch.ts';

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

export interface ModelFolder {
  dir: string;
  config: GPT2Config;
  onnxPath: string;
  precision: Precision;
  graph: OnnxInterface;
}

export class ModelError extends Error {}

/** The ONNX files a model folder may hold (in onnx/), in the order the engine prefers them. */
export const ONNX_FILES: Readonly<Record<string, Precision>> = {
  'model.onnx': 'fp32',
  'model_fp16.onnx': 'fp16',
  'model_quantized.onnx': 'int8',
  'model_int8.onnx': 'int8',
};

function readJson(path: string): unknown {
  if (!existsSync(path)) throw new ModelError(`missing model file ${path}`);
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new ModelError(`corrupt model file ${path}: ${(e as Error).message}`);
  }
}

export function readConfig(dir: string): GPT2Config {
  const path = join(dir, 'config.json');
  const c = readJson(path) as Partial<GPT2Config> & { model_type?: string; n_ctx?: number };
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

/** The ONNX file of the wanted precision (or the first available) in `dir`/onnx, or null. */
export function findOnnxFile(dir: string, precision?: Precision): { path: string; precision: Precision } | null {
  for (const [name, p] of Object.entries(ONNX_FILES)) {
    if (precision && p !== precision) continue;
    const path = join(dir, 'onnx', name);
    if (existsSync(path)) return { path, precision: p };
  }
  return null;
}

/** Finds and checks the ONNX file of the wanted precision (or the first available). */
export async function openModelFolder(dir: string, precision?: Precision): Promise<ModelFolder> {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new ModelError(`model folder ${dir} does not exist`);
  const config = readConfig(dir);
  if (!existsSync(join(dir, 'tokenizer.json')) && !(existsSync(join(dir, 'vocab.json')) && existsSync(join(dir, 'merges.txt')))) {
    throw new ModelError(`missing model file ${join(dir, 'tokenizer.json')} (or vocab.json + merges.txt)`);
  }
  const found = findOnnxFile(dir, precision);
  if (!found) {
    const first = Object.entries(ONNX_FILES).find(([, p]) => !precision || p === precision)?.[0] ?? 'model.onnx';
    throw new ModelError(`missing model file ${join(dir, 'onnx', first)}`);
  }
  let graph: OnnxInterface;
  try {
    graph = await readOnnxInterface(found.path);
  } catch (e) {
    throw new ModelError(`corrupt model file ${found.path}: ${(e as Error).message}`);
  }
  const problems = checkGraph(graph, config.n_layer, found.path);
  if (problems.length) throw new ModelError(problems.join('; '));
  for (const data of graph.externalData) {
    if (!existsSync(join(dirname(found.path), data))) throw new ModelError(`missing model file ${join(dirname(found.path), data)} (the weights of ${basename(found.path)})`);
  }
  return { dir, config, onnxPath: found.path, precision: found.precision, graph };
}

/** Where patched graphs go when the model's own folder is read-only: LIKELY_CACHE_DIR or the temp folder. */
export function scoredModelCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.LIKELY_CACHE_DIR ?? join(tmpdir(), `likely-${process.getuid?.() ?? 'user'}`, 'scored-models');
}

/**
 * The path of the model with the scoring head appended (onnx-patch.ts), written once by streaming
 * the file (never two copies in memory) and reused while the source is unchanged.
 *   Self-contained files go to the cache folder, so a read-only folder imported in place loads.
 *   Files with external data must sit beside their weights (ONNX Runtime resolves them relative
 *   to the .onnx file and refuses paths, symlinks included, that leave its folder): beside the
 *   original when its folder is writable, else in the cache folder with hard links to the weights.
 * Each writer writes its own temporary file and renames it into place, so two engines loading the
 * same model at once never see a half-written file.
 */
export function scoredModel(folder: ModelFolder, topK: number): string {
  if (hasScoringHead(folder.graph)) return folder.onnxPath;
  const src = folder.onnxPath;
  const st = statSync(src);
  const key = createHash('sha256').update(`${src}\0${st.size}\0${st.mtimeMs}\0${topK}`).digest('hex').slice(0, 16);
  const places = folder.graph.externalData.length ? [dirname(src), join(scoredModelCacheDir(), key)] : [join(scoredModelCacheDir(), key)];
  const errors: string[] = [];
  for (const place of places) {
    const target = join(place, `.likely-scored-${basename(src)}`);
    const made = statSync(target, { throwIfNoEntry: false });
    if (made?.isFile() && made.mtimeMs >= st.mtimeMs && folder.graph.externalData.every((d) => existsSync(join(place, d)))) return target;
    const tmp = `${target}.${process.pid}-${Math.random().toString(36).slice(2)}.tmp`;
    try {
      mkdirSync(place, { recursive: true });
      if (place !== dirname(src)) {
        for (const d of folder.graph.externalData) if (!existsSync(join(place, d))) linkSync(join(dirname(src), d), join(place, d));
      }
      writeScoredModel(src, folder.graph, tmp, topK);
      renameSync(tmp, target);
      return target;
    } catch (e) {
      rmSync(tmp, { force: true });
      errors.push(`${place}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
  }
  throw new ModelError(
    `cannot write the scoring graph of ${src} (${errors.join('; ')})` +
      (folder.graph.externalData.length ? '; its folder is read-only and on another disk than the cache: import it with --copy, or set LIKELY_CACHE_DIR to a folder on its disk' : ''),
  );
}
