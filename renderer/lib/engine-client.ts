/**
 * The renderer's engine client: the Electron preload bridge (`window.likelyEngine`) when present,
 * the engine in a Web Worker of this tab when the static build started one
 * (`window.likelyEngineWorker`, worker-engine-client.ts), else a WebSocket to the local web server
 * that served this page (`npm run serve`). All implement `EngineClient` from common/api.ts, so
 * nothing else in the renderer knows which one it talks to. The models API (common/models-api.ts:
 * `ModelsClient`) comes the same ways: the preload's `window.likelyModels`, the worker's
 * (`WorkerEngineClient.models`), or the same WebSocket (`WebSocketEngineClient.models`).
 */
import type { EngineClient, EngineEvents, EngineStatus, MethodName, ParamsOf, ResultOf } from '../../common/api.ts';
import type { AppModelsEvents, ModelsClient, ModelsMethodName, ModelsParamsOf, ModelsResultOf } from '../../common/models-api.ts';
import { Listeners, PendingCalls, receive, type WireMessage } from '../../common/rpc.ts';
import { WorkerEngineClient } from './worker-engine-client.ts';

declare global {
  interface Window {
    likelyEngine?: EngineClient;
    likelyModels?: ModelsClient;
    /** The static build's engine worker, started by its page entry (web/page/start-engine-worker.ts) before this code runs. */
    likelyEngineWorker?: WorkerEngineClient;
  }
}

type OutgoingCall = Extract<WireMessage, { kind: 'call' }>;

/** Close code the server uses when another tab took over the engine. */
export const CLOSE_REPLACED = 4000;
const MAX_BACKOFF_MS = 5000;

/** EngineClient over a WebSocket speaking WireMessage; reconnects after a lost connection. */
export class WebSocketEngineClient implements EngineClient {
  private socket: WebSocket | null = null;
  private readonly pending = new PendingCalls();
  private readonly listeners = new Listeners<EngineEvents & AppModelsEvents>();
  /** Calls made while connecting; updates are coalesced to the newest. */
  private queue: OutgoingCall[] = [];
  /** The models API over the same socket (the server routes by method name). */
  readonly models: ModelsClient = {
    call: <M extends ModelsMethodName>(method: M, params: ModelsParamsOf<M>) => this.request(method, params) as Promise<ModelsResultOf<M>>,
    on: (event, listener) => this.listeners.on(event, listener),
  };
  private backoff = 250;
  private stopped = false;

  constructor(private readonly url: string) {
    this.connect();
  }

  private connect(): void {
    const socket = new WebSocket(this.url);
    this.socket = socket;
    socket.onopen = () => {
      this.backoff = 250;
      const queued = this.queue;
      this.queue = [];
      for (const msg of queued) socket.send(JSON.stringify(msg));
    };
    socket.onmessage = (e) => {
      try {
        receive(JSON.parse(String(e.data)), this.pending, this.listeners);
      } catch {
        // Not JSON: not from our server.
      }
    };
    socket.onclose = (e) => {
      if (this.socket !== socket) return;
      this.socket = null;
      this.pending.rejectAll('lost the connection to the engine');
      if (this.stopped) return;
      if (e.code === CLOSE_REPLACED) {
        this.stopped = true;
        this.emitStatus({ state: 'error', message: e.reason || 'The editor was opened in another tab; this one is disconnected.' });
        return;
      }
      this.emitStatus({ state: 'restarting', message: 'Lost the connection to the engine server; reconnecting…' });
      setTimeout(() => this.stopped || this.connect(), this.backoff);
      this.backoff = Math.min(MAX_BACKOFF_MS, this.backoff * 2);
    };
  }

  private emitStatus(status: EngineStatus): void {
    this.listeners.emit('status', status);
  }

  call<M extends MethodName>(method: M, params: ParamsOf<M>): Promise<ResultOf<M>> {
    return this.request(method, params) as Promise<ResultOf<M>>;
  }

  private request(method: MethodName | ModelsMethodName, params: unknown): Promise<unknown> {
    if (this.stopped) return Promise.reject(new Error('disconnected from the engine'));
    const { id, result } = this.pending.add();
    const msg: OutgoingCall = { kind: 'call', id, method, params };
    if (this.socket?.readyState === WebSocket.OPEN) this.socket.send(JSON.stringify(msg));
    else {
      if (method === 'update') {
        // Only the newest text matters; older queued updates resolve as superseded.
        this.queue = this.queue.filter((m) => m.method !== 'update' || !this.pending.settle({ id: m.id }));
      }
      this.queue.push(msg);
    }
    return result;
  }

  on<E extends keyof EngineEvents>(event: E, listener: (data: EngineEvents[E]) => void): () => void {
    return this.listeners.on(event, listener);
  }

  close(): void {
    this.stopped = true;
    this.socket?.close();
  }
}

/** The models API of this page: the Electron bridge, the WebSocket of `engine`, or null when neither offers one. */
export function connectModels(engine: EngineClient, win: Window = window): ModelsClient | null {
  if (win.likelyModels) return win.likelyModels;
  return engine instanceof WebSocketEngineClient || engine instanceof WorkerEngineClient ? engine.models : null;
}

export type Transport = 'electron' | 'websocket' | 'worker';

/** The engine of this page: the Electron bridge when the preload exposed one, the static build's worker, else the local server's WebSocket. */
export function connectEngine(win: Window = window): { client: EngineClient; transport: Transport } {
  if (win.likelyEngine) return { client: win.likelyEngine, transport: 'electron' };
  if (win.likelyEngineWorker) return { client: win.likelyEngineWorker, transport: 'worker' };
  const scheme = win.location.protocol === 'https:' ? 'wss:' : 'ws:';
  return { client: new WebSocketEngineClient(`${scheme}//${win.location.host}/engine`), transport: 'websocket' };
}
