import type { EngineClient, EngineEvents } from '../../common/api.ts';

/** Resolves with the first `event` from the host (or one of its page sessions) that satisfies `pred`; rejects after `ms`. */
export function nextEvent<T>(host: Pick<EngineClient, 'on'>, event: keyof EngineEvents, pred: (d: T) => boolean, ms = 60_000): Promise<T> {
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
