/**
 * The one RPC vocabulary every service speaks, whatever carries it (Electron IPC, the engine's
 * process pipe, the web server's WebSocket): a client `call`s a method and gets a promise of its
 * result, and `listen`s to events the service pushes (VS Code's `IChannel {call, listen}`).
 * `EngineClient` (api.ts) and `ModelsClient` (models-api.ts) are instances of `RpcClient`.
 * Environment-neutral: no Node, no DOM, no imports.
 */

/** A service's methods: each takes one JSON-able parameter object and returns a JSON-able result. */
export type RpcParams<Methods, M extends keyof Methods> = Methods[M] extends (params: infer P) => unknown ? P : never;
export type RpcResult<Methods, M extends keyof Methods> = Methods[M] extends (...args: never[]) => infer R ? R : never;

export interface RpcClient<Methods, Events> {
  call<M extends keyof Methods & string>(method: M, params: RpcParams<Methods, M>): Promise<RpcResult<Methods, M>>;
  on<E extends keyof Events & string>(event: E, listener: (data: Events[E]) => void): () => void;
}

/** What goes over every transport: a call, its result (or one-line error), or a pushed event. */
export type WireMessage =
  | { kind: 'call'; id: number; method: string; params: unknown }
  | { kind: 'result'; id: number; result?: unknown; error?: string }
  | { kind: 'event'; event: string; data: unknown };

/** A call whose method or parameters are not acceptable; `message` is one line naming the method. */
export class CallError extends Error {
  override name = 'CallError';
}

/** Calls sent and not yet answered, by id. Each transport has one; nothing else counts ids. */
export class PendingCalls {
  private nextId = 1;
  private readonly calls = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();

  /** A new call's id and the promise of its answer (a time limit is the caller's: `settle` the id when it passes). */
  add<T = unknown>(): { id: number; result: Promise<T> } {
    const id = this.nextId++;
    const result = new Promise<T>((resolve, reject) => this.calls.set(id, { resolve: resolve as (v: unknown) => void, reject }));
    return { id, result };
  }

  /** Settles call `id` with a result message; false when no such call is waiting (answered, timed out, or never sent). */
  settle(msg: { id: number; result?: unknown; error?: string }): boolean {
    const entry = this.calls.get(msg.id);
    if (!entry) return false;
    this.calls.delete(msg.id);
    if (msg.error !== undefined) entry.reject(new Error(msg.error));
    else entry.resolve(msg.result);
    return true;
  }

  /** Fails every waiting call with `message` (the connection or process is gone). */
  rejectAll(message: string): void {
    for (const id of [...this.calls.keys()]) this.settle({ id, error: message });
  }

  get size(): number {
    return this.calls.size;
  }
}

/** Event listeners by event name; `on` returns the function that removes the listener. */
export class Listeners<Events> {
  private readonly byEvent = new Map<keyof Events, Set<(data: never) => void>>();

  on<E extends keyof Events>(event: E, listener: (data: Events[E]) => void): () => void {
    if (typeof listener !== 'function') throw new TypeError('listener must be a function');
    let set = this.byEvent.get(event);
    if (!set) this.byEvent.set(event, (set = new Set()));
    set.add(listener);
    return () => void set.delete(listener);
  }

  emit<E extends keyof Events>(event: E, data: Events[E]): void {
    for (const l of [...(this.byEvent.get(event) ?? [])]) (l as (data: Events[E]) => void)(data);
  }
}

export const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * A service's call checker from one check per method (a one-line problem, or null): unknown
 * methods, non-object parameters and each problem throw CallError("invalid parameters for M: …").
 */
export function callValidator<M extends string>(service: string, checks: Record<M, (params: Record<string, unknown>) => string | null>) {
  return (method: unknown, params: unknown): { method: M; params: Record<string, unknown> } => {
    if (typeof method !== 'string' || !Object.hasOwn(checks, method)) throw new CallError(`unknown ${service} method ${JSON.stringify(method)}`);
    const m = method as M;
    const p = params === undefined ? {} : params;
    if (!isPlainObject(p)) throw new CallError(`invalid parameters for ${m}: expected an object`);
    const problem = checks[m](p);
    if (problem) throw new CallError(`invalid parameters for ${m}: ${problem}`);
    return { method: m, params: p };
  };
}

type CallMessage = Extract<WireMessage, { kind: 'call' }>;

/**
 * Whether a message from a page is a well-formed call: kind "call", an id that is a safe integer
 * (an object or a huge number is no id to answer to), a method name. Every transport that takes a
 * page's calls checks with it (the local server's WebSocket, the static build's worker).
 */
export function isCallMessage(msg: unknown): msg is CallMessage {
  return isPlainObject(msg) && msg.kind === 'call' && Number.isSafeInteger(msg.id) && typeof msg.method === 'string';
}

/** The answer to a message that is not a well-formed call: an error, to its id when that is one, else to id -1. */
export function invalidMessageReply(msg: unknown): Extract<WireMessage, { kind: 'result' }> {
  const id = isPlainObject(msg) && Number.isSafeInteger(msg.id) ? (msg.id as number) : -1;
  return { kind: 'result', id, error: 'invalid message: expected {kind:"call", id, method, params}' };
}

/** Routes an incoming result or event message to `pending` and `listeners`; anything else is ignored. */
export function receive<Events>(msg: unknown, pending: PendingCalls, listeners: Listeners<Events>): void {
  const m = msg as WireMessage | null;
  if (m?.kind === 'result') pending.settle(m);
  else if (m?.kind === 'event') listeners.emit(m.event as keyof Events, m.data as Events[keyof Events]);
}
