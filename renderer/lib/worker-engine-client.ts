/**
 * EngineClient over a Web Worker that runs the engine in this tab (the static build,
 * `npm run build:web`): WireMessage (common/rpc.ts) over postMessage, the same vocabulary as the
 * Electron bridge and the WebSocket. The models API comes over the same worker (`models`); its
 * importModel without a folder opens a folder picker here in the page and hands the picked files
 * to the worker first, since File objects cannot travel as JSON.
 */
import type { EngineClient, EngineEvents, MethodName, ParamsOf, ResultOf } from '../../common/api.ts';
import type { AppModelsEvents, ModelsClient, ModelsMethodName, ModelsParamsOf, ModelsResultOf } from '../../common/models-api.ts';
import { Listeners, PendingCalls, receive, type WireMessage } from '../../common/rpc.ts';
import type { PageMessage } from '../../common/worker-messages.ts';

/** The part of a Worker this client uses (a MessagePort or a test double would do). */
export interface WorkerLike {
  postMessage(message: unknown): void;
  addEventListener(type: 'message', listener: (e: MessageEvent) => void): void;
  addEventListener(type: 'error', listener: (e: ErrorEvent) => void): void;
}

export class WorkerEngineClient implements EngineClient {
  private readonly pending = new PendingCalls();
  private readonly listeners = new Listeners<EngineEvents & AppModelsEvents>();
  readonly models: ModelsClient = {
    call: <M extends ModelsMethodName>(method: M, params: ModelsParamsOf<M>) => this.modelsCall(method, params) as Promise<ModelsResultOf<M>>,
    on: (event, listener) => this.listeners.on(event, listener),
  };

  constructor(
    private readonly worker: WorkerLike,
    private readonly pickFolder: () => Promise<PageMessage<File> & { kind: 'picked-folder' } | null> = pickModelFolder,
  ) {
    worker.addEventListener('message', (e: MessageEvent) => receive(e.data, this.pending, this.listeners));
    worker.addEventListener('error', (e: ErrorEvent) => {
      // The worker's script failed (a browser without WebAssembly, a broken build): say so instead of waiting forever.
      this.pending.rejectAll(`the engine worker failed: ${e.message}`);
      this.listeners.emit('status', { state: 'error', message: `The engine could not start in this tab: ${e.message || 'its script failed to load'}` });
    });
  }

  private request(method: MethodName | ModelsMethodName, params: unknown): Promise<unknown> {
    const { id, result } = this.pending.add();
    this.worker.postMessage({ kind: 'call', id, method, params } satisfies WireMessage);
    return result;
  }

  private async modelsCall(method: ModelsMethodName, params: unknown): Promise<unknown> {
    if (method === 'importModel' && !(params as { dir?: string }).dir) {
      const picked = await this.pickFolder();
      if (!picked) return null;
      this.worker.postMessage(picked);
    }
    return this.request(method, params);
  }

  call<M extends MethodName>(method: M, params: ParamsOf<M>): Promise<ResultOf<M>> {
    return this.request(method, params) as Promise<ResultOf<M>>;
  }

  on<E extends keyof EngineEvents>(event: E, listener: (data: EngineEvents[E]) => void): () => void {
    return this.listeners.on(event, listener);
  }

  /** Tells the worker which hub to download from (tests run a local one). */
  configureHub(hubEndpoint: string): void {
    this.worker.postMessage({ kind: 'configure', hubEndpoint } satisfies PageMessage<File>);
  }
}

/**
 * Asks the user for a model folder with `<input type=file webkitdirectory>` (every browser has it;
 * the folder's files arrive with their paths). Null when the user cancels.
 */
export function pickModelFolder(): Promise<(PageMessage<File> & { kind: 'picked-folder' }) | null> {
  return new Promise((resolve) => {
    const input = document.createElement('input');
    input.type = 'file';
    input.webkitdirectory = true;
    input.hidden = true;
    input.dataset.role = 'model-folder-picker';
    const done = (value: (PageMessage<File> & { kind: 'picked-folder' }) | null) => {
      input.remove();
      resolve(value);
    };
    input.addEventListener('cancel', () => done(null));
    input.addEventListener('change', () => {
      const files = [...(input.files ?? [])];
      if (!files.length) return done(null);
      // webkitRelativePath is "<folder>/<path inside it>".
      const name = files[0]!.webkitRelativePath.split('/')[0] || 'model';
      done({ kind: 'picked-folder', folder: { name, files: files.map((file) => ({ path: file.webkitRelativePath.split('/').slice(1).join('/'), file })) } });
    });
    document.body.append(input);
    input.click();
  });
}
