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
