/**
 * Lets the event loop run between model steps, so a newer document version (a message from the
 * page or the parent process) can arrive and cancel the rest of the work. Node has setImmediate;
 * a Web Worker has none, and a zero setTimeout there is clamped to 4 ms once nested, so it uses a
 * MessageChannel, which runs right after pending messages without that delay.
 */
interface Channel {
  port1: { onmessage: ((e: unknown) => void) | null };
  port2: { postMessage(message: unknown): void };
}

const scope = globalThis as unknown as { setImmediate?: (fn: () => void) => unknown; MessageChannel: new () => Channel };
let channel: Channel | null = null;
const queued: (() => void)[] = [];

export function yieldToEventLoop(): Promise<void> {
  const immediate = scope.setImmediate;
  if (immediate) return new Promise((resolve) => immediate(resolve));
  if (!channel) {
    channel = new scope.MessageChannel();
    channel.port1.onmessage = () => queued.shift()?.();
  }
  const ch = channel;
  return new Promise((resolve) => {
    queued.push(resolve);
    ch.port2.postMessage(null);
  });
}
