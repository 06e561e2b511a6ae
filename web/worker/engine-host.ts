/**
 * The engine inside the Web Worker: one Engine at a time on the model the user chose, its status
 * and scores sent to the page, and a model switch that re-scores the page's current text (like
 * models/src/engine-host.ts does for the engine process). Calls that arrive while a model loads
 * wait for it.
 */
import type { EngineEvents, EngineStatus, MethodName } from '../../common/api.ts';
import type { DeviceChoice } from '../../common/models-api.ts';
import { Engine } from '../../models/src/engine.ts';
import { handleEngineCall } from '../../models/src/engine-handlers.ts';
import { openModelFiles } from '../../models/src/model-files.ts';
import { createSession } from '../../models/src/ort-web.ts';
import type { FetchedModel } from './embedded-model.ts';

export interface ModelChoice {
  id: string;
  /** How messages name it: "the embedded model", the folder's name. */
  source: string;
  files: () => Promise<FetchedModel>;
}

type Emit = <E extends keyof EngineEvents>(event: E, data: EngineEvents[E]) => void;

export class WorkerEngineHost {
  private engine: Engine | null = null;
  private loading: Promise<Engine> | null = null;
  private loadError: string | null = null;
  /** The page's newest text, sent again to a newly loaded model. */
  private lastUpdate: { version: number; text: string } | null = null;
  private unsubscribe: (() => void)[] = [];
  device: DeviceChoice = 'auto';
  current: ModelChoice | null = null;

  constructor(private readonly emit: Emit) {}

  /** Loads `choice` on `device`; the engine before it keeps serving until the new one is ready, and stays when it fails. */
  async switchTo(choice: ModelChoice, device: DeviceChoice = this.device): Promise<Engine> {
    const previous = this.engine;
    this.emit('status', { state: 'loading', message: `loading ${choice.source}` });
    const loading = (async () => {
      const model = await choice.files();
      const gpt2 = await openModelFiles(model.read, model.onnxPaths, { id: choice.id, source: choice.source, createSession: (bytes, opts) => createSession(bytes, { ...opts, device }) });
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

  async call(call: { method: MethodName; params: unknown }): Promise<unknown> {
    if (call.method === 'update') {
      const p = call.params as { version: number; text: string };
      this.lastUpdate = { version: p.version, text: p.text };
    }
    if (this.loading && !this.engine) await this.loading.catch(() => {});
    if (!this.engine) throw new Error(`no model: ${this.loadError ?? 'none loaded yet'}`);
    return handleEngineCall(this.engine, call);
  }
}
