/**
 * Fill-in-the-blank: rewrites for text[start, end) ranked by how well they fit both sides.
 *
 * 1. Candidates: batched beam search from the prefix (beam 8: the model's top-64 first tokens, then
 *    each beam's top-10 next tokens, 1–4 tokens for a word, more for a phrase), keeping texts that are whole
 *    words (a span that starts a word yields candidates that start with a space), deduplicated,
 *    the original excluded; for a one-word span also the fixes of common writing errors
 *    (fix-candidates.ts: confused words, spellings one edit away, a repeated word removed), which
 *    a small model's beam rarely proposes.
 * 2. Ranking: one batched run per candidate set feeds [last prefix token, candidate, suffix] on
 *    the prefix's KV cache (reused from the live document when it is cached; its last 256
 *    positions) and reads
 *      suffix-aware: log P(candidate | prefix) + log P(suffix | prefix + candidate)
 *      prefix-only:  log P(candidate | prefix) + log P(a word boundary follows | prefix + candidate)
 *    The suffix runs to the end of the sentence (at most SENTENCE_TOKENS tokens), so the score is
 *    the likelihood of the whole sentence with the candidate in it (given the text before it).
 * 3. Only candidates that make the sentence more likely than the original are returned, unless
 *    asked for all (`includeWorse`); `hidden` counts the others.
 */
import type { InfillResult, InfillSuggestion } from '../../common/api.ts';
import { fixCandidates, vocabularyWords } from './fix-candidates.ts';
import { gatherCache, type GPT2, GRAPH_TOP_K, type KVCache } from './gpt2.ts';
import { EOT } from './tokenizer.ts';

/** The suffix ranked with a candidate: to the end of the sentence, at most this many tokens. */
export const SENTENCE_TOKENS = 24;
/** Fixes of writing errors ranked beside the beam's candidates, at most. */
const MAX_FIXES = 20;
const BEAM_WIDTH = 8;
/** Candidates ranked with the full prefix and suffix (the costly, exact part). */
const POOL_SIZE = 16;
/**
 * Candidate generation attends only to the last GENERATION_CONTEXT cached positions (each still
 * carries what came before it through the lower layers): proposing is cheap and approximate,
 * ranking is exact.
 */
const GENERATION_CONTEXT = 64;
/** Ranking attends to the last RANKING_CONTEXT positions before the span (exact for shorter prefixes). */
const RANKING_CONTEXT = 256;
/** Next tokens tried from the prefix itself, and from each beam after that. */
const FIRST_EXPANSION = GRAPH_TOP_K;
const LATER_EXPANSION = 10;
/** Context kept before the span, leaving room for candidate + suffix within 1,024 positions. */
const MAX_PREFIX_CONTEXT = 768;

export interface PrefixContext {
  /** KV cache (batch 1) holding the context before `lastToken`, in `slots` (in order). */
  cache: KVCache | null;
  slots: number[];
  /** The last prefix token (EOT for an empty prefix), fed first so its output predicts the span. */
  lastToken: number;
  /** Position id of lastToken. */
  position: number;
}

export interface InfillOptions {
  k?: number;
  prefixOnly?: boolean;
  /** Keep the original text if the search finds it (evaluation only: can the model recover a word?). */
  keepOriginal?: boolean;
  /** Return candidates that make the sentence less likely than the original too. */
  includeWorse?: boolean;
  /** Try the fixes of common writing errors (default true; the masked-word evaluation turns them off). */
  fixes?: boolean;
  /** What fixes and free fill-ins must beat (DEFAULT_COSTS). */
  costs?: RewriteCosts;
  /** Suffix tokens ranked with each candidate (default: to the end of the sentence, at most SENTENCE_TOKENS). */
  suffixTokens?: number;
  /** Supplies the prefix's KV cache; default: computed here. */
  prefixContext?: (prefixIds: Int32Array) => Promise<PrefixContext>;
  /** Checked before every model run: true once a newer edit made this request stale. */
  isSuperseded?: () => boolean;
}

export class InfillError extends Error {}

/** The request was superseded by a newer edit and stopped before its next model run. */
export class InfillCancelled extends Error {
  constructor() {
    super('fill-in request superseded by a newer edit');
  }
}

/** Checks UTF-16 offsets: in range, ordered, not splitting a surrogate pair. */
export function checkSpan(text: string, start: number, end: number): void {
  if (!Number.isInteger(start) || !Number.isInteger(end)) throw new InfillError('span offsets must be integers');
  if (start < 0 || end > text.length) throw new InfillError(`span ${start}..${end} is outside the text (0..${text.length})`);
  if (end < start) throw new InfillError(`span end ${end} is before its start ${start}`);
  const splits = (i: number) => i > 0 && i < text.length && /[\ud800-\udbff]/.test(text[i - 1]!) && /[\udc00-\udfff]/.test(text[i]!);
  if (splits(start) || splits(end)) throw new InfillError(`span ${start}..${end} splits a surrogate pair (an emoji or other character)`);
}

const isBoundaryToken = (t: string) => /^[\s\p{P}\p{S}]/u.test(t) || t === '';
const words = (s: string) => (s.match(/\S+/g) ?? []).length;

export async function computePrefixContext(model: GPT2, prefixIds: Int32Array): Promise<PrefixContext> {
  const s = [EOT, ...prefixIds];
  const last = s.length - 1;
  const c = Math.max(0, last - MAX_PREFIX_CONTEXT);
  if (last === c) return { cache: null, slots: [], lastToken: s[last]!, position: 0 };
  const ctx = s.slice(c, last);
  const out = await model.step({ ids: [ctx], targets: [ctx.map(() => 0)], past: null });
  return { cache: out.present, slots: ctx.map((_, j) => j), lastToken: s[last]!, position: last - c };
}

interface Candidate {
  ids: number[];
  text: string;
  genLogprob: number;
  /** A fix of a common writing error (fix-candidates.ts), not a free fill-in of the beam. */
  fix?: boolean;
}

/**
 * What a rewrite must beat, in nats of the sentence's log-likelihood (a noisy-channel prior: how
 * unlikely it is that a writer who meant the rewrite typed the original): a fix of a common error
 * (a writer who typed "by" may well have meant "buy") costs `fix`, a free fill-in of the model's
 * (who typed "by" and meant "keep"?) costs `alternative`. A rewrite is listed when its
 * log-likelihood minus its cost beats the original's, and the list is in that order. Fitted on the
 * tuning half of the writing-error set (npm run eval:infill -- --tune; models/README.md).
 */
export interface RewriteCosts {
  fix: number;
  alternative: number;
}

export const DEFAULT_COSTS: RewriteCosts = { fix: 2, alternative: 12 };

/** Orders rewrites by log-likelihood minus cost; without `includeWorse`, only those that beat the original. */
export function presentRewrites<S extends InfillSuggestion>(suggestions: readonly S[], originalScore: number, costs: RewriteCosts, includeWorse = false): { shown: S[]; hidden: number } {
  const net = (s: S) => s.score - (s.kind === 'fix' ? costs.fix : costs.alternative);
  const sorted = [...suggestions].sort((a, b) => net(b) - net(a));
  const shown = includeWorse ? sorted : sorted.filter((s) => net(s) > originalScore);
  return { shown, hidden: sorted.length - shown.length };
}

export async function infill(model: GPT2, text: string, start: number, end: number, opts: InfillOptions = {}): Promise<InfillResult> {
  checkSpan(text, start, end);
  const tok = model.tokenizer;
  const original = text.slice(start, end);
  // A span that starts a word takes the space before it, so candidates are natural " word" tokens.
  const takesSpace = start > 0 && text[start - 1] === ' ' && !/^\s/.test(original);
  const from = takesSpace ? start - 1 : start;
  const lead = takesSpace ? ' ' : '';
  const prefixIds = tok.encode(text.slice(0, from)).ids;
  const suffixAll = tok.encode(text.slice(end)).ids;
  let m = Math.min(opts.suffixTokens ?? SENTENCE_TOKENS, suffixAll.length);
  for (let i = 0; i < m; i++) {
    if (/[.!?\n]/.test(tok.tokenText(suffixAll[i]!))) {
      m = i + 1;
      break;
    }
  }
  const suffix = Array.from(suffixAll.subarray(0, m));
  const checkCurrent = () => {
    if (opts.isSuperseded?.()) throw new InfillCancelled();
  };
  checkCurrent();
  const ctx = await (opts.prefixContext ?? ((ids) => computePrefixContext(model, ids)))(prefixIds);
  const targetWords = Math.max(1, words(original));
  const maxTokens = Math.min(12, Math.max(4, 2 * tok.encode(lead + original).ids.length));

  // --- candidates by batched beam search ---
  const pool = new Map<string, Candidate>();
  let beams: Candidate[] = [{ ids: [], text: '', genLogprob: 0 }];
  for (let step = 0; step < maxTokens && beams.length; step++) {
    checkCurrent();
    const out = await run(model, ctx, beams.map((b) => b.ids), [], GENERATION_CONTEXT);
    const children: Candidate[] = [];
    beams.forEach((beam, b) => {
      const at = out.lastIndex[b]!; // position whose prediction follows the beam
      for (let j = 0; j < (step === 0 ? FIRST_EXPANSION : LATER_EXPANSION); j++) {
        const id = out.topIds[at * GRAPH_TOP_K + j]!;
        const piece = tok.tokenText(id);
        const textSoFar = beam.text + piece;
        if (id === EOT || /[\n\r]/.test(piece) || piece.includes('\\x')) continue;
        if (step === 0 && takesSpace !== piece.startsWith(' ')) continue;
        if (step === 0 && !takesSpace && /^\s/.test(piece)) continue;
        if (words(textSoFar) > targetWords + 1) continue;
        if (step > 0 && targetWords === 1 && /^\s/.test(piece)) continue;
        children.push({ ids: [...beam.ids, id], text: textSoFar, genLogprob: beam.genLogprob + out.topLogprobs[at * GRAPH_TOP_K + j]! });
      }
    });
    children.sort((a, b) => b.genLogprob - a.genLogprob);
    beams = children.slice(0, BEAM_WIDTH);
    for (const c of children) {
      const key = c.text.trim();
      if (key && (opts.keepOriginal || c.text !== lead + original) && !pool.has(c.text)) pool.set(c.text, c);
    }
  }
  const candidates = [...pool.values()].sort((a, b) => b.genLogprob - a.genLogprob).slice(0, POOL_SIZE);
  if (opts.fixes !== false && targetWords === 1 && !/\s/.test(original)) {
    const byText = new Map(candidates.map((c) => [c.text, c]));
    let added = 0;
    for (const fix of fixCandidates(original, text.slice(0, start), vocabularyWords(tok))) {
      const textOf = fix === '' ? '' : lead + fix;
      const known = byText.get(textOf);
      if (known) known.fix = true;
      if (known || added >= MAX_FIXES) continue;
      const c: Candidate = { ids: Array.from(tok.encode(textOf).ids), text: textOf, genLogprob: -Infinity, fix: true };
      byText.set(textOf, c);
      candidates.push(c);
      added++;
    }
  }
  const originalIds = Array.from(tok.encode(lead + original).ids);

  // --- ranking: one batched run over [candidate + suffix] for every candidate and the original ---
  const all = [...candidates.map((c) => c.ids), originalIds];
  checkCurrent();
  const scored = await run(model, ctx, all, suffix, RANKING_CONTEXT);
  const scoreOf = (i: number, ids: number[]) => {
    let spanLogprob = 0;
    for (let t = 0; t < ids.length; t++) spanLogprob += scored.targetLogprob[i]![t]!;
    let suffixLogprob = 0;
    for (let t = ids.length; t < ids.length + suffix.length; t++) suffixLogprob += scored.targetLogprob[i]![t]!;
    // Probability that a word boundary follows the candidate, from the top next tokens.
    const at = scored.rowStart[i]! + ids.length;
    let boundary = 0;
    for (let j = 0; j < GRAPH_TOP_K; j++) if (isBoundaryToken(tok.tokenText(scored.topIds[at * GRAPH_TOP_K + j]!))) boundary += Math.exp(scored.topLogprobs[at * GRAPH_TOP_K + j]!);
    const prefixOnly = spanLogprob + Math.log(Math.max(boundary, 1e-9));
    return { spanLogprob, suffixLogprob, prefixOnly, suffixAware: spanLogprob + suffixLogprob };
  }
  const orig = scoreOf(all.length - 1, originalIds);
  const useSuffix = !opts.prefixOnly && suffix.length > 0;
  const suggestions: InfillSuggestion[] = candidates.map((c, i) => {
    const s = scoreOf(i, c.ids);
    const score = useSuffix ? s.suffixAware : s.prefixOnly;
    return { text: c.text.slice(lead.length), score, spanLogprob: s.spanLogprob, suffixDelta: s.suffixLogprob - orig.suffixLogprob, kind: c.fix ? 'fix' : 'alternative' };
  });
  const originalScore = useSuffix ? orig.suffixAware : orig.prefixOnly;
  const listed = suggestions.filter((s) => opts.keepOriginal || s.text !== original);
  // The masked-word evaluation asks how the model itself ranks words: plain likelihood, all of them.
  const { shown, hidden } = opts.keepOriginal ? { shown: listed.sort((a, b) => b.score - a.score), hidden: 0 } : presentRewrites(listed, originalScore, opts.costs ?? DEFAULT_COSTS, opts.includeWorse);
  return {
    span: { start, end, text: original },
    suggestions: shown.slice(0, opts.k ?? 10),
    original: { score: originalScore, spanLogprob: orig.spanLogprob },
    hidden,
  };
}

/**
 * One batched run: row i feeds [lastToken, ...rows[i], ...suffix] (right-padded) on the prefix
 * cache, scoring each fed token's successor.
 */
async function run(model: GPT2, ctx: PrefixContext, rows: number[][], suffix: number[], contextLimit = Infinity) {
  const B = rows.length;
  const seqs = rows.map((r) => [ctx.lastToken, ...r, ...suffix]);
  const T = Math.max(...seqs.map((s) => s.length));
  // Trimming the context is only possible with explicit position ids; a model that numbers positions
  // from the cache length would see the span at the wrong positions, so it gets the whole context.
  const limit = model.hasPositionIds ? contextLimit : Infinity;
  const slots = ctx.slots.slice(Math.max(0, ctx.slots.length - limit));
  const P = slots.length;
  const ids = seqs.map((s) => Int32Array.from({ length: T }, (_, t) => s[t] ?? 0));
  // Position t predicts seq[t + 1]; the last real position's target is unknown (-1 → ignored).
  const targets = seqs.map((s) => Int32Array.from({ length: T }, (_, t) => s[t + 1] ?? -1));
  const mask = seqs.map((s) => Int32Array.from({ length: P + T }, (_, j) => (j < P || j - P < s.length ? 1 : 0)));
  const positions = seqs.map(() => Int32Array.from({ length: T }, (_, t) => ctx.position + t));
  const past = ctx.cache && P > 0 ? gatherCache(ctx.cache, slots, B) : null;
  const out = await model.step({ ids, targets, past, attentionMask: mask, positions, withoutPresent: true });
  return {
    topIds: out.topIds,
    topLogprobs: out.topLogprobs,
    /** Flattened index of row i's position after its own tokens (before the suffix). */
    lastIndex: rows.map((r, i) => i * T + r.length),
    rowStart: rows.map((_, i) => i * T),
    targetLogprob: rows.map((_, i) => out.logprob.subarray(i * T, (i + 1) * T)),
  };
}
