/**
 * The Node build's model loader: a model folder on disk (model-folder.ts) opened with
 * onnxruntime-node (ort.ts), its scoring graph written to disk once (onnx-patch.ts). The browser
 * build loads from files in memory instead (model-files.ts); both end in the same GPT2 and Engine.
 */
import { basename } from 'node:path';
import { insertionLayout, planAttentionGraph } from './attention-graph.ts';
import { Engine, type EngineOptions } from './engine.ts';
import { GPT2, GRAPH_TOP_K } from './gpt2.ts';
import { describeModel } from './model-config.ts';
import { attentionModel, loadTokenizer, openModelFolder, scoredModel, type Precision } from './model-folder.ts';
import { readOnnxGraphFile } from './onnx-file.ts';
import { createSession, type DeviceChoice } from './ort.ts';
import { EMBEDDED_MODEL_DIR } from './paths.ts';

export interface FolderOptions {
  device?: DeviceChoice;
  precision?: Precision;
  /** The id the app knows the model by (default: the folder's name). */
  id?: string;
}

export async function loadGPT2(dir: string, opts: FolderOptions = {}): Promise<GPT2> {
  const folder = await openModelFolder(dir, opts.precision);
  const tokenizer = await loadTokenizer(dir);
  const session = await createSession(scoredModel(folder, GRAPH_TOP_K), { device: opts.device });
  const info = describeModel(folder.config, { id: opts.id ?? basename(dir), source: basename(dir), precision: folder.precision, device: session.device, fallbackReason: session.fallbackReason });
  const model = new GPT2(folder.config, tokenizer, session, info);
  // The attention graph is found and written on the first attention request, not at load.
  model.attentionGraph = async () => {
    const plan = planAttentionGraph(await readOnnxGraphFile(folder.onnxPath), folder.config.n_layer, folder.config.n_head);
    if ('unavailable' in plan) return plan;
    return createSession(attentionModel(folder, insertionLayout(folder.graph.size, plan.insertions)), { device: opts.device });
  };
  return model;
}

export interface LoadEngineOptions extends EngineOptions {
  /** Default: the embedded model. */
  modelDir?: string;
  device?: DeviceChoice;
  precision?: Precision;
  modelId?: string;
}

/** An engine on a model folder (the embedded model unless `modelDir` says otherwise). */
export async function loadEngine(opts: LoadEngineOptions = {}): Promise<Engine> {
  const model = await loadGPT2(opts.modelDir ?? EMBEDDED_MODEL_DIR, { device: opts.device, precision: opts.precision, id: opts.modelId });
  return new Engine(model, opts);
}
