/**
 * What the static build's page sends its engine worker besides WireMessage calls (common/rpc.ts):
 * what JSON cannot carry or is not a call. Environment-neutral, so the file type is a parameter
 * (the page and the worker both use the browser's `File`).
 *   picked-folder: a model folder the user picked from disk, sent right before the importModel
 *     call that imports it (postMessage keeps their order).
 *   configure: the hub to download models from (a test's local hub; huggingface.co by default).
 */
export interface PickedFolder<F> {
  /** The folder's own name. */
  name: string;
  /** Its files by path inside it ("config.json", "onnx/model.onnx"). */
  files: { path: string; file: F }[];
}

export type PageMessage<F> = { kind: 'picked-folder'; folder: PickedFolder<F> } | { kind: 'configure'; hubEndpoint: string };

/** Where the page keeps a hub endpoint other than huggingface.co (set by tests). */
export const HUB_ENDPOINT_KEY = 'likely:hub-endpoint';
