/**
 * The model that comes with the static build: `npm run build:web` copies models/embedded into
 * `model/` beside the page, with `manifest.json` listing its files (web/vite.config.ts). Fetched
 * from the page's own origin, so the editor works with no other network.
 */
import type { ModelFileReader } from '../../models/src/model-files.ts';

/** Where the build puts the model, relative to this worker's script (in `assets/`). */
export const EMBEDDED_MODEL_URL = new URL('../model/', self.location.href);

export interface ModelManifest {
  files: { path: string; bytes: number; sha256: string }[];
}

/** A model's files as the loader (models/src/model-files.ts) reads them. */
export interface FetchedModel {
  read: ModelFileReader;
  /** The ONNX files it holds (paths inside the folder). */
  onnxPaths: string[];
}

/** Fetches every file of the embedded model; `onProgress` gets bytes so far and in total. */
export async function fetchEmbeddedModel(onProgress?: (bytes: number, total: number) => void): Promise<FetchedModel> {
  const res = await fetch(new URL('manifest.json', EMBEDDED_MODEL_URL));
  if (!res.ok) throw new Error(`the embedded model's manifest.json could not be loaded (HTTP ${res.status})`);
  const manifest = (await res.json()) as ModelManifest;
  const total = manifest.files.reduce((n, f) => n + f.bytes, 0);
  let done = 0;
  const files = new Map<string, Uint8Array>();
  for (const f of manifest.files) {
    const r = await fetch(new URL(f.path, EMBEDDED_MODEL_URL));
    if (!r.ok) throw new Error(`missing model file ${f.path} of the embedded model (HTTP ${r.status})`);
    const bytes = new Uint8Array(await r.arrayBuffer());
    if (bytes.length !== f.bytes) throw new Error(`the embedded model's ${f.path} is ${bytes.length} bytes, its manifest says ${f.bytes}`);
    files.set(f.path, bytes);
    done += bytes.length;
    onProgress?.(done, total);
  }
  return inMemoryModel(files);
}

export function inMemoryModel(files: Map<string, Uint8Array>): FetchedModel {
  return { read: async (path) => files.get(path), onnxPaths: [...files.keys()].filter((p) => p.startsWith('onnx/') && p.endsWith('.onnx')) };
}
