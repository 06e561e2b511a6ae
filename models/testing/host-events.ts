import type { EngineEvents } from '../../common/api.ts';
import type { EngineHost } from '../src/engine-host.ts';

/** Resolves with the first `event` from the host that satisfies `pred`; rejects after `ms`. */
export function nextEvent<T>(host: EngineHost, event: keyof EngineEvents, pred: (d: T) => boolean, ms = 60_000): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${event}`)), ms);
    const off = host.on(event, (d) => {
      if (pred(d as T)) {
        clearTimeout(timer);
        off();
        resolve(d as T);
      }
    });
  });
}
