/**
 * The preload script (sandboxed, context-isolated; bundled to dist/electron/preload.cjs). Exposes
 * exactly three objects to the page and never `ipcRenderer` itself:
 *   window.likelyEngine: EngineClient (common/api.ts), the same shape as the WebSocket client;
 *   window.likelyShell:  LikelyShell (common/shell.ts), the document, file and menu bridge;
 *   window.likelyModels: ModelsClient (common/models-api.ts), the Models panel's API.
 * Each function forwards to one fixed channel; main validates the sender and the arguments.
 */
import { contextBridge, ipcRenderer, webUtils } from 'electron';
import type { EngineClient, EngineEvents, MethodName, ParamsOf, ResultOf } from '../common/api.ts';
import type { AppModelsEvents, ModelsClient, ModelsMethodName, ModelsParamsOf, ModelsResultOf } from '../common/models-api.ts';
import { Listeners } from '../common/rpc.ts';
import { CHANNELS, type ExportReply, type LikelyShell, type ShellCommand, type ShellEvents } from '../common/shell.ts';

/** invoke() rejects with "Error invoking remote method 'x': Error: <message>"; the page gets <message>. */
function cleanError(e: unknown): Error {
  return new Error(String((e as Error)?.message ?? e).replace(/^Error invoking remote method '[^']*': (\w*Error: )?/, ''));
}

function invoke<T>(channel: string, ...args: unknown[]): Promise<T> {
  return ipcRenderer.invoke(channel, ...args).catch((e: unknown) => {
    throw cleanError(e);
  }) as Promise<T>;
}

/** Listeners for one pushed channel whose messages are `{ event, data }`. */
function eventChannel<Events>(channel: string): Listeners<Events>['on'] {
  const listeners = new Listeners<Events>();
  ipcRenderer.on(channel, (_e, msg: { event: keyof Events; data: Events[keyof Events] }) => listeners.emit(msg.event, msg.data));
  return (event, listener) => listeners.on(event, listener);
}

const onEngine = eventChannel<EngineEvents>(CHANNELS.engineEvent);
const onShell = eventChannel<ShellEvents>(CHANNELS.shellEvent);
const onModels = eventChannel<AppModelsEvents>(CHANNELS.modelsEvent);
// A page just loaded (first load or reload): its engine versions start over.
ipcRenderer.send(CHANNELS.enginePage);

const likelyEngine: EngineClient = {
  call<M extends MethodName>(method: M, params: ParamsOf<M>): Promise<ResultOf<M>> {
    return invoke<ResultOf<M>>(CHANNELS.engineCall, method, params);
  },
  on(event, listener) {
    const off = onEngine(event, listener);
    if (event === 'status') {
      // A late subscriber gets the current status at once (the engine may have been ready for a while).
      let active = true;
      invoke<EngineEvents['status']>(CHANNELS.engineStatus).then(
        (status) => active && (listener as (s: EngineEvents['status']) => void)(status),
        () => {},
      );
      return () => {
        active = false;
        off();
      };
    }
    return off;
  },
};

const likelyShell: LikelyShell = {
  ready: () => invoke(CHANNELS.shellReady),
  edited: () => ipcRenderer.send(CHANNELS.shellEdited),
  provideContent: (requestId: number, text: string) => ipcRenderer.send(CHANNELS.shellContent, requestId, text),
  provideExport: (requestId: number, reply: ExportReply) => ipcRenderer.send(CHANNELS.shellExport, requestId, reply),
  command: (command: ShellCommand) => invoke(CHANNELS.shellCommand, command),
  openDroppedFile: async (file: unknown) => {
    const path = webUtils.getPathForFile(file as Parameters<typeof webUtils.getPathForFile>[0]);
    if (!path) throw new Error('only files from the disk can be opened');
    await invoke(CHANNELS.shellOpenPath, path);
  },
  on: onShell,
};

const likelyModels: ModelsClient = {
  call<M extends ModelsMethodName>(method: M, params: ModelsParamsOf<M>): Promise<ModelsResultOf<M>> {
    return invoke<ModelsResultOf<M>>(CHANNELS.modelsCall, method, params);
  },
  on: onModels,
};

contextBridge.exposeInMainWorld('likelyEngine', likelyEngine);
contextBridge.exposeInMainWorld('likelyModels', likelyModels);
contextBridge.exposeInMainWorld('likelyShell', likelyShell);
