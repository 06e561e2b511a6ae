/**
 * Entry of the static build's Web Worker: the engine (models/src, the same code as the desktop
 * app) on onnxruntime-web, and the models the page can choose. Speaks WireMessage (common/rpc.ts)
 * with the page over postMessage; what it does with each message is worker-dispatch.ts (checked
 * like every other transport's calls, the page's versions through an EngineSession).
 */
import type { WireMessage } from '../../common/rpc.ts';
import { EngineSession } from '../../models/src/engine-session.ts';
import { createSession } from '../../models/src/ort-web.ts';
import { BrowserModels } from './browser-models.ts';
import { WorkerEngineHost } from './engine-host.ts';
import { workerDispatch } from './worker-dispatch.ts';

const send = (msg: WireMessage) => self.postMessage(msg);
const host = new WorkerEngineHost(createSession);
const models = new BrowserModels(host, (event, data) => send({ kind: 'event', event, data }));
let engineVersion = 0;
const handle = workerDispatch(new EngineSession(host, () => ++engineVersion), models, send);

self.addEventListener('message', (e: MessageEvent<unknown>) => void handle(e.data));

void models.start();
