/**
 * The app side of the models API (common/models-api.ts: AppModelsMethods), shared by both
 * transports: Electron main (IPC, every window's engine) and the local web server (WebSocket, one
 * engine). It wraps the model manager (models/manager/) and knows which model and device the
 * engines run: listing with sizes, memory and warnings, downloads with progress (pause keeps the
 * partial files, downloading again resumes), import, removal, and switching every engine to
 * another model or device (the open document is re-scored; a model that does not load leaves the
 * previous one running). Plain Node, no Electron.
 */
import type { ModelInfo } from '../../common/api.ts';
import { CallError } from '../../common/rpc.ts';
import {
  type AppModelsEvents,
  type DeviceChoice,
  type DownloadStatus,
  type ModelListEntry,
  type ModelSelection,
  type ModelsMethodName,
  type ModelsParamsOf,
  type ModelsResultOf,
  type ModelsState,
} from '../../common/models-api.ts';
import { ModelManagerError } from '../manager/errors.ts';
import { EMBEDDED_ID, ModelManager, type ModelManagerOptions } from '../manager/manager.ts';
import type { ModelSwitch } from '../src/engine-host.ts';

/** An engine that can be switched (EngineHost, WindowEngine). */
export interface SwitchableEngine {
  switchModel(change: ModelSwitch): Promise<ModelInfo>;
}

export type ModelsEmit = <E extends keyof AppModelsEvents>(event: E, data: AppModelsEvents[E]) => void;

export interface ModelsChoice {
  /** A model id, or null with `modelDir` for a folder that is not in the list (given on the command line). */
  modelId: string | null;
  modelDir: string;
  device: DeviceChoice;
}

export interface ModelsServiceOptions {
  manager?: ModelManagerOptions;
  /** The engines a switch applies to (Electron: every window's; web mode: the one). */
  engines: () => SwitchableEngine[];
  /** The model and device the engines start with (see `initialChoice`). */
  initial: { modelId: string | null; modelDir?: string; device: DeviceChoice };
  /** Pushes an event to every page. */
  emit: ModelsEmit;
  /** Keeps the choice for the next start, after a switch loaded. */
  persist?: (choice: ModelsChoice) => void | Promise<void>;
  /** Electron: importModel without a dir asks with a native folder picker. */
  nativeFolderPicker?: boolean;
}

/** What a call may use from its transport: the folder picker, parented to the asking window. */
export interface CallContext {
  pickFolder?: () => Promise<string | null>;
}

interface RunningDownload extends DownloadStatus {
  promise?: Promise<{ id: string; path: string }>;
}

export class ModelsService {
  readonly manager: ModelManager;
  private selected: string | null;
  private modelDir: string;
  private device: DeviceChoice;
  private readonly downloads = new Map<string, RunningDownload>();
  private switching: ModelsState['switching'];
  private switchError: string | undefined;
  private switchQueue: Promise<unknown> = Promise.resolve();
  /** Set when the saved model could not be used at start (e.g. it was removed); the embedded model runs instead. */
  readonly startProblem: string | undefined;

  constructor(private readonly opts: ModelsServiceOptions) {
    this.manager = new ModelManager({ ...opts.manager, isInUse: (id) => id === this.selected });
    const start = initialChoice(this.manager, opts.initial);
    this.selected = start.modelId;
    this.modelDir = start.modelDir;
    this.device = start.device;
    this.startProblem = start.problem;
  }

  /** What a new engine should load (a new window). */
  engineOptions(): { modelDir: string; device: DeviceChoice } {
    return { modelDir: this.modelDir, device: this.device };
  }

  get choice(): ModelsChoice {
    return { modelId: this.selected, modelDir: this.modelDir, device: this.device };
  }

  state(): ModelsState {
    return {
      models: this.manager.list(),
      selected: this.selected,
      device: this.device,
      modelsDir: this.manager.modelsDir,
      hubEndpoint: this.manager.endpoint,
      downloads: [...this.downloads.values()].map(({ id, state, progress, error, notice }) => ({
        id,
        state,
        ...(progress ? { progress } : {}),
        ...(error ? { error } : {}),
        ...(notice ? { notice } : {}),
      })),
      nativeFolderPicker: this.opts.nativeFolderPicker ?? false,
      ...(this.switching ? { switching: this.switching } : {}),
      ...(this.switchError ? { switchError: this.switchError } : {}),
    };
  }

  private changed(): void {
    this.opts.emit('modelsState', this.state());
  }

  /** Runs a validated call (see validateModelsCall). */
  call<M extends ModelsMethodName>(method: M, params: ModelsParamsOf<M>, ctx: CallContext = {}): Promise<ModelsResultOf<M>> {
    const p = params as Record<string, unknown>;
    const run = async (): Promise<unknown> => {
      switch (method) {
        case 'modelsState':
          return this.state();
        case 'downloadModel':
          return this.download(p.id as string);
        case 'pauseDownload':
          return this.pause(p.id as string);
        case 'importModel':
          return this.importFolder(p as ModelsParamsOf<'importModel'>, ctx);
        case 'removeModel':
          return this.remove(p.id as string);
        case 'selectModel':
          return this.select(p.id as string);
        case 'setDevice':
          return this.setDevice(p.device as DeviceChoice);
      }
      throw new CallError(`unknown models method ${JSON.stringify(method)}`);
    };
    return run() as Promise<ModelsResultOf<M>>;
  }

  /** Downloads (or resumes) a registry model; progress goes to every page. Resolves when installed. */
  download(id: string): Promise<{ id: string; path: string }> {
    const running = this.downloads.get(id);
    if (running?.state === 'running' && running.promise) return running.promise;
    const d: RunningDownload = { id, state: 'running' };
    this.downloads.set(id, d);
    const promise = this.manager
      .download(id, {
        onProgress: (progress) => {
          d.progress = progress;
          this.opts.emit('modelProgress', progress);
        },
        onNotice: (notice) => {
          d.notice = notice;
          this.changed();
        },
      })
      .then(
        (path) => {
          d.state = 'done';
          this.changed();
          return { id, path };
        },
        (e: unknown) => {
          const err = e instanceof ModelManagerError ? e : new ModelManagerError('io', (e as Error).message);
          if (err.code === 'aborted') d.state = 'paused';
          else {
            d.state = 'failed';
            d.error = { code: err.code, message: err.message };
          }
          if (err.code === 'unknown-model' || err.code === 'busy') this.downloads.delete(id);
          this.changed();
          throw err;
        },
      );
    d.promise = promise;
    this.changed();
    return promise;
  }

  pause(id: string): boolean {
    return this.manager.pause(id);
  }

  async importFolder(params: { dir?: string; id?: string; copy?: boolean }, ctx: CallContext): Promise<ModelListEntry | null> {
    let dir = params.dir;
    if (dir === undefined) {
      if (!ctx.pickFolder) throw new CallError('type the path of the model folder to import');
      const picked = await ctx.pickFolder();
      if (picked === null) return null;
      dir = picked;
    }
    const entry = await this.manager.import(dir, { ...(params.id ? { id: params.id } : {}), copy: params.copy ?? false });
    this.changed();
    return entry;
  }

  async remove(id: string): Promise<void> {
    await this.manager.remove(id);
    this.downloads.delete(id);
    this.changed();
  }

  /** Switches every engine to model `id` on the current device. */
  select(id: string): Promise<ModelSelection> {
    return this.enqueue(() => {
      const modelDir = this.manager.resolve(id);
      return this.switchTo({ modelId: id, modelDir, device: this.device });
    });
  }

  /** Restarts every engine on `device` with the current model. */
  setDevice(device: DeviceChoice): Promise<ModelSelection> {
    return this.enqueue(() => this.switchTo({ modelId: this.selected, modelDir: this.modelDir, device }));
  }

  private enqueue<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.switchQueue.then(fn);
    this.switchQueue = run.catch(() => {});
    return run;
  }

  private async switchTo(next: ModelsChoice): Promise<ModelSelection> {
    const previous = this.choice;
    this.switching = { id: next.modelId, device: next.device };
    this.switchError = undefined;
    this.changed();
    const engines = this.opts.engines();
    const results = await Promise.allSettled(engines.map((e) => e.switchModel({ modelDir: next.modelDir, device: next.device })));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) {
      // Engines that did load the new model go back too, so every window runs the same one.
      await Promise.allSettled(engines.filter((_, i) => results[i]!.status === 'fulfilled').map((e) => e.switchModel({ modelDir: previous.modelDir, device: previous.device })));
      this.switching = undefined;
      this.switchError = String((failed.reason as Error)?.message ?? failed.reason);
      this.changed();
      throw new Error(this.switchError);
    }
    this.selected = next.modelId;
    this.modelDir = next.modelDir;
    this.device = next.device;
    this.switching = undefined;
    try {
      await this.opts.persist?.(this.choice);
    } finally {
      this.changed();
    }
    const info = results.length ? (results[0] as PromiseFulfilledResult<ModelInfo>).value : null;
    return {
      selected: this.selected,
      device: this.device,
      model: info && { name: info.name, precision: info.precision, device: info.device, ...(info.fallbackReason ? { fallbackReason: info.fallbackReason } : {}) },
    };
  }

  /** Pauses every running download (the app is closing; the partial files stay for next time). */
  pauseAll(): void {
    for (const d of this.downloads.values()) if (d.state === 'running') this.manager.pause(d.id);
  }
}

/**
 * The model and device to start with: a saved model id that still resolves, else a saved folder
 * that is not a known id (kept as it is), else the embedded model (with the reason when a saved
 * choice could not be used).
 */
export function initialChoice(
  manager: ModelManager,
  saved: { modelId: string | null; modelDir?: string; device: DeviceChoice },
): ModelsChoice & { problem?: string } {
  if (saved.modelId) {
    try {
      return { modelId: saved.modelId, modelDir: manager.resolve(saved.modelId), device: saved.device };
    } catch (e) {
      return { modelId: EMBEDDED_ID, modelDir: manager.resolve(EMBEDDED_ID), device: saved.device, problem: `${(e as Error).message}; using the embedded model` };
    }
  }
  if (saved.modelDir) {
    const known = manager.list().find((m) => m.installed && m.path === saved.modelDir);
    return { modelId: known?.id ?? null, modelDir: saved.modelDir, device: saved.device };
  }
  return { modelId: EMBEDDED_ID, modelDir: manager.resolve(EMBEDDED_ID), device: saved.device };
}
