/**
 * What the static build's engine worker does with each message from its page, with no browser in
 * it (engine-worker.ts gives it `self`; tests drive it in Node). The same rules as the local
 * server's WebSocket (server/serve.ts), from the same code: a message that is not a well-formed
 * call (an id that is an object, a number that is no id, an unknown kind) is answered with one
 * line to id -1 (common/rpc.ts); every call is checked by validateEngineCall or
 * validateModelsCall; and the page's engine calls go through an EngineSession
 * (models/src/engine-session.ts), so its versions must increase and a version of 2^53 - 1 cannot
 * push the engine's out of reach.
 */
import { validateEngineCall, type EngineClient } from '../../common/api.ts';
import { MODELS_METHODS, validateModelsCall, type ModelsMethodName } from '../../common/models-api.ts';
import { invalidMessageReply, isCallMessage, isPlainObject, type WireMessage } from '../../common/rpc.ts';
import type { PickedFolder } from '../../common/worker-messages.ts';

/** What the dispatcher needs of the worker's models service (browser-models.ts). */
export interface WorkerModels {
  call(call: { method: ModelsMethodName; params: unknown }): Promise<unknown>;
  picked(folder: PickedFolder<Blob>): void;
  hub: string;
}

const MODELS: ReadonlySet<string> = new Set<string>(MODELS_METHODS);

/** A picked folder as the page sends it: a name and files, each a path and a Blob (a File). */
function isPickedFolder(f: unknown): f is PickedFolder<Blob> {
  return (
    isPlainObject(f) &&
    typeof f.name === 'string' &&
    Array.isArray(f.files) &&
    f.files.every((e: unknown) => isPlainObject(e) && typeof e.path === 'string' && typeof Blob !== 'undefined' && e.file instanceof Blob)
  );
}

/** The worker's message handler: `engine` is the page's EngineSession, `send` posts to the page. */
export function workerDispatch(engine: EngineClient, models: WorkerModels, send: (msg: WireMessage) => void): (msg: unknown) => Promise<void> {
  engine.on('scores', (data) => send({ kind: 'event', event: 'scores', data }));
  engine.on('status', (data) => send({ kind: 'event', event: 'status', data }));
  return async (msg) => {
    if (isPlainObject(msg) && msg.kind === 'picked-folder') {
      if (isPickedFolder(msg.folder)) models.picked(msg.folder);
      else send({ kind: 'result', id: -1, error: 'invalid picked folder: expected { name, files: [{ path, file }] }' });
      return;
    }
    if (isPlainObject(msg) && msg.kind === 'configure') {
      if (typeof msg.hubEndpoint === 'string' && /^https?:\/\/[^/\s]+$/.test(msg.hubEndpoint)) models.hub = msg.hubEndpoint;
      else send({ kind: 'result', id: -1, error: 'invalid hub endpoint: expected http(s)://host[:port]' });
      return;
    }
    if (!isCallMessage(msg)) return send(invalidMessageReply(msg));
    try {
      let result: unknown;
      if (MODELS.has(msg.method)) {
        const call = validateModelsCall(msg.method, msg.params);
        result = await models.call(call);
      } else {
        const call = validateEngineCall(msg.method, msg.params);
        result = await engine.call(call.method, call.params as never);
      }
      send({ kind: 'result', id: msg.id, result: result ?? null });
    } catch (err) {
      send({ kind: 'result', id: msg.id, error: (err as Error).message });
    }
  };
}
