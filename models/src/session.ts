/**
 * What the engine needs from an inference runtime, with no runtime imported: plain tensors in and
 * out, and a session that runs a graph. Each build has one file that imports onnxruntime and
 * implements `CreateSession` (Node: `ort.ts`, onnxruntime-node; browser: `ort-web.ts`,
 * onnxruntime-web), so the engine itself (gpt2.ts, engine.ts, infill.ts) runs unchanged in both.
 */
import type { DeviceChoice } from '../../common/models-api.ts';

export type { DeviceChoice };
export type TensorType = 'float32' | 'float16' | 'int64' | 'bool';
/** bool tensors hold one byte (0 or 1) per element. */
export type TensorArray = Float32Array | Uint16Array | BigInt64Array | Uint8Array;

export interface TensorData {
  type: TensorType;
  data: TensorArray;
  dims: readonly number[];
}

export interface Session {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  /** Element type of each input, e.g. past_key_values.0.key → 'float16'. */
  readonly inputTypes: ReadonlyMap<string, string>;
  /** Execution provider that runs the model: 'cpu', 'cuda', 'dml', 'coreml', 'wasm', 'webgpu'. */
  readonly device: string;
  /** Why a GPU provider was not used, when it was not. */
  readonly fallbackReason?: string;
  run(feeds: Record<string, TensorData>, outputs: readonly string[]): Promise<Record<string, TensorData>>;
  release(): Promise<void>;
}

/** The part of onnxruntime's InferenceSession (onnxruntime-common, shared by the Node and web builds) that `wrapSession` uses. */
export interface RuntimeSession<T> {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  readonly inputMetadata?: readonly ({ readonly name: string; readonly isTensor: true; readonly type: string } | { readonly name: string; readonly isTensor: false })[];
  run(feeds: Record<string, T>, fetches: string[]): Promise<Record<string, { readonly type: string; readonly data: unknown; readonly dims: readonly number[] }>>;
  release(): Promise<void>;
}

/** A runtime's session as the engine's `Session`: `tensor` makes the runtime's own tensor from plain data. */
export function wrapSession<T>(session: RuntimeSession<T>, tensor: (t: TensorData) => T, device: string, fallbackReason: string | undefined): Session {
  const inputTypes = new Map<string, string>();
  for (const meta of session.inputMetadata ?? []) {
    if (meta.isTensor) inputTypes.set(meta.name, meta.type);
  }
  return {
    inputNames: session.inputNames,
    outputNames: session.outputNames,
    inputTypes,
    device,
    fallbackReason,
    async run(feeds, outputs) {
      const runtimeFeeds: Record<string, T> = {};
      for (const [name, t] of Object.entries(feeds)) runtimeFeeds[name] = tensor(t);
      const result = await session.run(runtimeFeeds, outputs as string[]);
      const out: Record<string, TensorData> = {};
      for (const [name, t] of Object.entries(result)) out[name] = { type: t.type as TensorType, data: t.data as TensorArray, dims: t.dims };
      return out;
    },
    release: () => session.release(),
  };
}
