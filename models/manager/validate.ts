/**
 * Checks that a folder is a GPT-2 model the engine can run, and says exactly what is wrong when it
 * is not: the files present, config.json, the tokenizer, and each ONNX graph's inputs and outputs
 * (read from the protobuf on disk, see onnx-graph.ts). Accepts the transformers.js layout
 * (config.json, tokenizer.json, onnx/model*.onnx) and notes Optimum's (model.onnx at the root).
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { ModelPrecision } from '../../common/models-api.ts';
import { ModelManagerError } from './errors.ts';
import { planAttentionGraph } from '../src/attention-graph.ts';
import { checkGraph, ONNX_FILES, printableName } from '../src/model-folder.ts';
import { readOnnxGraphFile, readOnnxInterface } from '../src/onnx-file.ts';
import { OnnxFormatError, type OnnxInterface } from '../src/onnx-graph.ts';

/** GPT-2's byte-level BPE vocabulary; the engine's tokenizer produces these ids. */
const GPT2_VOCAB = 50257;

export interface ModelConfigSummary {
  layers: number;
  heads: number;
  width: number;
  contextLength: number;
  vocabSize: number;
  name?: string;
}

export interface ValidOnnxFile {
  /** Path inside the folder, e.g. "onnx/model.onnx". */
  path: string;
  precision: ModelPrecision;
  externalData: string[];
  /** Bytes of the .onnx file plus its external data. */
  bytes: number;
}

export interface ValidModel {
  dir: string;
  config: ModelConfigSummary;
  onnx: ValidOnnxFile[];
}

function readJson(path: string, problems: string[]): Record<string, unknown> | null {
  try {
    const value: unknown = JSON.parse(readFileSync(path, 'utf8'));
    if (value && typeof value === 'object' && !Array.isArray(value)) return value as Record<string, unknown>;
    problems.push(`${path} is not a JSON object`);
  } catch (e) {
    problems.push(`${path} is not valid JSON (${(e as Error).message.split('\n')[0]})`);
  }
  return null;
}

function checkConfig(dir: string, problems: string[]): ModelConfigSummary | null {
  const path = join(dir, 'config.json');
  if (!existsSync(path)) {
    problems.push('config.json is missing');
    return null;
  }
  const c = readJson(path, problems);
  if (!c) return null;
  const before = problems.length;
  if (c.model_type !== undefined && c.model_type !== 'gpt2') problems.push(`config.json: model_type is "${String(c.model_type)}", expected "gpt2"`);
  const int = (key: string): number => {
    const v = c[key];
    if (!Number.isInteger(v) || (v as number) <= 0) {
      problems.push(`config.json: "${key}" must be a positive integer${v === undefined ? ' (missing)' : `, got ${JSON.stringify(v)}`}`);
      return 0;
    }
    return v as number;
  };
  const layers = int('n_layer');
  const heads = int('n_head');
  const width = int('n_embd');
  if (heads && width && width % heads !== 0) problems.push(`config.json: n_embd ${width} is not a multiple of n_head ${heads}`);
  const optionalInt = (key: string, fallback: number): number => {
    const v = key in c ? c[key] : fallback;
    if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) {
      problems.push(`config.json: "${key}" must be a positive integer, got ${JSON.stringify(v)}${typeof v === 'number' ? '' : ` (a ${v === null ? 'null' : typeof v})`}`);
      return 0;
    }
    return v;
  };
  const contextLength = optionalInt(c.n_positions === undefined && c.n_ctx !== undefined ? 'n_ctx' : 'n_positions', 1024);
  const vocabSize = optionalInt('vocab_size', GPT2_VOCAB);
  if (vocabSize && vocabSize < GPT2_VOCAB) problems.push(`config.json: vocab_size ${vocabSize} is smaller than GPT-2's ${GPT2_VOCAB} tokens`);
  if (problems.length > before) return null;
  const likely = c.likely as { name?: unknown } | undefined;
  const name = typeof likely?.name === 'string' ? printableName(likely.name) : '';
  return { layers, heads, width, contextLength, vocabSize, ...(name ? { name } : {}) };
}

function checkTokenizer(dir: string, problems: string[]): void {
  const tokenizer = join(dir, 'tokenizer.json');
  if (existsSync(tokenizer)) {
    const t = readJson(tokenizer, problems);
    const model = t?.model as { type?: unknown; vocab?: unknown; merges?: unknown } | undefined;
    if (t && (!model || (model.type !== undefined && model.type !== 'BPE') || typeof model.vocab !== 'object' || !Array.isArray(model.merges))) {
      problems.push('tokenizer.json is not a BPE tokenizer (expected model.type "BPE" with vocab and merges)');
    }
    return;
  }
  const vocab = existsSync(join(dir, 'vocab.json'));
  const merges = existsSync(join(dir, 'merges.txt'));
  if (!vocab && !merges) problems.push('the tokenizer is missing (tokenizer.json, or vocab.json + merges.txt)');
  else if (!vocab) problems.push('vocab.json is missing (merges.txt alone is not a tokenizer)');
  else if (!merges) problems.push('merges.txt is missing (vocab.json alone is not a tokenizer)');
}

function isLfsPointer(path: string): boolean {
  if (fileSize(path) > 1024) return false;
  return readFileSync(path, 'utf8').startsWith('version https://git-lfs.github.com/spec/');
}

function fileSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

/** What a folder holds, file by file, and what keeps Likely from running each part (`likely models inspect`). */
export interface FolderReport {
  dir: string;
  config: ModelConfigSummary | null;
  /** Problems of the folder as a whole: config.json, the tokenizer, no ONNX file. */
  problems: string[];
  files: {
    path: string;
    precision: ModelPrecision;
    bytes: number;
    /** null when the file could not be read as ONNX (see problems). */
    graph: OnnxInterface | null;
    problems: string[];
    /** Whether the app can show this file's attention (models/src/attention-graph.ts), when asked for and Likely can run it. */
    attentionView?: { available: true } | { available: false; reason: string };
  }[];
}

/**
 * Reads every part of `dir` and lists what is wrong with each, without stopping at the first problem;
 * with `attentionView`, also whether each runnable file can show attention (it reads the graph's nodes).
 */
export async function inspectModelFolder(dir: string, opts: { attentionView?: boolean } = {}): Promise<FolderReport> {
  if (!existsSync(dir)) throw new ModelManagerError('invalid-model', `${dir} does not exist`);
  if (!statSync(dir).isDirectory()) throw new ModelManagerError('invalid-model', `${dir} is not a folder`);
  const problems: string[] = [];
  const config = checkConfig(dir, problems);
  checkTokenizer(dir, problems);

  const present = Object.keys(ONNX_FILES).filter((name) => existsSync(join(dir, 'onnx', name)));
  if (present.length === 0) {
    const atRoot = Object.keys(ONNX_FILES).filter((name) => existsSync(join(dir, name)));
    const optimum = ['decoder_model_merged.onnx', 'decoder_with_past_model.onnx', 'decoder_model.onnx'].filter((name) => existsSync(join(dir, name)) || existsSync(join(dir, 'onnx', name)));
    if (atRoot.length) problems.push(`${atRoot[0]} is at the folder root; Likely expects it in onnx/ (move it, and its .onnx_data if any, to onnx/)`);
    else if (optimum.length) problems.push(`found ${optimum.join(', ')} but no onnx/model.onnx; rename the merged or with-past decoder to onnx/model.onnx (transformers.js layout)`);
    else problems.push(`no ONNX model: expected one of ${Object.keys(ONNX_FILES).map((n) => 'onnx/' + n).join(', ')}`);
  }

  const files: FolderReport['files'] = [];
  for (const name of present) {
    const rel = `onnx/${name}`;
    const path = join(dir, rel);
    const file: FolderReport['files'][number] = { path: rel, precision: ONNX_FILES[name]!, bytes: fileSize(path), graph: null, problems: [] };
    files.push(file);
    try {
      if (isLfsPointer(path)) {
        file.problems.push(`${rel} is a Git LFS pointer, not the model (fetch the real file, e.g. git lfs pull)`);
        continue;
      }
      file.graph = await readOnnxInterface(path);
    } catch (e) {
      file.problems.push(`${rel} is not a readable ONNX model (${e instanceof OnnxFormatError ? e.message : (e as Error).message})`);
      continue;
    }
    if (config) file.problems.push(...checkGraph(file.graph, config.layers, rel));
    for (const data of file.graph.externalData) {
      const dataPath = join(dir, 'onnx', data);
      if (data.includes('..') || data.startsWith('/')) file.problems.push(`${rel} points its weights outside the folder (${data})`);
      else if (!existsSync(dataPath)) file.problems.push(`onnx/${data} is missing (the weights of ${rel})`);
      else file.bytes += fileSize(dataPath);
    }
    if (opts.attentionView && config && !problems.length && !file.problems.length) {
      try {
        const plan = planAttentionGraph(await readOnnxGraphFile(path), config.layers, config.heads);
        file.attentionView = 'unavailable' in plan ? { available: false, reason: plan.unavailable } : { available: true };
      } catch (e) {
        file.attentionView = { available: false, reason: `its nodes could not be read (${(e as Error).message})` };
      }
    }
  }
  return { dir, config, problems, files };
}

/**
 * Validates `dir`; returns what it found or throws ModelManagerError('invalid-model') whose message
 * lists every problem, e.g. "/x is not a usable GPT-2 model: config.json is missing; onnx/model.onnx lacks the outputs logits".
 */
export async function validateModelFolder(dir: string): Promise<ValidModel> {
  const report = await inspectModelFolder(dir);
  const problems = [...report.problems, ...report.files.flatMap((f) => f.problems)];
  if (problems.length || !report.config) throw new ModelManagerError('invalid-model', `${dir} is not a usable GPT-2 model: ${problems.join('; ')}`);
  return { dir, config: report.config, onnx: report.files.map((f) => ({ path: f.path, precision: f.precision, externalData: f.graph!.externalData, bytes: f.bytes })) };
}
