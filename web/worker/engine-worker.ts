/**
 * Entry of the static build's Web Worker: the engine (models/src, the same code as the desktop
 * app) on onnxruntime-web, and the models the page can choose. Speaks WireMessage (common/rpc.ts)
 * with the page over postMessage, and checks every call with validateEngineCall or
 * validateModelsCall before anything acts on it, like every other transport.
 */
import { validateEngineCall } from '../../common/api.ts';
import { MODELS_METHODS, validateModelsCall, type ModelsMethodName } from '../../common/models-api.ts';
import type { WireMessage } from '../../common/rpc.ts';
import type { PageMessage } from '../../common/worker-messages.ts';
import { BrowserModels } from './browser-models.ts';
import { WorkerEngineHost } from './engine-host.ts';

const send = (msg: WireMessage) => self.postMessage(msg);
const host = new WorkerEngineHost((event, data) => send({ kind: 'event', event, data }));
const models = new BrowserModels(host, (event, data) => send({ kind: 'event', event, data }));

self.addEventListener('message', async (e: MessageEvent<WireMessage | PageMessage<File>>) => {
  const msg = e.data;
  if (msg?.kind === 'picked-folder') return models.picked(msg.folder);
  if (msg?.kind === 'configure') {
    if (/^https?:\/\/[^/]+$/.test(msg.hubEndpoint)) models.hub = msg.hubEndpoint;
    return;
  }
  if (msg?.kind !== 'call') return;
  try {
    const result = (MODELS_METHODS as readonly string[]).includes(msg.method)
      ? await models.call(validateModelsCall(msg.method, msg.params) as { method: ModelsMethodName; params: unknown })
      : await host.call(validateEngineCall(msg.method, msg.params));
    send({ kind: 'result', id: msg.id, result });
  } catch (err) {
    send({ kind: 'result', id: msg.id, error: (err as Error).message });
  }
});

void models.start();
