/**
 * What the model looked at when it predicted a token, and where it copied from (`Engine.attention`).
 *
 * Token i's probability is the prediction of the query at the position before it (the token i − 1, or
 * the <|endoftext|> a text starts with), so that query's attention is what explains it: over the tokens
 * it could see in the window token i was scored in (windows.ts). It costs one step of one token on the
 * cached prefix of that window (the engine's KV cache of the live document, the slots after the query
 * hidden by the attention mask; a window it no longer holds is computed once and kept for the next
 * request), run on the attention graph (attention-graph.ts): a second session,
 * opened on the first request and released after ATTENTION_IDLE_MS without one, or with the engine.
 * Nothing of this runs while typing.
 *
 * The copy rule (AttentionResult.copiedFrom in common/api.ts): a source token t is a copy source when the
 * token before t equals the query's token and t equals token i; a head copies when at least
 * COPY_MIN_SHARE of its attention is on copy sources (an induction head splits its attention between
 * the earlier copies of a passage pasted three times), and copiedFrom is the strongest copy source of a
 * copying head.
 */
import type { AttendedToken, AttentionResult, HeadAttention, LayerAttention } from '../../common/api.ts';
import { attentionOutput } from './attention-graph.ts';
import { gatherCache, type GPT2, type KVCache } from './gpt2.ts';
import { TARGETS_INPUT } from './scoring-head.ts';
import type { Session, TensorData } from './session.ts';
import { EOT, type Encoding } from './tokenizer.ts';
import { windowInput, type Window } from './windows.ts';

export const DEFAULT_ATTENTION_K = 5;
/** Share of a head's attention on copy sources from which the head is said to copy. */
export const COPY_MIN_SHARE = 0.5;
/** An attention graph unused this long is released (its session holds a second copy of the weights). */
export const ATTENTION_IDLE_MS = 120_000;

/** A cached KV prefix of a window's input: the engine's KV cache entries (engine.ts KVEntry). */
export interface CachedPrefix {
  /** Document position of input[0] (the window's start c). */
  start: number;
  input: Int32Array;
  /** slots[j]: the cache slot of input position j. */
  slots: Int32Array;
  cache: KVCache;
}

/** The parts of a scored document attention reads (engine.ts DocScores). */
export interface ScoredText {
  text: string;
  enc: Encoding;
  windows: readonly Window[];
}

type Opened = Session | { unavailable: string };

export class AttentionView {
  private session: Promise<Opened> | null = null;
  /** The last prefix this view computed itself (a window the engine's KV cache no longer holds), for the next click there. */
  private ownPrefix: CachedPrefix | null = null;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private running = 0;

  constructor(
    private readonly model: GPT2,
    private readonly idleMs = ATTENTION_IDLE_MS,
  ) {}

  /** Whether the attention graph's session is open (released when idle). */
  get open(): boolean {
    return this.session !== null;
  }

  private openSession(): Promise<Opened> {
    const opener = this.model.attentionGraph;
    this.session ??= opener
      ? opener().catch((e: Error) => ({ unavailable: `the attention graph did not load (${e.message.split('\n')[0]})` }))
      : Promise.resolve({ unavailable: 'this model was loaded without access to its ONNX file' });
    return this.session;
  }

  /** The attention that explains token `index` of `doc`: the top `k` sources per head. `cached`: the engine's KV cache. */
  async explain(doc: ScoredText, index: number, k: number, cached: readonly CachedPrefix[]): Promise<AttentionResult> {
    if (this.timer) clearTimeout(this.timer);
    this.running++;
    try {
      return await this.compute(doc, index, k, cached);
    } finally {
      if (--this.running === 0) {
        this.timer = setTimeout(() => void this.release(), this.idleMs);
        (this.timer as { unref?: () => void }).unref?.();
      }
    }
  }

  private async compute(doc: ScoredText, index: number, k: number, cached: readonly CachedPrefix[]): Promise<AttentionResult> {
    const { ids } = doc.enc;
    const w = doc.windows.find((win) => win.a <= index && index < win.b);
    if (!w) throw new RangeError(`token ${index} is out of range (0..${ids.length - 1})`);
    // Input position j of the window holds document token w.c + j − 1 (−1: the <|endoftext|> before the text).
    const q = index - w.c;
    const tokenAt = (t: number) => (t < 0 ? { index: -1, start: 0, end: 0, text: '' } : { index: t, start: doc.enc.starts[t]!, end: doc.enc.ends[t]!, text: doc.text.slice(doc.enc.starts[t]!, doc.enc.ends[t]!) });
    const base = {
      token: tokenAt(index),
      query: tokenAt(index - 1),
      window: { start: w.c > 0 ? doc.enc.starts[w.c - 1]! : 0, end: doc.enc.ends[w.b - 1]! },
      sources: q + 1,
    };
    const session = await this.openSession();
    if ('unavailable' in session) return { ...base, layers: [], copiedFrom: null, unavailable: `Attention can't be shown for this model: ${session.unavailable}.` };

    const input = windowInput(ids, w, EOT);
    const rows = await this.queryAttention(session, input, w.c, q, cached);
    const source = (j: number, weight: number): AttendedToken => ({ ...tokenAt(w.c + j - 1), weight });
    const top = (row: ArrayLike<number>) => topK(row, k).map((j) => source(j, row[j]!));
    // Copy sources: input positions j whose previous token is the query's token and whose token is token `index`.
    const idAt = (t: number) => (t < 0 ? EOT : ids[t]!);
    const copySources: number[] = [];
    for (let j = 1; j < q; j++) if (idAt(w.c + j - 2) === idAt(index - 1) && idAt(w.c + j - 1) === ids[index]) copySources.push(j);

    let copiedFrom: AttentionResult['copiedFrom'] = null;
    const layers: LayerAttention[] = rows.map((heads, layer) => {
      const summed = new Float64Array(q + 1);
      const headViews = heads.map((row, head): HeadAttention => {
        for (let j = 0; j <= q; j++) summed[j]! += row[j]! / heads.length;
        let maxWeight = 0;
        let entropy = 0;
        for (let j = 0; j <= q; j++) {
          const p = row[j]!;
          if (p > maxWeight) maxWeight = p;
          if (p > 0) entropy -= p * Math.log(p);
        }
        const copyWeight = copySources.reduce((s, j) => s + row[j]!, 0);
        if (copyWeight >= COPY_MIN_SHARE) {
          const j = copySources.reduce((best, c) => (row[c]! > row[best]! ? c : best));
          if (!copiedFrom || row[j]! > copiedFrom.weight) copiedFrom = { ...source(j, row[j]!), layer, head };
        }
        const focus = q > 0 ? Math.min(1, Math.max(0, 1 - entropy / Math.log(q + 1))) : 1;
        return { top: top(row), maxWeight, entropy: Math.max(0, entropy), focus, copyWeight };
      });
      return { heads: headViews, summed: top(summed) };
    });
    return { ...base, layers, copiedFrom };
  }

  /**
   * Runs the query at input position q of a window (document position start) on the attention graph,
   * on the KV cache of input positions [0, q): per layer, per head, its weights over positions 0..q.
   */
  private async queryAttention(session: Session, input: Int32Array, start: number, q: number, cached: readonly CachedPrefix[]): Promise<Float32Array[][]> {
    const { cache, slots } = await this.prefixCache(input, start, q, cached);
    const model = this.model;
    const size = cache ? cache[0]!.dims[2]! : 0;
    const mask = new BigInt64Array(size + 1);
    for (const s of slots) mask[s] = 1n;
    mask[size] = 1n;
    const feeds: Record<string, TensorData> = {
      input_ids: { type: 'int64', data: BigInt64Array.of(BigInt(input[q]!)), dims: [1, 1] },
      attention_mask: { type: 'int64', data: mask, dims: [1, size + 1] },
    };
    const names = session.inputNames;
    if (names.includes('position_ids')) feeds.position_ids = { type: 'int64', data: BigInt64Array.of(BigInt(q)), dims: [1, 1] };
    if (names.includes('use_cache_branch')) feeds.use_cache_branch = { type: 'bool', data: Uint8Array.of(size > 0 ? 1 : 0), dims: [1] };
    if (names.includes(TARGETS_INPUT)) feeds[TARGETS_INPUT] = { type: 'int64', data: new BigInt64Array(1), dims: [1, 1, 1] };
    const past = cache ?? model.emptyCache(1);
    for (let l = 0; l < model.layers; l++) {
      feeds[`past_key_values.${l}.key`] = past[2 * l]!;
      feeds[`past_key_values.${l}.value`] = past[2 * l + 1]!;
    }
    const outputs = Array.from({ length: model.layers }, (_, l) => attentionOutput(l));
    const out = await session.run(feeds, outputs);
    // Key slot of each input position: the cache's slots, then the query's own (the new token). A cache
    // of exactly the prefix, in order (a document scored once), needs no gathering.
    const keySlot = Int32Array.from([...slots, size]);
    const inOrder = size === q && keySlot.every((slot, j) => slot === j);
    return outputs.map((name) => {
      const t = out[name]!;
      const [, H, , S] = t.dims as [number, number, number, number];
      if (H !== model.heads || S !== size + 1) throw new Error(`the attention graph's ${name} is ${t.dims.join('×')}, expected 1×${model.heads}×1×${size + 1}`);
      const data = t.data as Float32Array;
      return Array.from({ length: H }, (_, h) => {
        if (inOrder) return data.subarray(h * S, h * S + S);
        const row = new Float32Array(q + 1);
        for (let j = 0; j <= q; j++) row[j] = data[h * S + keySlot[j]!]!;
        return row;
      });
    });
  }

  /**
   * The KV cache of input positions [0, q) of a window and the slot of each: the longest cached prefix
   * of the window's input, extended by a scoring step when it is shorter. A model without position_ids
   * numbers positions from the cache length, so its cache must hold exactly those positions in order.
   */
  private async prefixCache(input: Int32Array, start: number, q: number, cached: readonly CachedPrefix[]): Promise<{ cache: KVCache | null; slots: number[] }> {
    if (q === 0) return { cache: null, slots: [] };
    let best: CachedPrefix | null = null;
    let bestLen = 0;
    for (const e of this.ownPrefix ? [...cached, this.ownPrefix] : cached) {
      if (e.start !== start) continue;
      let len = 0;
      while (len < q && len < e.input.length && e.input[len] === input[len]) len++;
      if (len > bestLen) {
        best = e;
        bestLen = len;
      }
    }
    let cache: KVCache | null = best ? best.cache : null;
    let slots = best ? Array.from(best.slots.subarray(0, bestLen)) : [];
    const contiguous = () => cache !== null && cache[0]!.dims[2] === slots.length && slots.every((s, j) => s === j);
    if (cache && !contiguous() && (bestLen < q || !this.model.hasPositionIds)) {
      cache = gatherCache(cache, slots);
      slots = slots.map((_, j) => j);
    }
    if (bestLen < q) {
      const rest = input.subarray(bestLen, q);
      const out = await this.model.step({ ids: [rest], targets: [rest], past: cache });
      cache = out.present;
      slots = Array.from({ length: q }, (_, j) => j);
      this.ownPrefix = { start, input: input.slice(0, q), slots: Int32Array.from(slots), cache };
    }
    return { cache, slots };
  }

  /** Releases the attention graph's session (the next request opens it again). */
  async release(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.ownPrefix = null;
    const session = this.session;
    this.session = null;
    const opened = await session;
    if (opened && !('unavailable' in opened)) await opened.release();
  }
}

/** Indices of the k largest weights, largest first (earlier position first among equals). */
function topK(row: ArrayLike<number>, k: number): number[] {
  const n = row.length;
  if (k >= 32) {
    const order = Array.from({ length: n }, (_, j) => j);
    order.sort((a, b) => row[b]! - row[a]! || a - b);
    return order.slice(0, Math.min(k, n));
  }
  // A few of a thousand: one pass keeping the best k in order (no sort of every source per head).
  const best: number[] = [];
  for (let j = 0; j < n; j++) {
    const w = row[j]!;
    if (best.length === k && w <= row[best[k - 1]!]!) continue;
    let at = best.length;
    while (at > 0 && row[best[at - 1]!]! < w) at--;
    best.splice(at, 0, j);
    if (best.length > k) best.pop();
  }
  return best;
}
