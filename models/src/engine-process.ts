/**
 * Entry point of the engine's own process (node child_process.fork or Electron utilityProcess):
 * onnxruntime blocks the event loop during a run and a native crash must not take the app down.
 * Speaks WireMessage (common/rpc.ts) with its parent and checks every call with validateEngineCall,
 * like every other transport.
 *   args: [--model DIR] [--device auto|gpu|cpu] [--precision fp32|fp16|int8]
 */
import { validateEngineCall } from '../../common/api.ts';
import type { WireMessage } from '../../common/rpc.ts';
import type { Engine } from './engine.ts';
import { handleEngineCall } from './engine-handlers.ts';
import { loadEngine } from './load-from-folder.ts';
import type { Precision } from './model-folder.ts';
import type { DeviceChoice } from './ort.ts';

interface ParentPort {
  postMessage(msg: unknown): void;
  on(event: 'message', fn: (e: { data: unknown }) => void): void;
}

const parentPort = (process as unknown as { parentPort?: ParentPort }).parentPort;
const send = (msg: WireMessage) => (parentPort ? parentPort.postMessage(msg) : process.send?.(msg));
const onMessage = (fn: (msg: unknown) => void) =>
  parentPort ? parentPort.on('message', (e) => fn(e.data)) : process.on('message', (m) => fn(m));

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

async function main() {
  let engine: Engine | null = null;
  let loadError: string | null = null;
  send({ kind: 'event', event: 'status', data: { state: 'loading' } });
  const loading = loadEngine({
    modelDir: arg('model'),
    device: (arg('device') as DeviceChoice | undefined) ?? 'auto',
    precision: arg('precision') as Precision | undefined,
  }).then(
    (e) => {
      engine = e;
      e.on('scores', (data) => send({ kind: 'event', event: 'scores', data }));
      e.on('status', (data) => send({ kind: 'event', event: 'status', data }));
      send({ kind: 'event', event: 'status', data: { state: 'ready', model: e.info } });
    },
    (err: Error) => {
      loadError = err.message;
      send({ kind: 'event', event: 'status', data: { state: 'error', message: `could not load the model: ${err.message}` } });
    },
  );

  onMessage(async (raw) => {
    const msg = raw as WireMessage;
    if (msg?.kind !== 'call') return;
    try {
      const call = validateEngineCall(msg.method, msg.params);
      await loading;
      if (!engine) throw new Error(`no model: ${loadError}`);
      const result = await handleEngineCall(engine, call);
      send({ kind: 'result', id: msg.id, result });
    } catch (e) {
      send({ kind: 'result', id: msg.id, error: (e as Error).message });
    }
  });
}

void main();
