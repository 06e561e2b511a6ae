/**
 * The only file that imports onnxruntime-node (the Node build's runtime; the browser build's is
 * ort-web.ts). It picks the execution provider, creates sessions and runs them; everything else
 * works with the plain `TensorData` of session.ts.
 */
import * as ort from 'onnxruntime-node';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus, platform } from 'node:os';
import { dirname, join } from 'node:path';

import { wrapSession, type DeviceChoice, type Session } from './session.ts';

export type { DeviceChoice, Session, TensorArray, TensorData, TensorType } from './session.ts';

// onnxruntime's default logger prints warnings and errors to stderr with colour escapes; its
// errors reach callers as exceptions anyway (set before the first session starts the runtime).
ort.env.logLevel = 'fatal';

/** The GPU provider this platform's onnxruntime-node can use, if any. */
function gpuProvider(): string | undefined {
  switch (platform()) {
    case 'linux':
      return 'cuda';
    case 'win32':
      return 'dml';
    case 'darwin':
      return 'coreml';
    default:
      return undefined;
  }
}

function gpuUnavailableReason(provider: string | undefined): string | undefined {
  if (!provider) return `no GPU provider for ${platform()}`;
  const backends = ort.listSupportedBackends?.() ?? [];
  const entry = backends.find((b) => b.name === provider);
  if (!entry && provider !== 'coreml' && provider !== 'dml') return `this onnxruntime-node build has no ${provider} provider`;
  if (provider === 'cuda') {
    // The CUDA provider is a separate library that onnxruntime-node's install script downloads.
    const binDir = join(dirname(createRequire(import.meta.url).resolve('onnxruntime-node')), '..', 'bin', 'napi-v6', 'linux', process.arch);
    if (!existsSync(join(binDir, 'libonnxruntime_providers_cuda.so'))) {
      return 'the CUDA provider is not installed (reinstall onnxruntime-node without ONNXRUNTIME_NODE_INSTALL=skip)';
    }
  }
  return undefined;
}

export async function createSession(model: string | Uint8Array, opts: { device?: DeviceChoice; threads?: number } = {}): Promise<Session> {
  const device = opts.device ?? 'auto';
  const base: ort.InferenceSession.SessionOptions = {
    graphOptimizationLevel: 'all',
    intraOpNumThreads: opts.threads ?? Math.max(1, cpus().length),
    interOpNumThreads: 1,
    executionMode: 'sequential',
    // Fatal only: onnxruntime's own log lines (colour escapes, node names) never reach the user; a
    // failed run still rejects with its message, which the engine reports in its own words.
    logSeverityLevel: 4,
  };
  let fallbackReason: string | undefined = device === 'cpu' ? 'CPU chosen in settings' : undefined;
  if (device !== 'cpu') {
    const provider = gpuProvider();
    fallbackReason = gpuUnavailableReason(provider);
    if (!fallbackReason && provider) {
      try {
        const session = await open(model, { ...base, executionProviders: [provider] });
        return wrap(session, provider, undefined);
      } catch (e) {
        fallbackReason = `${provider} provider failed to start: ${(e as Error).message.split('\n')[0]}`;
        if (device === 'gpu') throw new Error(`GPU requested but ${fallbackReason}`, { cause: e });
      }
    } else if (device === 'gpu') {
      throw new Error(`GPU requested but ${fallbackReason}`);
    }
  }
  const session = await open(model, { ...base, executionProviders: ['cpu'] });
  return wrap(session, 'cpu', fallbackReason);
}

function open(model: string | Uint8Array, options: ort.InferenceSession.SessionOptions) {
  return typeof model === 'string' ? ort.InferenceSession.create(model, options) : ort.InferenceSession.create(model, options);
}

function wrap(session: ort.InferenceSession, device: string, fallbackReason: string | undefined): Session {
  return wrapSession(session, (t) => new ort.Tensor(t.type, t.data, t.dims), device, fallbackReason);
}
