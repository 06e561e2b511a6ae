/**
 * Runs the engine in its own process and implements EngineClient over it. If the process dies
 * (native crash, out of memory, killed), pending calls fail with a clear error, the status says
 * 'restarting', a fresh process starts, and the current document is sent again, so callers see a
 * status, never a hang.
 */
import { fork } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { EngineClient, EngineEvents, EngineStatus, MethodName, ParamsOf, ResultOf, WireMessage } from '../../common/api.ts';
import type { DeviceChoice } from './ort.ts';

export interface EngineProcessLike {
  postMessage(msg: unknown): void;
  on(event: 'message', fn: (msg: unknown) => void): void;
  on(event: 'exit', fn: (code: number | null) => void): void;
  kill(): void;
}

export type SpawnFn = (entry: string, args: string[]) => EngineProcessLike;

export interface EngineHostOptions {
  modelDir?: string;
  device?: DeviceChoice;
  precision?: string;
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

  constructor(private readonly opts: EngineHostOptions = {}) {
    this.start();
  }

  private start(): void {
    const args: string[] = [];
    if (this.opts.modelDir) args.push('--model', this.opts.modelDir);
    if (this.opts.device) args.push('--device', this.opts.device);
    if (this.opts.precision) args.push('--precision', this.opts.precision);
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
        if (msg.event === 'status') this.status = msg.data as EngineStatus;
        for (const l of this.listeners.get(msg.event) ?? []) l(msg.data);
      }
    });
    proc.on('exit', (code) => {
      if (this.proc !== proc) return;
      this.proc = null;
      for (const p of this.pending.values()) p.reject(new Error('the engine process stopped; it is restarting'));
      this.pending.clear();
      if (this.closed) return;
      const now = Date.now();
      this.crashes = [...this.crashes.filter((t) => now - t < 60_000), now];
      const delay = Math.min(5_000, 100 * 2 ** (this.crashes.length - 1));
      this.setStatus({ state: 'restarting', message: `the engine stopped (${code === -1 ? 'killed' : `exit code ${code}`}); restarting` });
      setTimeout(() => {
        if (this.closed) return;
        this.restarts.push(Date.now());
        this.start();
        if (this.lastDocument) this.send('update', this.lastDocument).catch(() => {});
      }, delay);
    });
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
    this.proc?.kill();
    this.proc = null;
  }
}
