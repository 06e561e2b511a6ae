/**
 * Runs the engine in its own process and implements EngineClient over it. If the process dies
 * (native crash, out of memory, killed), pending calls fail with a clear error, the status says
 * 'restarting', a fresh process starts, and the current document is sent again, so callers see a
 * status, never a hang.
 *
 * `switchModel` changes the model folder or the device at runtime: the process is replaced by one
 * with the new options (the old one exits first, so two large models never share the memory) and
 * the current document is sent again, so it is re-scored under the new model. If the new options
 * do not load (a broken folder, a GPU that is not there, a crash while loading), the error status
 * says why and the previous options come back, so the writer keeps working.
 */
import { fork } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { EngineClient, EngineEvents, EngineStatus, MethodName, ModelInfo, ParamsOf, ResultOf, WireMessage } from '../../common/api.ts';
import type { DeviceChoice } from './ort.ts';

export interface EngineProcessLike {
  postMessage(msg: unknown): void;
  on(event: 'message', fn: (msg: unknown) => void): void;
  on(event: 'exit', fn: (code: number | null) => void): void;
  kill(): void;
}

export type SpawnFn = (entry: string, args: string[]) => EngineProcessLike;

/** What the engine process loads: the model folder (default: the embedded model), device, precision. */
export interface EngineModelOptions {
  modelDir?: string;
  device?: DeviceChoice;
  precision?: string;
}

/**
 * A change of model for `switchModel`. A `modelDir` key (even undefined: the embedded model)
 * replaces the folder and resets the precision to `precision` (undefined: what the folder has);
 * without it the folder and precision stay. `device` replaces the device when given.
 */
export interface ModelSwitch {
  modelDir?: string;
  device?: DeviceChoice;
  precision?: string;
}

/** A switch that did not load; the engine is back on `restored` (when that loaded again). */
export class ModelSwitchError extends Error {
  constructor(
    message: string,
    readonly restored?: ModelInfo,
  ) {
    super(message);
  }
}

export interface EngineHostOptions extends EngineModelOptions {
  /** Default: node child_process.fork (TS entries run through tsx). Electron passes utilityProcess. */
  spawn?: SpawnFn;
  /** Path of the engine process entry; default: engine-process.ts beside this file (or .js when built). */
  entry?: string;
  /** Extra environment for the default spawn (tests). */
  env?: NodeJS.ProcessEnv;
}

const here = dirname(fileURLToPath(import.meta.url));
export const ENGINE_ENTRY = join(here, import.meta.url.endsWith('.ts') ? 'engine-process.ts' : 'engine-process.js');

export function forkSpawn(env?: NodeJS.ProcessEnv): SpawnFn {
  return (entry, args) => {
    const child = fork(entry, args, {
      execArgv: entry.endsWith('.ts') ? ['--import', 'tsx'] : [],
      serialization: 'advanced',
      env: { ...process.env, ...env },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    return {
      postMessage: (msg) => {
        if (child.connected) child.send(msg as object);
      },
      on: (event: 'message' | 'exit', fn: (arg: never) => void) => {
        if (event === 'message') child.on('message', fn as (m: unknown) => void);
        else child.on('exit', (code, signal) => (fn as (c: number | null) => void)(code ?? (signal ? -1 : null)));
      },
      kill: () => child.kill('SIGKILL'),
    } as EngineProcessLike;
  };
}

type Listener = (data: unknown) => void;
type LoadOutcome = { ok: true; model: ModelInfo } | { ok: false; message: string };
/** How long a replaced process may take to exit before the new one starts anyway. */
const EXIT_WAIT_MS = 5_000;

export class EngineHost implements EngineClient {
  private proc: EngineProcessLike | null = null;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private readonly listeners = new Map<keyof EngineEvents, Set<Listener>>();
  private lastDocument: { version: number; text: string } | null = null;
  private closed = false;
  private crashes: number[] = [];
  /** The most recent status, for callers that connect later. */
  status: EngineStatus = { state: 'loading' };
  readonly restarts: number[] = [];
  /** What the running (or starting) process loads. */
  private model: EngineModelOptions;
  private restartTimer: ReturnType<typeof setTimeout> | null = null;
  /** Set while a switch waits for its process to load (or fail). */
  private loadWaiter: { proc: EngineProcessLike; resolve: (o: LoadOutcome) => void } | null = null;
  /** Added to the next 'ready' status: why the previous model is back. */
  private fallbackNote: string | null = null;
  private switchQueue: Promise<unknown> = Promise.resolve();

  constructor(private readonly opts: EngineHostOptions = {}) {
    this.model = { modelDir: opts.modelDir, device: opts.device, precision: opts.precision };
    this.start();
  }

  /** The model folder, device and precision the engine runs with now. */
  get modelOptions(): EngineModelOptions {
    return { ...this.model };
  }

  private start(): EngineProcessLike {
    const args: string[] = [];
    if (this.model.modelDir) args.push('--model', this.model.modelDir);
    if (this.model.device) args.push('--device', this.model.device);
    if (this.model.precision) args.push('--precision', this.model.precision);
    const spawn = this.opts.spawn ?? forkSpawn(this.opts.env);
    const proc = spawn(this.opts.entry ?? ENGINE_ENTRY, args);
    this.proc = proc;
    proc.on('message', (raw) => {
      if (this.proc !== proc) return;
      const msg = raw as WireMessage;
      if (msg.kind === 'result') {
        const p = this.pending.get(msg.id);
        if (!p) return;
        this.pending.delete(msg.id);
        if (msg.error !== undefined) p.reject(new Error(msg.error));
        else p.resolve(msg.result);
      } else if (msg.kind === 'event') {
        let data = msg.data;
        if (msg.event === 'status') {
          let status = data as EngineStatus;
          if (status.state === 'ready' && this.fallbackNote) {
            status = { ...status, message: this.fallbackNote };
            this.fallbackNote = null;
          }
          this.status = data = status;
          const waiter = this.loadWaiter;
          if (waiter?.proc === proc && (status.state === 'ready' || status.state === 'error')) {
            this.loadWaiter = null;
            waiter.resolve(status.state === 'ready' && status.model ? { ok: true, model: status.model } : { ok: false, message: status.message ?? 'the model did not load' });
          }
        }
        for (const l of this.listeners.get(msg.event) ?? []) l(data);
      }
    });
    proc.on('exit', (code) => {
      if (this.proc !== proc) return;
      this.proc = null;
      const how = code === -1 ? 'killed' : `exit code ${code}`;
      const waiter = this.loadWaiter;
      if (waiter?.proc === proc) {
        // A switch is loading this process: the switch decides what runs next.
        this.rejectPending('the engine process stopped while loading the model');
        this.loadWaiter = null;
        waiter.resolve({ ok: false, message: `the engine process stopped while loading the model (${how})` });
        return;
      }
      this.rejectPending('the engine process stopped; it is restarting');
      if (this.closed) return;
      const now = Date.now();
      this.crashes = [...this.crashes.filter((t) => now - t < 60_000), now];
      const delay = Math.min(5_000, 100 * 2 ** (this.crashes.length - 1));
      this.setStatus({ state: 'restarting', message: `the engine stopped (${how}); restarting` });
      this.restartTimer = setTimeout(() => {
        this.restartTimer = null;
        if (this.closed) return;
        this.restarts.push(Date.now());
        this.start();
        this.resendDocument();
      }, delay);
    });
    return proc;
  }

  private rejectPending(message: string): void {
    for (const p of this.pending.values()) p.reject(new Error(message));
    this.pending.clear();
  }

  private resendDocument(): void {
    if (this.lastDocument) this.send('update', this.lastDocument).catch(() => {});
  }

  /**
   * Restarts the engine with another model folder and/or device and re-scores the current
   * document under it. Resolves with the new model's info once it has loaded (status goes
   * loading → ready with that model; its scores follow as events). When the new options do not
   * load, the status says why ('error'), the previous options are restored (loading → ready, its
   * message naming what failed) and the promise rejects with a ModelSwitchError. Switches run one
   * after another, in the order they were asked for.
   */
  switchModel(change: ModelSwitch): Promise<ModelInfo> {
    const run = this.switchQueue.then(() => this.doSwitch(change));
    this.switchQueue = run.catch(() => {});
    return run;
  }

  private async doSwitch(change: ModelSwitch): Promise<ModelInfo> {
    if (this.closed) throw new ModelSwitchError('the engine is closed');
    const previous = this.model;
    const newFolder = Object.hasOwn(change, 'modelDir');
    const next: EngineModelOptions = {
      modelDir: newFolder ? change.modelDir : previous.modelDir,
      device: change.device ?? previous.device,
      precision: newFolder || Object.hasOwn(change, 'precision') ? change.precision : previous.precision,
    };
    const what = describeOptions(next);
    this.model = next;
    const loaded = await this.replaceProcess(`loading ${what}`);
    if (loaded.ok) return loaded.model;

    const reason = loaded.message.replace(/^could not load the model: /, '');
    if (this.status.state !== 'error') this.setStatus({ state: 'error', message: `could not load ${what}: ${reason}` });
    if (this.closed) throw new ModelSwitchError(`could not load ${what}: ${reason}`);
    this.model = previous;
    this.fallbackNote = `could not load ${what} (${reason}); back to ${describeOptions(previous)}`;
    const back = await this.replaceProcess(`going back to ${describeOptions(previous)}`);
    this.fallbackNote = null;
    throw new ModelSwitchError(`could not load ${what}: ${reason}`, back.ok ? back.model : undefined);
  }

  /** Stops the running process, waits for it to exit, starts one with `this.model` and waits for it to load. */
  private async replaceProcess(message: string): Promise<LoadOutcome> {
    if (this.restartTimer) {
      clearTimeout(this.restartTimer);
      this.restartTimer = null;
    }
    const old = this.proc;
    this.proc = null;
    this.rejectPending('the engine is switching models');
    this.setStatus({ state: 'loading', message });
    if (old) {
      const exited = new Promise<void>((resolve) => {
        old.on('exit', () => resolve());
        setTimeout(resolve, EXIT_WAIT_MS).unref?.();
      });
      old.kill();
      await exited;
    }
    if (this.closed) return { ok: false, message: 'the engine is closed' };
    const proc = this.start();
    const outcome = new Promise<LoadOutcome>((resolve) => (this.loadWaiter = { proc, resolve }));
    this.resendDocument();
    return outcome;
  }

  private setStatus(status: EngineStatus): void {
    this.status = status;
    for (const l of this.listeners.get('status') ?? []) l(status);
  }

  private send(method: MethodName, params: unknown): Promise<unknown> {
    return new Promise((resolve, reject) => {
      if (!this.proc) return reject(new Error(this.closed ? 'the engine is closed' : 'the engine is restarting'));
      const id = this.nextId++;
      this.pending.set(id, { resolve, reject });
      this.proc.postMessage({ kind: 'call', id, method, params } satisfies WireMessage);
    });
  }

  call<M extends MethodName>(method: M, params: ParamsOf<M>): Promise<ResultOf<M>> {
    if (method === 'update') this.lastDocument = params as ParamsOf<'update'>;
    return this.send(method, params) as Promise<ResultOf<M>>;
  }

  on<E extends keyof EngineEvents>(event: E, listener: (data: EngineEvents[E]) => void): () => void {
    let set = this.listeners.get(event);
    if (!set) this.listeners.set(event, (set = new Set()));
    set.add(listener as Listener);
    return () => set.delete(listener as Listener);
  }

  /** Kills the engine process (tests and "restart engine" in the app); it comes back by itself. */
  kill(): void {
    this.proc?.kill();
  }

  close(): void {
    this.closed = true;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.restartTimer = null;
    this.proc?.kill();
    this.proc = null;
    const waiter = this.loadWaiter;
    this.loadWaiter = null;
    waiter?.resolve({ ok: false, message: 'the engine is closed' });
  }
}

function describeOptions(o: EngineModelOptions): string {
  const model = o.modelDir ? `the model in ${o.modelDir}` : 'the embedded model';
  const on = o.device === 'cpu' ? ' on the CPU' : o.device === 'gpu' ? ' on the GPU' : '';
  return `${model}${o.precision ? ` (${o.precision})` : ''}${on}`;
}
