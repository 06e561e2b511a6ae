/**
 * One page's view of an engine, the one version rule of every transport that carries a page's
 * calls: the local server's WebSocket and Electron's windows (EngineHost.session(), engine-host.ts)
 * and the static build's Web Worker (web/worker/engine-worker.ts). Environment-neutral (no Node),
 * so the browser runs the same code.
 */
import { validateEngineCall, type EngineClient, type EngineEvents, type EngineStatus, type MethodName, type ParamsOf, type ResultOf, type ScoreUpdate } from '../../common/api.ts';
import { CallError, Listeners } from '../../common/rpc.ts';

/** What a session needs of the engine under it: calls with engine versions, its events and status (EngineHost, the worker's host). */
export interface SessionHost {
  readonly status: EngineStatus;
  call<M extends MethodName>(method: M, params: ParamsOf<M>): Promise<ResultOf<M>>;
  on<E extends keyof EngineEvents>(event: E, listener: (data: EngineEvents[E]) => void): () => void;
}

/** How many of a page's recent versions a session can still map (calls name the newest ones). */
const SESSION_VERSIONS = 64;

/**
 * One page's view of an engine (EngineHost, or the Web Worker's). Page versions must be safe integers that increase; each update
 * gets the next engine version, and calls and events are mapped between the two, so no page can
 * push the engine's versions out of reach of another (a version of 2^53 - 1 from one tab used to
 * wedge every later one).
 */
export class EngineSession implements EngineClient {
  /** [page version, engine version] of recent updates, oldest first. */
  private readonly versions: [number, number][] = [];
  private readonly offs: (() => void)[] = [];
  private readonly listeners = new Listeners<EngineEvents>();
  private closed = false;

  constructor(
    private readonly host: SessionHost,
    private readonly nextVersion: () => number,
  ) {
    this.offs.push(
      host.on('status', (s) => this.listeners.emit('status', s)),
      host.on('scores', (u) => {
        const page = this.versions.find(([, engine]) => engine === u.version)?.[0];
        if (page !== undefined) this.listeners.emit('scores', { ...u, version: page } satisfies ScoreUpdate);
      }),
    );
  }

  get status(): EngineStatus {
    return this.host.status;
  }

  call<M extends MethodName>(method: M, params: ParamsOf<M>): Promise<ResultOf<M>> {
    try {
      if (this.closed) throw new Error('this page was disconnected from the engine');
      const call = validateEngineCall(method, params);
      if (!('version' in call.params)) return this.host.call(method, params);
      const version = call.params.version as number;
      const last = this.versions.at(-1)?.[0];
      if (method === 'update') {
        if (last !== undefined && version <= last) throw new CallError(`invalid parameters for update: version must be greater than the last one (${last})`);
        const engine = this.nextVersion();
        this.versions.push([version, engine]);
        if (this.versions.length > SESSION_VERSIONS) this.versions.shift();
        return this.host.call('update', { version: engine, text: call.params.text as string, fresh: last === undefined || call.params.fresh === true }) as Promise<ResultOf<M>>;
      }
      const engine = this.versions.find(([page]) => page === version)?.[1];
      if (engine === undefined) throw new CallError(`version ${version} is not a recent version of this page's document`);
      return this.host.call(method, { ...call.params, version: engine } as ParamsOf<M>);
    } catch (e) {
      return Promise.reject(e);
    }
  }

  on<E extends keyof EngineEvents>(event: E, listener: (data: EngineEvents[E]) => void): () => void {
    return this.listeners.on(event, listener);
  }

  /** Stops forwarding events; later calls fail. */
  close(): void {
    this.closed = true;
    for (const off of this.offs.splice(0)) off();
  }
}
