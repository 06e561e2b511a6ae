/**
 * Checks that a folder is a GPT-2 model the engine can run, and says exactly what is wrong when it
 * is not: the files present, config.json, the tokenizer, and each ONNX graph's inputs and outputs
 * (read from the protobuf on disk, see onnx-graph.ts). Accepts the transformers.js layout
 * (config.json, tokenizer.json, onnx/model*.onnx) and notes Optimum's (model.onnx at the root).
 */
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { ModelPrecision } from '../../common/models-api.ts';
import { readRegularFile } from '../../node/files.ts';
import { ModelManagerError } from './errors.ts';
import { planAttentionGraph } from '../src/attention-graph.ts';
import { checkGraph, configProblems, MODEL_FILE_MAX_BYTES, ONNX_FILES, printableName, type GPT2Config } from '../src/model-config.ts';
import { checkModelDataFile, ModelError, modelFileProblem } from '../src/model-folder.ts';
import { readOnnxGraphFile, readOnnxInterface } from '../src/onnx-file.ts';
import { OnnxFormatError, type OnnxInterface } from '../src/onnx-graph.ts';
import { Tokenizer } from '../src/tokenizer.ts';

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

/**
 * A small file of the folder (`rel`, e.g. "config.json"), read only if it is a regular file of at
 * most its MODEL_FILE_MAX_BYTES (a FIFO, a device or a link to one is never opened for a blocking
 * read); undefined when absent, null when it cannot be read (the problem is recorded).
 */
async function readSmall(dir: string, rel: string, problems: string[], maxBytes = MODEL_FILE_MAX_BYTES[rel] ?? 1024 * 1024): Promise<Buffer | undefined | null> {
  try {
    return (await readRegularFile(join(dir, rel), maxBytes)).bytes;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    problems.push(modelFileProblem(e, rel, maxBytes));
    return null;
  }
}

function parseJson(bytes: Buffer, rel: string, problems: string[]): Record<string, unknown> | null {
  try {
    const value: unknown = JSON.parse(bytes.toString('utf8'));
    if (value && typeof value === 'object' && !Array.isArray(value)) return value as Record<string, unknown>;
    problems.push(`${rel} is not a JSON object`);
  } catch (e) {
    problems.push(`${rel} is not valid JSON (${(e as Error).message.split('\n')[0]})`);
  }
  return null;
}

async function checkConfig(dir: string, problems: string[]): Promise<GPT2Config | null> {
  const bytes = await readSmall(dir, 'config.json', problems);
  if (bytes === undefined) problems.push('config.json is missing');
  if (!bytes) return null;
  const c = parseJson(bytes, 'config.json', problems);
  if (!c) return null;
  const checked = configProblems(c, 'config.json');
  problems.push(...checked.problems);
  return checked.config;
}

const summary = (c: GPT2Config): ModelConfigSummary => {
  const name = c.likely?.name ? printableName(c.likely.name) : '';
  return { layers: c.n_layer, heads: c.n_head, width: c.n_embd, contextLength: c.n_positions, vocabSize: c.vocab_size, ...(name ? { name } : {}) };
};

/** The tokenizer as the engine loads it (Tokenizer.fromFiles: the same checks and messages). */
async function checkTokenizer(dir: string, problems: string[]): Promise<void> {
  const files = new Map<string, string>();
  let unreadable = false;
  for (const name of ['tokenizer.json', 'vocab.json', 'merges.txt']) {
    const bytes = await readSmall(dir, name, problems);
    if (bytes === null) unreadable = true;
    else if (bytes) files.set(name, bytes.toString('utf8'));
  }
  if (unreadable) return;
  if (!files.has('tokenizer.json')) {
    const vocab = files.has('vocab.json');
    const merges = files.has('merges.txt');
    if (!vocab && !merges) return void problems.push('the tokenizer is missing (tokenizer.json, or vocab.json + merges.txt)');
    if (!vocab) return void problems.push('vocab.json is missing (merges.txt alone is not a tokenizer)');
    if (!merges) return void problems.push('merges.txt is missing (vocab.json alone is not a tokenizer)');
  }
  try {
    // The engine prefers vocab.json + merges.txt when both are there; check what it would load.
    const both = files.has('vocab.json') && files.has('merges.txt');
    Tokenizer.fromFiles((name) => (both ? (name === 'tokenizer.json' ? undefined : files.get(name)) : files.get(name)), dir, (name) => name);
  } catch (e) {
    problems.push((e as Error).message);
  }
}

/** Files of a model folder besides the ONNX ones that the engine or the app may read: each must be a regular file. */
const OTHER_MODEL_FILES = ['generation_config.json', 'tokenizer_config.json', 'special_tokens_map.json'];

async function isLfsPointer(path: string): Promise<boolean> {
  const { bytes } = await readRegularFile(path, 1 << 20);
  return bytes.length <= 1024 && bytes.toString('utf8').startsWith('version https://git-lfs.github.com/spec/');
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
  const gpt2 = await checkConfig(dir, problems);
  const config = gpt2 ? summary(gpt2) : null;
  await checkTokenizer(dir, problems);
  for (const name of OTHER_MODEL_FILES) {
    try {
      await checkModelDataFile(join(dir, name));
    } catch (e) {
      problems.push((e as Error).message.replace(join(dir, name), name));
    }
  }

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
    const file: FolderReport['files'][number] = { path: rel, precision: ONNX_FILES[name]!, bytes: 0, graph: null, problems: [] };
    files.push(file);
    try {
      file.bytes = (await checkModelDataFile(path)) ?? 0;
      if (await isLfsPointer(path).catch(() => false)) {
        file.problems.push(`${rel} is a Git LFS pointer, not the model (fetch the real file, e.g. git lfs pull)`);
        continue;
      }
      file.graph = await readOnnxInterface(path);
    } catch (e) {
      if (e instanceof ModelError) file.problems.push(e.message.replace(path, rel));
      else if (e instanceof OnnxFormatError) file.problems.push(`${rel} is not a readable ONNX model (${e.message})`);
      else file.problems.push(modelFileProblem(e, rel));
      continue;
    }
    if (gpt2) file.problems.push(...checkGraph(file.graph, gpt2, rel, 'config.json'));
    for (const data of file.graph.externalData) {
      const dataRel = `onnx/${data}`;
      if (data.includes('..') || data.startsWith('/')) {
        file.problems.push(`${rel} points its weights outside the folder (${data})`);
        continue;
      }
      try {
        const size = await checkModelDataFile(join(dir, dataRel));
        if (size === undefined) file.problems.push(`${dataRel} is missing (the weights of ${rel})`);
        else file.bytes += size;
      } catch (e) {
        file.problems.push((e as Error).message.replace(join(dir, dataRel), dataRel));
      }
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
