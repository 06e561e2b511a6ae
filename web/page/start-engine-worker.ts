/**
 * The static build's first module: starts the engine's Web Worker and hands it to the renderer as
 * `window.likelyEngineWorker` before the renderer's entry runs (web/page/main.ts imports this first),
 * so renderer/lib/engine-client.ts picks the worker transport.
 */
import { HUB_ENDPOINT_KEY } from '../../common/worker-messages.ts';
import { WorkerEngineClient } from '../../renderer/lib/worker-engine-client.ts';

const worker = new Worker(new URL('../worker/engine-worker.ts', import.meta.url), { type: 'module', name: 'likely-engine' });
const client = new WorkerEngineClient(worker);
try {
  const hub = localStorage.getItem(HUB_ENDPOINT_KEY);
  if (hub) client.configureHub(hub);
} catch {
  // No storage (private mode): the default hub.
}
window.likelyEngineWorker = client;
