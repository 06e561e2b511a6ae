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
import { validateEngineCall, type EngineClient, type EngineEvents, type EngineStatus, type MethodName, type ModelInfo, type ParamsOf, type ResultOf } from '../../common/api.ts';
import { Listeners, PendingCalls, receive, type WireMessage } from '../../common/rpc.ts';
import { EngineSession } from './engine-session.ts';
import type { DeviceChoice } from './ort.ts';

export { EngineSession } from './engine-session.ts';

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

type LoadOutcome = { ok: true; model: ModelInfo } | { ok: false; message: string };
/** How long a replaced process may take to exit before the new one starts anyway. */
const EXIT_WAIT_MS = 5_000;

export class EngineHost implements EngineClient {
  private proc: EngineProcessLike | null = null;
  private readonly pending = new PendingCalls();
  private readonly listeners = new Listeners<EngineEvents>();
  private lastDocument: { version: number; text: string } | null = null;
  /**
   * Updates go to the process one at a time: while one is unanswered (the engine's event loop is
   * blocked in a model run), a newer one waits here and replaces any older one waiting, which
   * resolves as superseded. Without this every keystroke of a flood sat in the pipe's write queue
   * (native memory: ~17 MB per 1,000 updates of an 18 KB text that the process never gave back).
   */
  private updateInFlight = false;
  private queuedUpdate: { params: Record<string, unknown>; settle: (result: Promise<unknown>) => void } | null = null;
  /** Versions handed to sessions (each page's versions map onto these). */
  private lastVersion = 0;
  private closed = false;
  /** Crash times in the last minute (for the backoff). */
  private crashes: number[] = [];
  /** The most recent status, for callers that connect later. */
  status: EngineStatus = { state: 'loading' };
  /** Restarts after a crash so far (a switch is not one). */
  restarts = 0;
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
      if (msg?.kind === 'event' && msg.event === 'status') this.onStatus(proc, msg.data as EngineStatus);
      else receive(msg, this.pending, this.listeners);
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
        this.restarts++;
        this.start();
        this.resendDocument();
      }, delay);
    });
    return proc;
  }

  private onStatus(proc: EngineProcessLike, reported: EngineStatus): void {
    let status = reported;
    if (status.state === 'ready' && this.fallbackNote) {
      status = { ...status, message: this.fallbackNote };
      this.fallbackNote = null;
    }
    this.status = status;
    const waiter = this.loadWaiter;
    if (waiter?.proc === proc && (status.state === 'ready' || status.state === 'error')) {
      this.loadWaiter = null;
      waiter.resolve(status.state === 'ready' && status.model ? { ok: true, model: status.model } : { ok: false, message: status.message ?? 'the model did not load' });
    }
    this.listeners.emit('status', status);
  }

  private rejectPending(message: string): void {
    this.pending.rejectAll(message);
    this.updateInFlight = false;
    const queued = this.queuedUpdate;
    this.queuedUpdate = null;
    queued?.settle(Promise.reject(new Error(message)));
  }

  private resendDocument(): void {
    if (this.lastDocument) this.sendUpdate(this.lastDocument).catch(() => {});
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
    this.listeners.emit('status', status);
  }

  private send(method: MethodName, params: unknown): Promise<unknown> {
    if (!this.proc) return Promise.reject(new Error(this.closed ? 'the engine is closed' : 'the engine is restarting'));
    const { id, result } = this.pending.add();
    this.proc.postMessage({ kind: 'call', id, method, params } satisfies WireMessage);
    return result;
  }

  /** Sends an update now, or queues it behind the one in flight (replacing an older queued one). */
  private sendUpdate(params: Record<string, unknown>): Promise<unknown> {
    if (!this.proc) return this.send('update', params);
    if (this.updateInFlight) {
      this.queuedUpdate?.settle(Promise.resolve(undefined)); // superseded before it was sent
      return new Promise((resolve) => (this.queuedUpdate = { params, settle: resolve }));
    }
    this.updateInFlight = true;
    const sent = this.send('update', params);
    const next = () => {
      this.updateInFlight = false;
      const queued = this.queuedUpdate;
      this.queuedUpdate = null;
      if (queued) queued.settle(this.sendUpdate(queued.params));
    };
    sent.then(next, next);
    return sent;
  }

  /**
   * A call as it comes from a trusted caller (a session, a test). Checked like every transport's
   * calls; an update goes through the one-at-a-time queue and is remembered for a restart.
   */
  call<M extends MethodName>(method: M, params: ParamsOf<M>): Promise<ResultOf<M>> {
    try {
      validateEngineCall(method, params);
    } catch (e) {
      return Promise.reject(e);
    }
    if (method !== 'update') return this.send(method, params) as Promise<ResultOf<M>>;
    const p = params as ParamsOf<'update'>;
    this.lastDocument = { version: p.version, text: p.text };
    this.lastVersion = Math.max(this.lastVersion, p.version);
    return this.sendUpdate(p) as Promise<ResultOf<M>>;
  }

  on<E extends keyof EngineEvents>(event: E, listener: (data: EngineEvents[E]) => void): () => void {
    return this.listeners.on(event, listener);
  }

  /**
   * A client for one page (a WebSocket connection, a window's page load) with versions of its own:
   * the page counts from 1 whatever other pages sent before, its first update is scored from the
   * first token (the page has no scores yet), and it sees only its own versions' scores.
   */
  session(): EngineSession {
    return new EngineSession(this, () => ++this.lastVersion);
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
