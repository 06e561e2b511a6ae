/**
 * The scoring engine: keeps per-token log-probs, ranks, entropies and top-k predictions current
 * as the document changes.
 *
 * update(version, text) tokenizes, keeps the scores of the unchanged prefix, and recomputes from
 * the first changed token, reusing the KV cache of the unchanged prefix and the cached results of
 * windows whose tokens did not change (models/src/windows.ts). Results stream as ScoreUpdate
 * chunks in token order, starting at the edit. A newer version cancels older work between steps.
 */
import type { AttentionResult, EngineEvents, InfillResult, ModelInfo, Prediction, ScoreUpdate, TokenScore } from '../../common/api.ts';
import { perplexity } from '../../common/api.ts';
import { AttentionView, DEFAULT_ATTENTION_K } from './attention.ts';
import { gatherCache, GRAPH_TOP_K, TOP_K, type GPT2, type KVCache } from './gpt2.ts';
import { computePrefixContext, infill, type InfillOptions, type PrefixContext } from './infill.ts';
import { EOT, type Encoding } from './tokenizer.ts';
import { firstContextChange, planWindows, windowInput, type Window } from './windows.ts';
import { yieldToEventLoop } from './yield.ts';

/** Most positions fed to the model in one run while streaming (bounds latency of cancellation). */
export const STEP_TOKENS = 256;
const KV_CACHE_ENTRIES = 2;
const WINDOW_CACHE_ENTRIES = 512;
/** Longest cached prefix infill reuses (leaves room for candidate + suffix in 1,024 positions). */
const MAX_REUSED_PREFIX = 768;

/** How the engine works; where its model comes from is the loader's (load-from-folder.ts, model-files.ts). */
export interface EngineOptions {
  stepTokens?: number;
  /** Reuse KV caches and window results (default true; off gives a from-scratch reference). */
  caching?: boolean;
  /** How long the attention graph's session stays open without a request (attention.ts ATTENTION_IDLE_MS). */
  attentionIdleMs?: number;
}

/** Scores of one version of the document, as flat arrays (a 20,000-token document is ~2 MB). */
export class DocScores {
  readonly logprob: Float32Array;
  readonly rank: Int32Array;
  readonly entropy: Float32Array;
  readonly topIds: Int32Array;
  readonly topLogprobs: Float32Array;
  /** Tokens [0, scored) have scores. */
  scored = 0;

  /** How the document is split into the model's context (planned once per version: process and scoreFrom both need it). */
  readonly windows: readonly Window[];

  constructor(
    readonly version: number,
    readonly text: string,
    readonly enc: Encoding,
    contextLength: number,
  ) {
    this.windows = planWindows(enc.ids, contextLength);
    const n = enc.ids.length;
    this.logprob = new Float32Array(n);
    this.rank = new Int32Array(n);
    this.entropy = new Float32Array(n);
    this.topIds = new Int32Array(n * TOP_K);
    this.topLogprobs = new Float32Array(n * TOP_K);
  }

  get length(): number {
    return this.enc.ids.length;
  }

  copyFrom(src: WindowScores | DocScores, srcFrom: number, dstFrom: number, count: number): void {
    this.logprob.set(src.logprob.subarray(srcFrom, srcFrom + count), dstFrom);
    this.rank.set(src.rank.subarray(srcFrom, srcFrom + count), dstFrom);
    this.entropy.set(src.entropy.subarray(srcFrom, srcFrom + count), dstFrom);
    this.topIds.set(src.topIds.subarray(srcFrom * TOP_K, (srcFrom + count) * TOP_K), dstFrom * TOP_K);
    this.topLogprobs.set(src.topLogprobs.subarray(srcFrom * TOP_K, (srcFrom + count) * TOP_K), dstFrom * TOP_K);
  }

  token(i: number): TokenScore {
    const start = this.enc.starts[i]!;
    const end = this.enc.ends[i]!;
    return { id: this.enc.ids[i]!, text: this.text.slice(start, end), start, end, logprob: this.logprob[i]!, rank: this.rank[i]!, entropy: this.entropy[i]! };
  }

  tokens(from = 0, to = this.scored): TokenScore[] {
    const out: TokenScore[] = [];
    for (let i = from; i < to; i++) out.push(this.token(i));
    return out;
  }
}

/** Results of one window's scored tokens, cached by the window's input ids. */
interface WindowScores {
  logprob: Float32Array;
  rank: Int32Array;
  entropy: Float32Array;
  topIds: Int32Array;
  topLogprobs: Float32Array;
}

/**
 * A KV cache and which of its slots hold which input positions. Replacing the end of a document
 * (typing into the last word) leaves stale slots behind as holes that the attention mask hides,
 * instead of copying the whole cache to cut them off; holes are compacted when they pile up.
 */
interface KVEntry {
  /** Document position of input[0] (the window's start c). */
  start: number;
  input: Int32Array;
  /** slots[j]: the cache slot of input position j (increasing). */
  slots: Int32Array;
  cache: KVCache;
}

/** Stale slots tolerated before the cache is compacted. */
const MAX_HOLES = 64;

type Listener<E extends keyof EngineEvents> = (data: EngineEvents[E]) => void;

export class Engine {
  private doc: DocScores | null = null;
  private pending: { version: number; text: string } | null = null;
  private latestVersion = -Infinity;
  private running: Promise<void> | null = null;
  private readonly kvCache: KVEntry[] = [];
  private readonly windowCache = new Map<string, WindowScores>();
  private readonly listeners: { [E in keyof EngineEvents]: Set<Listener<E>> } = { scores: new Set(), status: new Set() };
  private readonly waiters = new Set<() => void>();
  private readonly stepTokens: number;
  private readonly caching: boolean;
  /** The attention view (attention.ts), made on the first attention request. */
  private attentionView: AttentionView | null = null;
  private readonly attentionIdleMs: number | undefined;

  constructor(
    readonly model: GPT2,
    opts: EngineOptions = {},
  ) {
    this.stepTokens = opts.stepTokens ?? STEP_TOKENS;
    this.caching = opts.caching ?? true;
    this.attentionIdleMs = opts.attentionIdleMs;
  }

  get info(): ModelInfo {
    return this.model.info;
  }

  get current(): DocScores | null {
    return this.doc;
  }

  on<E extends keyof EngineEvents>(event: E, listener: Listener<E>): () => void {
    this.listeners[event].add(listener);
    return () => this.listeners[event].delete(listener);
  }

  private emit<E extends keyof EngineEvents>(event: E, data: EngineEvents[E]): void {
    for (const l of this.listeners[event]) l(data);
  }

  /**
   * Schedules scoring of a new version; an older or equal version than the newest seen is ignored.
   * `fresh`: the caller has no scores of earlier versions (a new page), so none are kept.
   */
  update(version: number, text: string, fresh = false): void {
    if (!(version > this.latestVersion)) return;
    if (typeof text !== 'string') throw new TypeError('text must be a string');
    this.latestVersion = version;
    if (fresh) this.doc = null;
    this.pending = { version, text };
    if (!this.running) this.running = this.drain();
  }

  /** Resolves when every scheduled version has been processed (or superseded). */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  private async drain(): Promise<void> {
    try {
      while (this.pending) {
        const job = this.pending;
        this.pending = null;
        this.emit('status', { state: 'scoring', model: this.info });
        try {
          await this.process(job.version, job.text);
        } catch (e) {
          this.emit('status', { state: 'error', model: this.info, message: (e as Error).message });
          continue;
        }
        if (!this.pending) this.emit('status', { state: 'ready', model: this.info });
      }
    } finally {
      this.running = null;
      this.wake();
    }
  }

  private wake(): void {
    for (const w of [...this.waiters]) w();
  }

  private async process(version: number, text: string): Promise<void> {
    const enc = this.model.tokenizer.encode(text);
    const doc = new DocScores(version, text, enc, this.model.contextLength);
    const prev = this.doc;
    const firstChanged = prev ? firstDifference(prev.enc.ids, enc.ids) : 0;
    // Scores before the first changed token stay valid only where the token's window still starts
    // at the same place (windows.ts firstContextChange: crossing the context length moves them).
    const keep = prev ? Math.min(firstChanged, prev.scored, firstContextChange(prev.windows, doc.windows)) : 0;
    if (prev && keep > 0) doc.copyFrom(prev, 0, 0, keep);
    doc.scored = keep;
    this.doc = doc;
    this.wake();
    const send = (from: number, to: number) =>
      this.emit('scores', { version, tokenCount: doc.length, firstChanged: keep, from, tokens: doc.tokens(from, to), scored: doc.scored, done: doc.scored === doc.length } satisfies ScoreUpdate);
    send(keep, keep);
    await this.scoreFrom(doc, keep, () => this.pending !== null, (from, to) => {
      this.wake();
      send(from, to);
    });
  }

  /**
   * Scores doc's tokens from `start` on (tokens before it already have scores), window by window.
   * Returns false when cancelled.
   */
  private async scoreFrom(doc: DocScores, start: number, cancelled: () => boolean, progress: (from: number, to: number) => void): Promise<boolean> {
    const ids = doc.enc.ids;
    for (const w of doc.windows) {
      if (w.b <= start) continue;
      const input = windowInput(ids, w, EOT);
      const key = windowKey(input, ids[w.b - 1]!, w);
      const cached = this.caching ? this.windowCache.get(key) : undefined;
      if (cached) {
        const from = Math.max(start, w.a);
        doc.copyFrom(cached, from - w.a, from, w.b - from);
        doc.scored = w.b;
        progress(from, w.b);
        continue;
      }
      const finished = await this.scoreWindow(doc, w, input, Math.max(start, w.a), cancelled, progress);
      if (!finished) return false;
      if (!this.caching) continue;
      const scores = emptyScores(w.b - w.a);
      for (const [k, arr] of Object.entries(scores) as [keyof WindowScores, Float32Array | Int32Array][]) {
        const per = k === 'topIds' || k === 'topLogprobs' ? TOP_K : 1;
        arr.set((doc[k] as Float32Array | Int32Array).subarray(w.a * per, w.b * per));
      }
      this.windowCache.delete(key);
      this.windowCache.set(key, scores);
      if (this.windowCache.size > WINDOW_CACHE_ENTRIES) this.windowCache.delete(this.windowCache.keys().next().value!);
    }
    return true;
  }

  /** Runs the model over positions [from, w.b) of window w, reusing the longest cached KV prefix. */
  private async scoreWindow(doc: DocScores, w: Window, input: Int32Array, from: number, cancelled: () => boolean, progress: (from: number, to: number) => void): Promise<boolean> {
    const ids = doc.enc.ids;
    // Window-local offsets: position p of the document is input index p - w.c.
    const need = from - w.c;
    let best: KVEntry | null = null;
    let bestLen = 0;
    for (const e of this.kvCache) {
      if (e.start !== w.c) continue;
      const len = Math.min(commonPrefix(e.input, input), need);
      if (len > bestLen) {
        best = e;
        bestLen = len;
      }
    }
    let cache: KVCache | null = null;
    let slots: number[] = [];
    if (best && bestLen > 0) {
      const size = best.cache[0]!.dims[2]!;
      slots = Array.from(best.slots.subarray(0, bestLen));
      // A model that numbers positions from the cache length cannot skip holes: cut the stale end off.
      if (size - bestLen > (this.model.hasPositionIds ? MAX_HOLES : 0)) {
        cache = gatherCache(best.cache, slots);
        slots = slots.map((_, j) => j);
      } else cache = best.cache;
    }
    let pos = bestLen;
    while (pos < input.length) {
      const end = Math.min(input.length, pos + Math.max(this.stepTokens, need - pos));
      const stepIds = input.subarray(pos, end);
      const targets = Int32Array.from({ length: end - pos }, (_, k) => ids[w.c + pos + k]!);
      const size = cache ? cache[0]!.dims[2]! : 0;
      const mask = new Uint8Array(size + end - pos).fill(1, size);
      for (const slot of slots) mask[slot] = 1;
      const positions = Int32Array.from({ length: end - pos }, (_, k) => pos + k);
      const out = await this.model.step({ ids: [stepIds], targets: [targets], past: cache, attentionMask: [mask], positions: [positions] });
      cache = out.present;
      for (let k = 0; k < end - pos; k++) slots.push(size + k);
      // Positions before `from` were only context; their scores are already in doc.
      const first = Math.max(pos, need);
      for (let k = first; k < end; k++) {
        const i = w.c + k;
        const o = k - pos;
        doc.logprob[i] = out.logprob[o]!;
        doc.rank[i] = out.rank[o]!;
        doc.entropy[i] = out.entropy[o]!;
        doc.topIds.set(out.topIds.subarray(o * GRAPH_TOP_K, o * GRAPH_TOP_K + TOP_K), i * TOP_K);
        doc.topLogprobs.set(out.topLogprobs.subarray(o * GRAPH_TOP_K, o * GRAPH_TOP_K + TOP_K), i * TOP_K);
      }
      this.rememberCache(w.c, input.subarray(0, end), slots, cache);
      pos = end;
      if (end > need) {
        doc.scored = w.c + end;
        progress(w.c + first, w.c + end);
      }
      if (pos < input.length) {
        await yieldToEventLoop();
        if (cancelled()) return false;
      }
    }
    return true;
  }

  private rememberCache(start: number, input: Int32Array, slots: number[], cache: KVCache): void {
    if (!this.caching) return;
    const existing = this.kvCache.findIndex((e) => e.start === start && commonPrefix(e.input, input) === e.input.length);
    if (existing >= 0) this.kvCache.splice(existing, 1); // the new entry extends it
    this.kvCache.unshift({ start, input: input.slice(), slots: Int32Array.from(slots), cache });
    this.kvCache.length = Math.min(this.kvCache.length, KV_CACHE_ENTRIES);
  }

  /** Waits until token `index` of `version` is scored; rejects when the version is superseded. */
  private async waitFor(version: number, index: number): Promise<DocScores> {
    for (;;) {
      const doc = this.doc;
      if (version > this.latestVersion) throw new Error(`version ${version} was never sent`);
      if (doc && doc.version === version) {
        if (index < 0 || index >= doc.length) throw new RangeError(`token ${index} is out of range (0..${doc.length - 1})`);
        if (index < doc.scored) return doc;
      } else if (doc && doc.version > version) {
        throw new Error(`version ${version} was superseded by ${doc.version}`);
      }
      if (!this.running && !this.pending && doc?.version !== version) throw new Error(`version ${version} is not available`);
      await new Promise<void>((resolve) => {
        const w = () => {
          this.waiters.delete(w);
          resolve();
        };
        this.waiters.add(w);
      });
    }
  }

  private predictionsAt(doc: DocScores, index: number, k: number): Prediction[] {
    const out: Prediction[] = [];
    for (let j = 0; j < Math.min(k, TOP_K); j++) {
      const id = doc.topIds[index * TOP_K + j]!;
      out.push({ id, text: this.model.tokenizer.tokenText(id), logprob: doc.topLogprobs[index * TOP_K + j]! });
    }
    return out;
  }

  async topK(version: number, index: number, k: number): Promise<Prediction[]> {
    const doc = await this.waitFor(version, index);
    return this.predictionsAt(doc, index, k);
  }

  async predictions(version: number, from: number, to: number, k: number): Promise<Prediction[][]> {
    if (to <= from) return [];
    const doc = await this.waitFor(version, to - 1);
    return Array.from({ length: to - from }, (_, j) => this.predictionsAt(doc, from + j, k));
  }

  /** Scores a whole text at once, independent of the live document (for the CLI and export). */
  async score(
    text: string,
    opts: { topK?: number; onProgress?: (scored: number, total: number) => void } = {},
  ): Promise<{ model: ModelInfo; perplexity: number; tokens: TokenScore[]; predictions?: Prediction[][]; doc: DocScores }> {
    const doc = new DocScores(-1, text, this.model.tokenizer.encode(text), this.model.contextLength);
    await this.scoreFrom(doc, 0, () => false, (_from, to) => opts.onProgress?.(to, doc.length));
    const tokens = doc.tokens();
    const result = { model: this.info, perplexity: perplexity(doc.logprob), tokens, doc };
    if (!opts.topK) return result;
    return { ...result, predictions: tokens.map((_, i) => this.predictionsAt(doc, i, opts.topK!)) };
  }

  /**
   * The span to rewrite around token `index`: the token grown to its whole word; when that word is
   * unlikely (a token ranked beyond 10), the run of adjacent unlikely words around it, up to four.
   */
  async suggestSpan(version: number, index: number): Promise<{ start: number; end: number }> {
    const doc = await this.waitFor(version, index);
    await this.waitFor(version, doc.length - 1).catch(() => doc);
    const { starts, ends } = doc.enc;
    const text = doc.text;
    const isWordChar = (i: number) => i >= 0 && i < text.length && /[\p{L}\p{N}'’-]/u.test(text[i]!);
    const wordAt = (pos: number): [number, number] => {
      let a = pos;
      let b = pos;
      while (isWordChar(a - 1)) a--;
      while (isWordChar(b)) b++;
      return [a, b];
    };
    let pos = starts[index]!;
    while (pos < ends[index]! && !isWordChar(pos)) pos++;
    if (!isWordChar(pos)) return { start: starts[index]!, end: ends[index]! };
    const tokensIn = (a: number, b: number) => {
      const out: number[] = [];
      for (let i = 0; i < doc.length; i++) if (ends[i]! > a && starts[i]! < b) out.push(i);
      return out;
    };
    const unlikely = (a: number, b: number) => tokensIn(a, b).some((i) => i < doc.scored && doc.rank[i]! > 10);
    let [start, end] = wordAt(pos);
    if (!unlikely(start, end)) return { start, end };
    for (let words = 1; words < 4; words++) {
      const left = text.slice(0, start).match(/[\p{L}\p{N}'’-]+[ \t]+$/u);
      const right = text.slice(end).match(/^[ \t]+[\p{L}\p{N}'’-]+/u);
      const leftWord = left ? [start - left[0].length, start - left[0].length + left[0].trimEnd().length] : null;
      const rightWord = right ? [end + right[0].length - right[0].trimStart().length, end + right[0].length] : null;
      if (leftWord && unlikely(leftWord[0]!, leftWord[1]!)) start = leftWord[0]!;
      else if (rightWord && unlikely(rightWord[0]!, rightWord[1]!)) end = rightWord[1]!;
      else break;
    }
    return { start, end };
  }

  /** Fill-in-the-blank suggestions for text[start, end) of the live document `version`. */
  async infill(params: { version: number; start: number; end: number; k?: number; prefixOnly?: boolean; includeWorse?: boolean }): Promise<InfillResult> {
    const doc = this.doc;
    if (!doc || doc.version !== params.version) throw new Error(`version ${params.version} is not the current document`);
    return infill(this.model, doc.text, params.start, params.end, {
      ...params,
      prefixContext: (ids) => this.prefixContext(ids),
      isSuperseded: () => this.latestVersion > params.version,
    });
  }

  /** Fill-in-the-blank suggestions for text[start, end) of any text, reusing cached prefix work. */
  infillText(text: string, start: number, end: number, opts: Omit<InfillOptions, 'prefixContext' | 'isSuperseded'> = {}): Promise<InfillResult> {
    return infill(this.model, text, start, end, { ...opts, prefixContext: (ids) => this.prefixContext(ids) });
  }

  /** The KV cache of [EOT, ...prefixIds] minus its last token, from a cached window when possible. */
  private async prefixContext(prefixIds: Int32Array): Promise<PrefixContext> {
    const s = Int32Array.from([EOT, ...prefixIds]);
    const last = s.length - 1;
    let best: KVEntry | null = null;
    let bestLen = 0;
    for (const e of this.kvCache) {
      if (e.start > last || last - e.start > MAX_REUSED_PREFIX) continue;
      const len = commonPrefix(e.input, s.subarray(e.start, last));
      if (len > bestLen) {
        best = e;
        bestLen = len;
      }
    }
    if (!best) return computePrefixContext(this.model, prefixIds);
    const slots = Array.from(best.slots.subarray(0, bestLen));
    const rest = s.subarray(best.start + bestLen, last);
    if (!rest.length) return { cache: best.cache, slots, lastToken: s[last]!, position: last - best.start };
    const past = gatherCache(best.cache, slots);
    const out = await this.model.step({ ids: [rest], targets: [rest], past });
    return { cache: out.present, slots: Array.from({ length: last - best.start }, (_, j) => j), lastToken: s[last]!, position: last - best.start };
  }

  /**
   * What the model attended to when it predicted token `index` of the live document `version`: one step
   * of the query before it on the cached prefix, on the attention graph (attention.ts).
   */
  async attention(params: { version: number; index: number; k?: number }): Promise<AttentionResult> {
    const doc = await this.waitFor(params.version, params.index);
    this.attentionView ??= new AttentionView(this.model, this.attentionIdleMs);
    return this.attentionView.explain(doc, params.index, params.k ?? DEFAULT_ATTENTION_K, this.kvCache);
  }

  /** Whether the attention graph's session is open (it is released when idle and with the engine). */
  get attentionOpen(): boolean {
    return this.attentionView?.open ?? false;
  }

  async dispose(): Promise<void> {
    this.pending = null;
    await this.idle();
    await this.attentionView?.release();
    await this.model.release();
  }
}

function emptyScores(n: number): WindowScores {
  return { logprob: new Float32Array(n), rank: new Int32Array(n), entropy: new Float32Array(n), topIds: new Int32Array(n * TOP_K), topLogprobs: new Float32Array(n * TOP_K) };
}

function windowKey(input: Int32Array, lastTarget: number, w: Window): string {
  // The input, the last scored token (a target, not an input) and the split between context and
  // scored tokens identify a window's results.
  // The ids' bytes as UTF-16 code units: exact, and ~10× shorter to build than a decimal list.
  const units = new Uint16Array(input.buffer, input.byteOffset, input.length * 2);
  let packed = '';
  for (let i = 0; i < units.length; i += 8192) packed += String.fromCharCode(...units.subarray(i, i + 8192));
  return `${w.a - w.c}:${lastTarget}:${packed}`;
}

export function commonPrefix(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a[i] === b[i]) i++;
  return i;
}

function firstDifference(a: Int32Array, b: Int32Array): number {
  return commonPrefix(a, b);
}
