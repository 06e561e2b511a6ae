/**
 * The engine inside the Web Worker: one Engine at a time on the model the user chose, its status
 * and scores sent to the page, and a model switch that re-scores the page's current text (like
 * models/src/engine-host.ts does for the engine process). Calls that arrive while a model loads
 * wait for it. The page reaches it through an EngineSession (models/src/engine-session.ts), the
 * same version rule as every other transport: this host sees engine versions only.
 * The runtime comes in as `createSession` (ort-web.ts in the worker), so the host also runs in
 * Node, on onnxruntime-node, for its tests.
 */
import type { EngineEvents, EngineStatus, MethodName, ParamsOf, ResultOf } from '../../common/api.ts';
import type { DeviceChoice } from '../../common/models-api.ts';
import { Listeners } from '../../common/rpc.ts';
import { Engine } from '../../models/src/engine.ts';
import { handleEngineCall } from '../../models/src/engine-handlers.ts';
import type { SessionHost } from '../../models/src/engine-session.ts';
import { openModelFiles } from '../../models/src/model-files.ts';
import type { Session } from '../../models/src/session.ts';
import type { FetchedModel } from './embedded-model.ts';

export interface ModelChoice {
  id: string;
  /** How messages name it: "the embedded model", the folder's name. */
  source: string;
  files: () => Promise<FetchedModel>;
}

/** A runtime's session for a model's bytes (ort-web.ts's createSession in the browser). */
export type CreateSession = (model: Uint8Array, opts: { device: DeviceChoice; externalData: { path: string; data: Uint8Array }[] }) => Promise<Session>;

export class WorkerEngineHost implements SessionHost {
  private engine: Engine | null = null;
  private loading: Promise<Engine> | null = null;
  private loadError: string | null = null;
  /** The page's newest text, sent again to a newly loaded model. */
  private lastUpdate: { version: number; text: string } | null = null;
  private unsubscribe: (() => void)[] = [];
  private readonly listeners = new Listeners<EngineEvents>();
  device: DeviceChoice = 'auto';
  current: ModelChoice | null = null;
  status: EngineStatus = { state: 'loading' };

  constructor(private readonly createSession: CreateSession) {}

  on<E extends keyof EngineEvents>(event: E, listener: (data: EngineEvents[E]) => void): () => void {
    return this.listeners.on(event, listener);
  }

  private emit<E extends keyof EngineEvents>(event: E, data: EngineEvents[E]): void {
    if (event === 'status') this.status = data as EngineStatus;
    this.listeners.emit(event, data);
  }

  /** Loads `choice` on `device`; the engine before it keeps serving until the new one is ready, and stays when it fails. */
  async switchTo(choice: ModelChoice, device: DeviceChoice = this.device): Promise<Engine> {
    const previous = this.engine;
    this.emit('status', { state: 'loading', message: `loading ${choice.source}` });
    const loading = (async () => {
      const model = await choice.files();
      const gpt2 = await openModelFiles(model.read, model.onnxPaths, { id: choice.id, source: choice.source, createSession: (bytes, opts) => this.createSession(bytes, { ...opts, device }) });
      return new Engine(gpt2);
    })();
    this.loading = loading;
    try {
      const engine = await loading;
      this.attach(engine);
      this.current = choice;
      this.device = device;
      this.loadError = null;
      if (previous) await previous.dispose().catch(() => {});
      this.emit('status', { state: 'ready', model: engine.info });
      if (this.lastUpdate) engine.update(this.lastUpdate.version, this.lastUpdate.text, true);
      return engine;
    } catch (e) {
      const message = (e as Error).message;
      if (!previous) {
        this.loadError = message;
        this.emit('status', { state: 'error', message: `could not load the model: ${message}` });
      } else {
        this.emit('status', { state: 'ready', model: previous.info, message: `${choice.source} did not load (${message}); ${previous.info.name} is back` });
      }
      throw e;
    } finally {
      if (this.loading === loading) this.loading = null;
    }
  }

  private attach(engine: Engine): void {
    for (const off of this.unsubscribe) off();
    this.engine = engine;
    this.unsubscribe = [engine.on('scores', (d) => this.emit('scores', d)), engine.on('status', (d: EngineStatus) => this.emit('status', d))];
  }

  get info() {
    return this.engine?.info ?? null;
  }

  /** A call already checked (validateEngineCall) and given engine versions by the page's EngineSession. */
  async call<M extends MethodName>(method: M, params: ParamsOf<M>): Promise<ResultOf<M>> {
    if (method === 'update') {
      const p = params as ParamsOf<'update'>;
      this.lastUpdate = { version: p.version, text: p.text };
    }
    if (this.loading && !this.engine) await this.loading.catch(() => {});
    if (!this.engine) throw new Error(`no model: ${this.loadError ?? 'none loaded yet'}`);
    return (await handleEngineCall(this.engine, { method, params })) as ResultOf<M>;
  }

  async dispose(): Promise<void> {
    for (const off of this.unsubscribe) off();
    await this.engine?.dispose();
    this.engine = null;
  }
}
