/**
 * The browser build's only import of onnxruntime (onnxruntime-web; the Node build's is ort.ts): it
 * runs the model in the Web Worker that hosts the engine. WebGPU where the browser offers an
 * adapter (falling back to WebAssembly when it fails to start), else WebAssembly with SIMD, using
 * threads when the page is cross-origin isolated (SharedArrayBuffer exists only then). Everything
 * else works with the plain `TensorData` of session.ts, like on Node.
 */
import * as ort from 'onnxruntime-web';
import ortLoaderUrl from 'onnxruntime-web/ort-wasm-simd-threaded.jsep.mjs?url';
import ortWasmUrl from 'onnxruntime-web/ort-wasm-simd-threaded.jsep.wasm?url';
import { wrapSession, type DeviceChoice, type Session } from './session.ts';

export interface WebSessionOptions {
  device?: DeviceChoice;
  /** Files the graph keeps its weights in (onnx/model.onnx_data), by the name the graph uses. */
  externalData?: { path: string; data: Uint8Array }[];
  /** WebAssembly threads (default: wasmThreads()). */
  threads?: number;
}

interface WorkerScope {
  crossOriginIsolated?: boolean;
  navigator?: { hardwareConcurrency?: number; gpu?: { requestAdapter(): Promise<unknown> } };
}

const scope = globalThis as WorkerScope;

/**
 * WebAssembly threads for a session: 1 unless the page is cross-origin isolated; then the cores the
 * browser reports less one, left to the page's own thread (typing, drawing), at most 4. On 2 cores
 * a second thread made scoring slower, not faster: 1,024 tokens took 2.7 s with two threads and
 * 1.6 s with one (`npm run bench:web`), the threads and the page competing for the same cores.
 */
export function wasmThreads(): number {
  if (!scope.crossOriginIsolated) return 1;
  return Math.max(1, Math.min(4, (scope.navigator?.hardwareConcurrency ?? 1) - 1));
}

async function webGpuUnavailableReason(): Promise<string | undefined> {
  const gpu = scope.navigator?.gpu;
  if (!gpu) return 'this browser has no WebGPU';
  try {
    return (await gpu.requestAdapter()) ? undefined : 'this browser offers no WebGPU adapter';
  } catch (e) {
    return `WebGPU failed: ${(e as Error).message}`;
  }
}

export async function createSession(model: Uint8Array, opts: WebSessionOptions = {}): Promise<Session> {
  const device = opts.device ?? 'auto';
  ort.env.wasm.numThreads = opts.threads ?? wasmThreads();
  // onnxruntime's WebAssembly and its loader (.mjs) are separate files of the build, not bundled
  // into the worker: with threads the loader starts its helper workers from its own URL, which
  // bundled would be the engine worker's script.
  ort.env.wasm.wasmPaths = { mjs: ortLoaderUrl, wasm: ortWasmUrl };
  ort.env.logLevel = 'fatal';
  const base: ort.InferenceSession.SessionOptions = {
    graphOptimizationLevel: 'all',
    executionMode: 'sequential',
    // Fatal only: onnxruntime's own log lines (colour escapes, node names) never reach the user; a
    // failed run still rejects with its message, which the engine reports in its own words.
    logSeverityLevel: 4,
    ...(opts.externalData?.length ? { externalData: opts.externalData } : {}),
  };
  let fallbackReason: string | undefined = device === 'cpu' ? 'CPU chosen in settings' : undefined;
  if (device !== 'cpu') {
    fallbackReason = await webGpuUnavailableReason();
    if (!fallbackReason) {
      try {
        return wrap(await ort.InferenceSession.create(model, { ...base, executionProviders: ['webgpu'] }), 'webgpu', undefined);
      } catch (e) {
        fallbackReason = `WebGPU failed to start: ${(e as Error).message.split('\n')[0]}`;
      }
    }
    if (device === 'gpu') throw new Error(`GPU requested but ${fallbackReason}`);
  }
  return wrap(await ort.InferenceSession.create(model, { ...base, executionProviders: ['wasm'] }), 'wasm', fallbackReason);
}

function wrap(session: ort.InferenceSession, device: string, fallbackReason: string | undefined): Session {
  return wrapSession(session, (t) => new ort.Tensor(t.type, t.data, t.dims), device, fallbackReason);
}
