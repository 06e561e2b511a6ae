/**
 * What each engine call does, once for every host of an Engine: the engine's own process
 * (engine-process.ts) and the browser's Web Worker (web/worker/engine-worker.ts). Calls reach this
 * table only after `validateEngineCall` (common/api.ts) has checked them.
 */
import type { EngineMethods, MethodName } from '../../common/api.ts';
import type { Engine } from './engine.ts';

type Handlers = { [M in MethodName]: (e: Engine, p: Parameters<EngineMethods[M]>[0]) => unknown };

const handlers: Handlers = {
  update: (e, p) => e.update(p.version, p.text, p.fresh === true),
  topK: (e, p) => e.topK(p.version, p.index, p.k),
  predictions: (e, p) => e.predictions(p.version, p.from, p.to, p.k),
  infill: (e, p) => e.infill(p),
  suggestSpan: (e, p) => e.suggestSpan(p.version, p.index),
  attention: (e, p) => e.attention(p),
  modelInfo: (e) => e.info,
};

/** Runs a validated call on `engine`; resolves with its JSON-able result. */
export async function handleEngineCall(engine: Engine, call: { method: MethodName; params: unknown }): Promise<unknown> {
  return (handlers[call.method] as (e: Engine, p: unknown) => unknown)(engine, call.params);
}
