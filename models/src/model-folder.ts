/**
 * A GPT-2 model folder in the transformers.js / Optimum layout:
 *   config.json, tokenizer.json (or vocab.json + merges.txt), onnx/model.onnx
 *   [+ onnx/model.onnx_data for large models], or model_fp16.onnx / model_quantized.onnx.
 * Every problem is reported with the file it concerns.
 */
import { existsSync, readFileSync, statSync, writeFileSync, renameSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { addScoringHead, readGraphInterface, type GraphInterface } from './onnx-patch.ts';

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
  graph: GraphInterface;
}

export class ModelError extends Error {}

const ONNX_FILES: [string, Precision][] = [
  ['model.onnx', 'fp32'],
  ['model_fp16.onnx', 'fp16'],
  ['model_quantized.onnx', 'int8'],
  ['model_int8.onnx', 'int8'],
];

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

/** Finds and checks the ONNX file of the wanted precision (or the first available). */
export function openModelFolder(dir: string, precision?: Precision): ModelFolder {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new ModelError(`model folder ${dir} does not exist`);
  const config = readConfig(dir);
  if (!existsSync(join(dir, 'tokenizer.json')) && !(existsSync(join(dir, 'vocab.json')) && existsSync(join(dir, 'merges.txt')))) {
    throw new ModelError(`missing model file ${join(dir, 'tokenizer.json')} (or vocab.json + merges.txt)`);
  }
  const candidates = ONNX_FILES.filter(([, p]) => !precision || p === precision);
  const found = candidates.find(([name]) => existsSync(join(dir, 'onnx', name)));
  if (!found) {
    throw new ModelError(`missing model file ${join(dir, 'onnx', candidates[0]?.[0] ?? 'model.onnx')}`);
  }
  const onnxPath = join(dir, 'onnx', found[0]);
  const graph = inspectGraph(onnxPath, config);
  return { dir, config, onnxPath, precision: found[1], graph };
}

function inspectGraph(onnxPath: string, config: GPT2Config): GraphInterface {
  let graph: GraphInterface;
  try {
    graph = readGraphInterface(readFileSync(onnxPath));
  } catch (e) {
    throw new ModelError(`corrupt model file ${onnxPath}: ${(e as Error).message}`);
  }
  const names = new Set(graph.inputs.map((i) => i.name));
  const missing = ['input_ids', 'attention_mask', ...Array.from({ length: config.n_layer }, (_, i) => `past_key_values.${i}.key`)].filter((n) => !names.has(n));
  if (missing.length) throw new ModelError(`${onnxPath} lacks the inputs ${missing.join(', ')} (export it with past key values, e.g. Optimum's "text-generation-with-past")`);
  if (!graph.outputs.some((o) => o.name === 'logits')) throw new ModelError(`${onnxPath} has no "logits" output`);
  if (graph.usesExternalData) {
    const data = join(dirname(onnxPath), basename(onnxPath) + '_data');
    if (!existsSync(data)) throw new ModelError(`missing model file ${data} (the weights of ${basename(onnxPath)})`);
  }
  return graph;
}

/**
 * The model with the scoring head appended: in memory for self-contained files, or written beside
 * the original (so its external weights resolve) for models with external data.
 */
export function scoredModel(folder: ModelFolder, topK: number): string | Uint8Array {
  const bytes = readFileSync(folder.onnxPath);
  const patched = addScoringHead(bytes, topK);
  if (!folder.graph.usesExternalData) return patched;
  const target = join(dirname(folder.onnxPath), `.likely-scored-${basename(folder.onnxPath)}`);
  if (!existsSync(target) || statSync(target).size !== patched.length) {
    writeFileSync(target + '.tmp', patched);
    renameSync(target + '.tmp', target);
  }
  return target;
}
