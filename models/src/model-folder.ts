/**
 * A GPT-2 model folder in the transformers.js / Optimum layout:
 *   config.json, tokenizer.json (or vocab.json + merges.txt), onnx/model.onnx
 *   [+ onnx/model.onnx_data for large models], or model_fp16.onnx / model_quantized.onnx.
 * The one place that knows which ONNX files a folder may hold and what interface the engine runs
 * (the validator in models/manager/validate.ts and `likely models inspect` use the same list and
 * check). Every problem is reported with the file it concerns.
 */
import { createHash } from 'node:crypto';
import { existsSync, linkSync, mkdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { humanSize } from '../../common/limits.ts';
import { readRegularFile, UnreadableFileError } from '../../node/files.ts';
import { readOnnxInterface } from './onnx-file.ts';
import type { OnnxInterface } from './onnx-graph.ts';
import type { LayoutPart } from './attention-graph.ts';
import { hasScoringHead, writePatchedModel, writeScoredModel } from './onnx-patch.ts';

import { checkGraph, ModelError, MODEL_FILE_MAX_BYTES, ONNX_FILES, parseConfig, type GPT2Config, type Precision } from './model-config.ts';
import { Tokenizer } from './tokenizer.ts';

export { checkGraph, ModelError, ONNX_FILES, parseConfig, printableName, type GPT2Config, type Precision } from './model-config.ts';

export interface ModelFolder {
  dir: string;
  config: GPT2Config;
  onnxPath: string;
  precision: Precision;
  graph: OnnxInterface;
}

/** One line for a model file that could not be read, naming it. */
export function modelFileProblem(e: unknown, path: string, maxBytes?: number): string {
  if (e instanceof UnreadableFileError) {
    if (e.reason === 'not-regular') return `${path} is ${e.kind}, not a regular file`;
    const limit = maxBytes === undefined ? '' : `; a ${basename(path)} is at most ${humanSize(maxBytes)}`;
    return e.size !== undefined ? `${path} is ${humanSize(e.size)}${limit}` : `${path} keeps growing while it is read${limit}`;
  }
  const err = e as NodeJS.ErrnoException;
  if (err?.code === 'ENOENT') return `missing model file ${path}`;
  if (err?.code === 'EACCES' || err?.code === 'EPERM') return `cannot read ${path}: permission denied`;
  if (err?.code === 'ELOOP') return `cannot read ${path}: a loop of symbolic links`;
  return `cannot read ${path}: ${err?.code ?? err?.message ?? String(e)}`;
}

/**
 * A small file of a model folder (config.json, the tokenizer's files), read the way documents are
 * (node/files.ts): only a regular file (a FIFO or a device, or a link to one, is refused before it
 * blocks or streams forever), at most its MODEL_FILE_MAX_BYTES, asynchronously. undefined when
 * the folder has no such file; a ModelError naming the file otherwise.
 */
export async function readModelFile(path: string, maxBytes = MODEL_FILE_MAX_BYTES[basename(path)] ?? 1024 * 1024): Promise<Buffer | undefined> {
  try {
    return (await readRegularFile(path, maxBytes)).bytes;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new ModelError(modelFileProblem(e, path, maxBytes));
  }
}

/**
 * Checks a model file that onnxruntime or the graph reader open by path (the ONNX file, its
 * external data) without opening it: its size, or undefined when it is missing. A folder, FIFO,
 * device or socket (or a link to one) is a ModelError naming it.
 */
export async function checkModelDataFile(path: string): Promise<number | undefined> {
  let st;
  try {
    st = await stat(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new ModelError(modelFileProblem(e, path));
  }
  if (!st.isFile()) throw new ModelError(modelFileProblem(new UnreadableFileError(path, 'not-regular', st.isDirectory() ? 'a folder' : st.isFIFO() ? 'a named pipe (FIFO)' : st.isSocket() ? 'a socket' : 'a device'), path));
  return st.size;
}

async function readJson(path: string): Promise<unknown> {
  const bytes = await readModelFile(path);
  if (!bytes) throw new ModelError(`missing model file ${path}`);
  try {
    return JSON.parse(bytes.toString('utf8'));
  } catch (e) {
    throw new ModelError(`corrupt model file ${path}: ${(e as Error).message}`);
  }
}

export async function readConfig(dir: string): Promise<GPT2Config> {
  const path = join(dir, 'config.json');
  return parseConfig(await readJson(path), path);
}

const TOKENIZER_FILES = ['vocab.json', 'merges.txt', 'tokenizer.json'];

/** The folder's tokenizer: vocab.json + merges.txt, or tokenizer.json (each read with readModelFile). */
export async function loadTokenizer(dir: string): Promise<Tokenizer> {
  const files = new Map<string, string>();
  const vocab = await readModelFile(join(dir, 'vocab.json'));
  const merges = vocab && (await readModelFile(join(dir, 'merges.txt')));
  if (vocab && merges) {
    files.set('vocab.json', vocab.toString('utf8'));
    files.set('merges.txt', merges.toString('utf8'));
  } else {
    const tokenizer = await readModelFile(join(dir, 'tokenizer.json'));
    if (tokenizer) files.set('tokenizer.json', tokenizer.toString('utf8'));
  }
  try {
    return Tokenizer.fromFiles((name) => files.get(name), dir, (name) => join(dir, name));
  } catch (e) {
    throw new ModelError((e as Error).message);
  }
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

/** Finds and checks the ONNX file of the wanted precision (or the first available); every file it needs is checked before anything reads it. */
export async function openModelFolder(dir: string, precision?: Precision): Promise<ModelFolder> {
  const st = await stat(dir).catch(() => null);
  if (!st?.isDirectory()) throw new ModelError(`model folder ${dir} does not exist`);
  const config = await readConfig(dir);
  const present = await Promise.all(TOKENIZER_FILES.map((name) => checkModelDataFile(join(dir, name))));
  if (present[2] === undefined && (present[0] === undefined || present[1] === undefined)) {
    throw new ModelError(`missing model file ${join(dir, 'tokenizer.json')} (or vocab.json + merges.txt)`);
  }
  const found = findOnnxFile(dir, precision);
  if (!found) {
    const first = Object.entries(ONNX_FILES).find(([, p]) => !precision || p === precision)?.[0] ?? 'model.onnx';
    throw new ModelError(`missing model file ${join(dir, 'onnx', first)}`);
  }
  if ((await checkModelDataFile(found.path)) === undefined) throw new ModelError(`missing model file ${found.path}`);
  let graph: OnnxInterface;
  try {
    graph = await readOnnxInterface(found.path);
  } catch (e) {
    if (e instanceof UnreadableFileError || (e as NodeJS.ErrnoException).code) throw new ModelError(modelFileProblem(e, found.path));
    throw new ModelError(`corrupt model file ${found.path}: ${(e as Error).message}`);
  }
  const problems = checkGraph(graph, config, found.path, join(dir, 'config.json'));
  if (problems.length) throw new ModelError(problems.join('; '));
  for (const data of graph.externalData) {
    const path = join(dirname(found.path), data);
    if ((await checkModelDataFile(path)) === undefined) throw new ModelError(`missing model file ${path} (the weights of ${basename(found.path)})`);
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
 */
export function scoredModel(folder: ModelFolder, topK: number): string {
  if (hasScoringHead(folder.graph)) return folder.onnxPath;
  return patchedModel(folder, { kind: 'scored', what: 'the scoring graph', key: String(topK) }, (dest) => writeScoredModel(folder.onnxPath, folder.graph, dest, topK));
}

/** Bumped when the attention graph's patch changes (it names the file), so files an earlier patch wrote are not reused. */
const ATTENTION_GRAPH_VERSION = 1;

/** The path of the model's attention graph (attention-graph.ts; `layout` of its file), written like the scoring graph. */
export function attentionModel(folder: ModelFolder, layout: readonly LayoutPart[]): string {
  const kind = `attention-v${ATTENTION_GRAPH_VERSION}`;
  return patchedModel(folder, { kind, what: 'the attention graph', key: kind }, (dest) => writePatchedModel(folder.onnxPath, layout, dest));
}

/**
 * A patched copy of the model's ONNX file, written once by `write` and reused while the source is unchanged.
 *   Self-contained files go to the cache folder, so a read-only folder imported in place loads.
 *   Files with external data must sit beside their weights (ONNX Runtime resolves them relative
 *   to the .onnx file and refuses paths, symlinks included, that leave its folder): beside the
 *   original when its folder is writable, else in the cache folder with hard links to the weights.
 * Each writer writes its own temporary file and renames it into place, so two engines loading the
 * same model at once never see a half-written file.
 */
function patchedModel(folder: ModelFolder, patch: { kind: string; what: string; key: string }, write: (dest: string) => void): string {
  const src = folder.onnxPath;
  const st = statSync(src);
  const key = createHash('sha256').update(`${src}\0${st.size}\0${st.mtimeMs}\0${patch.key}`).digest('hex').slice(0, 16);
  const places = folder.graph.externalData.length ? [dirname(src), join(scoredModelCacheDir(), key)] : [join(scoredModelCacheDir(), key)];
  const errors: string[] = [];
  for (const place of places) {
    const target = join(place, `.likely-${patch.kind}-${basename(src)}`);
    const made = statSync(target, { throwIfNoEntry: false });
    if (made?.isFile() && made.mtimeMs >= st.mtimeMs && folder.graph.externalData.every((d) => existsSync(join(place, d)))) return target;
    const tmp = `${target}.${process.pid}-${Math.random().toString(36).slice(2)}.tmp`;
    try {
      mkdirSync(place, { recursive: true });
      if (place !== dirname(src)) {
        for (const d of folder.graph.externalData) if (!existsSync(join(place, d))) linkSync(join(dirname(src), d), join(place, d));
      }
      write(tmp);
      renameSync(tmp, target);
      return target;
    } catch (e) {
      rmSync(tmp, { force: true });
      errors.push(`${place}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
  }
  throw new ModelError(
    `cannot write ${patch.what} of ${src} (${errors.join('; ')})` +
      (folder.graph.externalData.length ? '; its folder is read-only and on another disk than the cache: import it with --copy, or set LIKELY_CACHE_DIR to a folder on its disk' : ''),
  );
}
