/**
 * Opens a GPT-2 model from its files in memory (the browser's path: the embedded model fetched with
 * the page, a folder the user picked, a download kept in the browser's storage), with the same
 * checks and messages as a folder on disk (model-config.ts) and the scoring head appended to the
 * bytes in memory (scoring-head.ts). The runtime comes in as `createSession`, so this file imports
 * none (ort-web.ts is the browser's).
 */
import { planAttentionGraph, withAttentionOutputs } from './attention-graph.ts';
import { GPT2, GRAPH_TOP_K } from './gpt2.ts';
import { humanSize } from '../../common/limits.ts';
import { checkGraph, describeModel, ModelError, MODEL_FILE_MAX_BYTES, ONNX_FILES, parseConfig, type Precision } from './model-config.ts';
import { bytesSource, readOnnxGraph, readOnnxInterfaceFrom } from './onnx-graph.ts';
import { hasScoringHead, withScoringHead } from './scoring-head.ts';
import type { Session } from './session.ts';
import { Tokenizer } from './tokenizer.ts';

/**
 * A model folder's files by their path inside it ("config.json", "onnx/model.onnx"); undefined
 * when absent. `maxBytes`, for the small files, is the most the file may hold: a reader refuses a
 * larger one before reading it (a ModelError naming it), and the loader checks what it got too.
 */
export type ModelFileReader = (path: string, maxBytes?: number) => Promise<Uint8Array | undefined>;

export type SessionFactory = (model: Uint8Array, opts: { externalData: { path: string; data: Uint8Array }[] }) => Promise<Session>;

export interface ModelFilesOptions {
  id: string;
  /** How errors and the fallback name call the folder ("the embedded model", the picked folder's name). */
  source: string;
  precision?: Precision;
  createSession: SessionFactory;
}

const text = new TextDecoder();

/** The ONNX file a folder of these paths would load (the same preference as on disk), or null. */
export function pickOnnxFile(paths: Iterable<string>, precision?: Precision): { path: string; precision: Precision } | null {
  const have = new Set(paths);
  for (const [name, p] of Object.entries(ONNX_FILES)) {
    if (precision && p !== precision) continue;
    if (have.has(`onnx/${name}`)) return { path: `onnx/${name}`, precision: p };
  }
  return null;
}

export async function openModelFiles(read: ModelFileReader, onnxPaths: Iterable<string>, opts: ModelFilesOptions): Promise<GPT2> {
  const where = (path: string) => `${opts.source}/${path}`;
  const readSmall = async (path: string) => {
    const max = MODEL_FILE_MAX_BYTES[path] ?? 1024 * 1024;
    const bytes = await read(path, max);
    if (bytes && bytes.length > max) throw new ModelError(`${where(path)} is ${humanSize(bytes.length)}; a ${path} is at most ${humanSize(max)}`);
    return bytes;
  };
  const configBytes = await readSmall('config.json');
  if (!configBytes) throw new ModelError(`missing model file ${where('config.json')}`);
  let raw: unknown;
  try {
    raw = JSON.parse(text.decode(configBytes));
  } catch (e) {
    throw new ModelError(`corrupt model file ${where('config.json')}: ${(e as Error).message}`);
  }
  const config = parseConfig(raw, where('config.json'));
  const tokenizerFiles = new Map<string, string>();
  for (const name of ['vocab.json', 'merges.txt', 'tokenizer.json']) {
    const bytes = await readSmall(name);
    if (bytes) tokenizerFiles.set(name, text.decode(bytes));
  }
  let tokenizer: Tokenizer;
  try {
    tokenizer = Tokenizer.fromFiles((name) => tokenizerFiles.get(name), opts.source, where);
  } catch (e) {
    throw new ModelError((e as Error).message);
  }
  const found = pickOnnxFile(onnxPaths, opts.precision);
  if (!found) throw new ModelError(`missing model file ${where('onnx/model.onnx')}`);
  const onnx = await read(found.path);
  if (!onnx) throw new ModelError(`missing model file ${where(found.path)}`);
  let graph;
  try {
    graph = await readOnnxInterfaceFrom(bytesSource(onnx));
  } catch (e) {
    throw new ModelError(`corrupt model file ${where(found.path)}: ${(e as Error).message}`);
  }
  const problems = checkGraph(graph, config, where(found.path), where('config.json'));
  if (problems.length) throw new ModelError(problems.join('; '));
  const readExternalData = async () => {
    const externalData: { path: string; data: Uint8Array }[] = [];
    for (const name of graph.externalData) {
      const data = await read(`onnx/${name}`);
      if (!data) throw new ModelError(`missing model file ${where(`onnx/${name}`)} (the weights of ${found.path})`);
      externalData.push({ path: name, data });
    }
    return externalData;
  };
  // One copy of the graph with the head; the original bytes can be collected once it is made.
  const model = hasScoringHead(graph) ? onnx : withScoringHead(onnx, graph, GRAPH_TOP_K);
  const session = await opts.createSession(model, { externalData: await readExternalData() });
  const info = describeModel(config, { id: opts.id, source: opts.source, precision: found.precision, device: session.device, fallbackReason: session.fallbackReason });
  const gpt2 = new GPT2(config, tokenizer, session, info);
  // Read again on the first attention request, so no copy of the model is held until then.
  gpt2.attentionGraph = async () => {
    const bytes = await read(found.path);
    if (!bytes) throw new ModelError(`missing model file ${where(found.path)}`);
    const plan = planAttentionGraph(await readOnnxGraph(bytesSource(bytes)), config.n_layer, config.n_head);
    if ('unavailable' in plan) return plan;
    return opts.createSession(withAttentionOutputs(bytes, plan), { externalData: await readExternalData() });
  };
  return gpt2;
}
