/**
 * What a second pass over a draft looks at, as three lists: surprising spans (runs of whole words
 * the model found unlikely), predictable runs (long runs of near-certain tokens that copy nothing
 * earlier: stock phrases) and repeats (runs copying earlier text of the same draft, which induction
 * makes likely for another reason). A pure function of the text and its token scores, so the Review
 * panel, `likely review` and the export list the same spans in the same order. Environment-neutral.
 * The rules, and the measurements behind their numbers: common/README.md.
 *
 * Cost: linear in the text and the tokens (one pass to find words, one over the tokens, a hash of
 * every token n-gram), so the panel simply reruns it after each score update.
 */
import type { TokenScore } from './api.ts';

/** What the rules read of a token: TokenScore, or any object with these fields. */
export type ReviewToken = Pick<TokenScore, 'id' | 'start' | 'end' | 'logprob' | 'rank'>;

export type ReviewKind = 'surprising' | 'predictable' | 'repeat';

export interface ReviewSpan {
  kind: ReviewKind;
  /** UTF-16 offsets into the text; `text === text.slice(start, end)`, never splitting a word or a character. */
  start: number;
  end: number;
  text: string;
  /** The span's tokens are tokens[first, last) (their text may include the space before the first word). */
  first: number;
  last: number;
  /** −Σ log p over the span's tokens, in nats. */
  surprisal: number;
  /** The most surprising of the span's tokens: max −log p, in nats (what ranks surprising spans). */
  peak: number;
  /** exp(−surprisal): the probability of the span's tokens given what precedes them. */
  probability: number;
  /**
   * Identifies the span for "ignore": its kind, its text and the word on each side, normalized. It
   * survives edits anywhere else (it holds no offsets) and changes when the span's own text does.
   */
  key: string;
  /**
   * For a surprising span, the key of each of its unlikely words (the word in the same context):
   * ignoring the span ignores them too, so it stays ignored when an edit elsewhere moves the
   * document's cutoff and with it the span's edges (it returns if it grows a new unlikely word).
   * Empty for the other kinds.
   */
  wordKeys: string[];
  /**
   * What "ignore all like this" adds to the ignored words, normalized: for a surprising span each of
   * its unlikely words (not a likely word it bridges), for a predictable run or a repeat its whole
   * text (the same phrase anywhere).
   */
  words: string[];
}

export interface RepeatSpan extends ReviewSpan {
  kind: 'repeat';
  /** The earlier text this span copies, token for token (same length in tokens). */
  source: { start: number; end: number; first: number; last: number };
}

export interface Review {
  /** Most surprising first: by the span's most surprising token (peak), then surprisal, then position. */
  surprising: ReviewSpan[];
  /** Longest first (tokens, then position). */
  predictable: ReviewSpan[];
  /** Longest first (tokens, then position). */
  repeats: RepeatSpan[];
  /** A token counted as unlikely when its log-prob was below `logprob` or its rank beyond `rank`. */
  cutoff: { logprob: number; rank: number };
}

export interface ReviewOptions {
  /** A token is unlikely when its log-prob is below mean − unlikelySpread × sd of the document's. */
  unlikelySpread?: number;
  /** …or its rank is beyond this. */
  unlikelyRank?: number;
  /** Words (units of words that share a token) in one surprising span at most. */
  maxWords?: number;
  /** Bridge one likely word between two unlikely ones (false: never). */
  bridge?: boolean;
  /** A token is highly likely (for predictable runs) when its rank is at most this. */
  likelyRank?: number;
  /** Tokens in a predictable run at least, and words. */
  minPredictableTokens?: number;
  minPredictableWords?: number;
  /** Tokens a copy must match exactly (the n-gram hashed), and words it must hold. */
  minRepeatTokens?: number;
  minRepeatWords?: number;
}

export const REVIEW_DEFAULTS: Required<ReviewOptions> = {
  unlikelySpread: 1.5,
  unlikelyRank: Infinity,
  maxWords: 4,
  bridge: true,
  likelyRank: 2,
  minPredictableTokens: 6,
  minPredictableWords: 3,
  minRepeatTokens: 8,
  minRepeatWords: 3,
};

/**
 * A word: letters, marks, digits and underscores, joined by an apostrophe or hyphen inside it (and a
 * decimal point or comma between digits: "3.14", "1,946"). Han, Hiragana and Katakana, written
 * without spaces, count one character as a word, so a CJK run is never one giant word.
 */
const WORD_CHAR = /[\p{L}\p{M}\p{N}_]/u;
const CJK = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}]/u;
const NON_ASCII = /[^\p{ASCII}]/u;
const DIGIT = /\p{N}/u;
/** ASCII letters, digits and "_". */
const ASCII_WORD = Uint8Array.from({ length: 128 }, (_, c) => Number(/[A-Za-z0-9_]/.test(String.fromCharCode(c))));
const isWordJoiner = (c: string) => c === "'" || c === '’' || c === '-';
const isNumberJoiner = (c: string) => c === '.' || c === ',';

/** Characters that end a sentence or line: a span never runs across one. */
const isBreakChar = (c: number) =>
  c === 10 || c === 13 || c === 0x2e || c === 0x21 || c === 0x3f || c === 0x3b || c === 0x3a || c === 0x2026 || c === 0x3002 || c === 0xff01 || c === 0xff1f || c === 0x2029 || c === 0x2028;

const PLAIN_ASCII = /[^!-~]/;
const QUOTES = /[’‘]/g;
const SPACES = /\s+/g;

/** Word text as "ignore" compares it: NFKC, lower case, ’ as ', whitespace collapsed. */
export function normalizeWords(text: string): string {
  if (!PLAIN_ASCII.test(text)) return text.toLowerCase();
  return (NON_ASCII.test(text) ? text.normalize('NFKC') : text).toLowerCase().replace(QUOTES, "'").replace(SPACES, ' ').trim();
}

interface Words {
  start: Int32Array;
  end: Int32Array;
  length: number;
}

/**
 * The text's words, in order, by a scan with an ASCII table (non-ASCII characters classified once
 * each per call): 2.5× faster than one regex for the same words.
 */
function findWords(text: string): Words {
  let start = new Int32Array(Math.max(16, text.length >> 2));
  let end = new Int32Array(start.length);
  let n = 0;
  let joinable = false;
  const push = (a: number, b: number, canJoin: boolean) => {
    if (n > 0 && joinable && canJoin && end[n - 1] === a - 1) {
      const c = text[a - 1]!;
      if (isWordJoiner(c) || (isNumberJoiner(c) && DIGIT.test(text[a - 2]!) && DIGIT.test(text[a]!))) {
        end[n - 1] = b;
        return;
      }
    }
    if (n === start.length) {
      const grow = (x: Int32Array) => {
        const y = new Int32Array(x.length * 2);
        y.set(x);
        return y;
      };
      start = grow(start);
      end = grow(end);
    }
    start[n] = a;
    end[n] = b;
    n++;
    joinable = canJoin;
  };
  // Per code point: 0 not a word character, 1 a word character, 2 a CJK character (a word alone).
  const classes = new Map<number, number>();
  const classOf = (cp: number) => {
    let k = classes.get(cp);
    if (k === undefined) {
      const ch = String.fromCodePoint(cp);
      classes.set(cp, (k = CJK.test(ch) ? 2 : WORD_CHAR.test(ch) ? 1 : 0));
    }
    return k;
  };
  const length = text.length;
  let runStart = -1;
  for (let i = 0; i < length; ) {
    const c = text.charCodeAt(i);
    let k: number;
    let width = 1;
    if (c < 128) k = ASCII_WORD[c]!;
    else {
      const cp = text.codePointAt(i)!;
      if (cp > 0xffff) width = 2;
      k = classOf(cp);
    }
    if (k !== 1 && runStart >= 0) {
      push(runStart, i, true);
      runStart = -1;
    }
    if (k === 1 && runStart < 0) runStart = i;
    else if (k === 2) push(i, i + width, false);
    i += width;
  }
  if (runStart >= 0) push(runStart, length, true);
  return { start, end, length: n };
}

/** Index of the last word ending at or before `pos` (−1 if none). */
function wordBefore(words: Words, pos: number): number {
  let lo = 0;
  let hi = words.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (words.end[mid]! <= pos) lo = mid + 1;
    else hi = mid;
  }
  return lo - 1;
}

/** Index of the first word starting at or after `pos` (words.length if none). */
function wordAfter(words: Words, pos: number): number {
  let lo = 0;
  let hi = words.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (words.start[mid]! < pos) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * The draft's review lists. `tokens` are the scored tokens in document order (a prefix of the
 * document's is fine: spans stop where the scores do); `text` is the document they index.
 */
export function reviewSpans(text: string, tokens: readonly ReviewToken[], options: ReviewOptions = {}): Review {
  const o = { ...REVIEW_DEFAULTS, ...options };
  const n = tokens.length;

  // The tokens' fields, read once into typed arrays (the passes below are over these: one pass
  // over 20,000 token objects costs what all the rest of the arithmetic does), and the running sum
  // of log-probs (any span's surprisal in O(1)). A log-prob that is not a number (no score) counts
  // as 0 nats and stays out of the cutoff.
  const ids = new Int32Array(n);
  const starts = new Int32Array(n);
  const ends = new Int32Array(n);
  const ranks = new Float64Array(n);
  const logprob = new Float64Array(n);
  const scored = new Uint8Array(n);
  const cum = new Float64Array(n + 1);
  for (let i = 0; i < n; i++) {
    const t = tokens[i]!;
    ids[i] = t.id;
    starts[i] = t.start;
    ends[i] = t.end;
    ranks[i] = t.rank;
    const lp = t.logprob;
    scored[i] = Number.isNaN(lp) ? 0 : 1;
    logprob[i] = scored[i] ? Math.max(lp, -100) : 0;
    cum[i + 1] = cum[i]! + logprob[i]!;
  }
  const surprisalOf = (first: number, last: number) => cum[first]! - cum[last]!;

  // Units: words with the tokens that cover them, words sharing a token merged (a CJK token of two
  // characters). A token with an empty span (the rest of a split character) belongs to the
  // character before it. Only words whose tokens are all scored count.
  const words = findWords(text);
  const unitStart = new Int32Array(words.length);
  const unitEnd = new Int32Array(words.length);
  const unitFirst = new Int32Array(words.length);
  const unitLast = new Int32Array(words.length);
  const unitOfToken = new Int32Array(n).fill(-1);
  const coverStart = (i: number) => (starts[i] === ends[i] ? starts[i]! - 1 : starts[i]!);
  let units = 0;
  let lo = 0;
  for (let w = 0; w < words.length; w++) {
    const ws = words.start[w]!;
    const we = words.end[w]!;
    while (lo < n && ends[lo]! <= ws) lo++;
    let hi = lo;
    while (hi < n && coverStart(hi) < we) hi++;
    if (hi === lo || ends[hi - 1]! < we) break;
    if (units > 0 && lo < unitLast[units - 1]!) {
      unitEnd[units - 1] = we;
      unitLast[units - 1] = Math.max(hi, unitLast[units - 1]!);
    } else {
      unitStart[units] = ws;
      unitEnd[units] = we;
      unitFirst[units] = lo;
      unitLast[units] = hi;
      units++;
    }
  }
  for (let u = 0; u < units; u++) for (let i = unitFirst[u]!; i < unitLast[u]!; i++) unitOfToken[i] = u;
  /** breakBefore[u]: the text between unit u − 1 and unit u ends a sentence or a line. */
  const breakBefore = new Uint8Array(units);
  for (let u = 1; u < units; u++) {
    for (let c = unitEnd[u - 1]!; c < unitStart[u]!; c++) {
      if (isBreakChar(text.charCodeAt(c))) {
        breakBefore[u] = 1;
        break;
      }
    }
  }

  const normalizedWord = (from: number, to: number) => normalizeWords(text.slice(from, to));
  const contextWords = new Map<number, string>();
  const contextWord = (w: number) => {
    if (w < 0 || w >= words.length) return '';
    let s = contextWords.get(w);
    if (s === undefined) contextWords.set(w, (s = normalizedWord(words.start[w]!, words.end[w]!)));
    return s;
  };
  const keyOf = (kind: ReviewKind, start: number, end: number, normalized: string) =>
    `${kind}\u241f${contextWord(wordBefore(words, start))}\u241f${normalized}\u241f${contextWord(wordAfter(words, end))}`;
  const span = <K extends ReviewKind>(kind: K, start: number, end: number, first: number, last: number, spanWords: string[] | null, wordKeys: string[] = []) => {
    const spanText = text.slice(start, end);
    const normalized = normalizeWords(spanText);
    const surprisal = surprisalOf(first, last);
    let peak = 0;
    for (let i = first; i < last; i++) peak = Math.max(peak, -logprob[i]!);
    return { kind, start, end, text: spanText, first, last, surprisal, peak, probability: Math.exp(-surprisal), key: keyOf(kind, start, end, normalized), wordKeys, words: spanWords ?? [normalized] };
  };

  // Repeats: at each token, the latest earlier position with the same n token ids (hashed; the ids
  // are compared, so a collision costs only a missed match), extended while the ids agree. Every
  // copied token is kept out of the predictable runs, listed as a repeat or not.
  const inRepeat = new Uint8Array(n);
  const repeats: RepeatSpan[] = [];
  const gram = o.minRepeatTokens;
  const hashAt = (i: number) => {
    let h = 0x811c9dc5;
    for (let k = 0; k < gram; k++) h = Math.imul(h ^ ids[i + k]!, 0x01000193);
    return h;
  };
  // Open addressing on typed arrays: a Map keyed by the 32-bit hashes (heap numbers in V8, not
  // small integers) took 6–10× as long for the 20,000 lookups of the bench's draft (~1 ms vs ~0.15).
  const latest = new GramTable(Math.max(0, n - gram + 1));
  for (let i = 0; i + gram <= n; ) {
    const j = latest.swap(hashAt(i), i);
    let len = 0;
    if (j >= 0) while (i + len < n && ids[i + len] === ids[j + len]) len++;
    if (len < gram) {
      i++;
      continue;
    }
    inRepeat.fill(1, i, i + len);
    // A listed copy starts at a word and ends at a word's end or the punctuation after it.
    let a = i;
    let b = i + len;
    while (a < b && unitOfToken[a]! < 0) a++;
    const ua = unitOfToken[a] ?? -1;
    if (a < b && ua >= 0 && unitFirst[ua]! < a) a = unitLast[ua]!;
    while (a < b && unitOfToken[a]! < 0) a++;
    const ub = unitOfToken[b - 1] ?? -1;
    if (b > a && ub >= 0 && unitLast[ub]! > b) b = unitFirst[ub]!;
    let wordCount = 0;
    for (let k = a; k < b; k++) if (unitOfToken[k]! >= 0 && (k === a || unitOfToken[k] !== unitOfToken[k - 1])) wordCount++;
    if (b - a >= gram && wordCount >= o.minRepeatWords) {
      const source = j + (a - i);
      const [start, end] = trimmed(text, starts[a]!, ends[b - 1]!);
      const [sourceStart, sourceEnd] = trimmed(text, starts[source]!, ends[source + (b - a) - 1]!);
      const repeat = span('repeat', start, end, a, b, null) as RepeatSpan;
      repeat.source = { start: sourceStart, end: sourceEnd, first: source, last: source + (b - a) };
      repeats.push(repeat);
    }
    for (let k = i + 1; k < i + len && k + gram <= n; k++) latest.swap(hashAt(k), k);
    i += len;
  }
  repeats.sort((a, b) => b.last - b.first - (a.last - a.first) || a.start - b.start);

  // The cutoff: mean − spread × sd of the log-probs of the tokens that are scored and copy nothing
  // (a pasted paragraph, near-certain the second time, would otherwise raise the mean and flag more
  // of the rest).
  let sum = 0;
  let counted = 0;
  for (let i = 0; i < n; i++) {
    if (inRepeat[i] || !scored[i]) continue;
    sum += logprob[i]!;
    counted++;
  }
  const mean = counted ? sum / counted : 0;
  let sq = 0;
  for (let i = 0; i < n; i++) if (!inRepeat[i] && scored[i]) sq += (logprob[i]! - mean) ** 2;
  const cutoff = { logprob: mean - o.unlikelySpread * Math.sqrt(counted ? sq / counted : 0), rank: o.unlikelyRank };

  // Surprising: a run of unlikely units, bridging one likely unit between two unlikely ones, never
  // across a sentence or line end, at most maxWords units.
  // The document's first token, scored with no context at all, makes no word unlikely, nor does a
  // token of a copy (its words are flagged where they first appear; the copy is a repeat).
  const unlikelyUnit = new Uint8Array(units);
  for (let u = 0; u < units; u++) {
    for (let i = Math.max(1, unitFirst[u]!); i < unitLast[u]!; i++) {
      if (!inRepeat[i] && scored[i] && (logprob[i]! < cutoff.logprob || ranks[i]! > cutoff.rank)) {
        unlikelyUnit[u] = 1;
        break;
      }
    }
  }
  const surprising: ReviewSpan[] = [];
  for (let u = 0; u < units; ) {
    if (!unlikelyUnit[u]) {
      u++;
      continue;
    }
    let last = u;
    while (last + 1 < units && last + 1 - u < o.maxWords && !breakBefore[last + 1]) {
      const next = last + 1;
      if (unlikelyUnit[next]) last = next;
      else if (o.bridge && next + 1 < units && next + 1 - u < o.maxWords && unlikelyUnit[next + 1] && !breakBefore[next + 1]) last = next + 1;
      else break;
    }
    if (last === u) {
      // One word: its key is its word key (the common case, made once).
      const one = span('surprising', unitStart[u]!, unitEnd[u]!, unitFirst[u]!, unitLast[u]!, null);
      one.wordKeys = [one.key];
      surprising.push(one);
    } else {
      const unlikelyWords: string[] = [];
      const wordKeys: string[] = [];
      for (let x = u; x <= last; x++) {
        if (!unlikelyUnit[x]) continue;
        const word = normalizedWord(unitStart[x]!, unitEnd[x]!);
        unlikelyWords.push(word);
        wordKeys.push(keyOf('surprising', unitStart[x]!, unitEnd[x]!, word));
      }
      surprising.push(span('surprising', unitStart[u]!, unitEnd[last]!, unitFirst[u]!, unitLast[last]!, unlikelyWords, wordKeys));
    }
    u = last + 1;
  }
  surprising.sort((a, b) => b.peak - a.peak || b.surprisal - a.surprisal || a.start - b.start);

  // Predictable: a run of highly likely tokens outside every copy, within a sentence and a line,
  // trimmed to start and end with whole words.
  const predictable: ReviewSpan[] = [];
  const likely = (i: number) => {
    if (ranks[i]! > o.likelyRank || inRepeat[i] || !scored[i]) return false;
    for (let c = starts[i]!; c < ends[i]!; c++) if (isBreakChar(text.charCodeAt(c))) return false;
    return true;
  };
  for (let i = 0; i < n; ) {
    if (!likely(i)) {
      i++;
      continue;
    }
    let j = i;
    while (j < n && likely(j)) j++;
    // The units wholly inside [i, j): from the first starting at or after i to the last ending by j.
    let ua = -1;
    for (let k = i; k < j && ua < 0; k++) if (unitOfToken[k]! >= 0 && unitFirst[unitOfToken[k]!]! >= i) ua = unitOfToken[k]!;
    let ub = -1;
    for (let k = j - 1; k >= i && ub < 0; k--) if (unitOfToken[k]! >= 0 && unitLast[unitOfToken[k]!]! <= j) ub = unitOfToken[k]!;
    if (ua >= 0 && ub - ua + 1 >= o.minPredictableWords && unitLast[ub]! - unitFirst[ua]! >= o.minPredictableTokens) {
      predictable.push(span('predictable', unitStart[ua]!, unitEnd[ub]!, unitFirst[ua]!, unitLast[ub]!, null));
    }
    i = j;
  }
  predictable.sort((a, b) => b.last - b.first - (a.last - a.first) || a.start - b.start);

  return { surprising, predictable, repeats, cutoff };
}

/** Hash → the latest token position whose n-gram has that hash. */
class GramTable {
  private readonly hashes: Int32Array;
  private readonly positions: Int32Array;
  private readonly mask: number;

  constructor(entries: number) {
    let size = 16;
    while (size < entries * 2) size *= 2;
    this.hashes = new Int32Array(size);
    this.positions = new Int32Array(size).fill(-1);
    this.mask = size - 1;
  }

  /** Stores `position` under `hash`; returns the position stored there before (−1: none). */
  swap(hash: number, position: number): number {
    for (let s = hash & this.mask; ; s = (s + 1) & this.mask) {
      const before = this.positions[s]!;
      if (before < 0 || this.hashes[s] === hash) {
        this.hashes[s] = hash;
        this.positions[s] = position;
        return before;
      }
    }
  }
}

/** [start, end) without whitespace at either end. */
function trimmed(text: string, start: number, end: number): [number, number] {
  while (start < end && /\s/.test(text[start]!)) start++;
  while (end > start && /\s/.test(text[end - 1]!)) end--;
  return [start, end];
}

/** What the writer chose to keep: spans by key, and words wherever they are flagged. */
export interface ReviewIgnores {
  keys: Iterable<string>;
  words: Iterable<string>;
}

/** The span's key (and its words' keys) added to the ignored keys. */
export function ignoreSpan(ignores: ReviewIgnores, span: ReviewSpan): { keys: string[]; words: string[] } {
  return { keys: [...new Set([...ignores.keys, span.key, ...span.wordKeys])], words: [...ignores.words] };
}

/** "Ignore all like this": the span's words (normalized) added to the ignored words. */
export function ignoreAllLikeThis(ignores: ReviewIgnores, span: ReviewSpan): { keys: string[]; words: string[] } {
  return { keys: [...ignores.keys], words: [...new Set([...ignores.words, ...span.words])] };
}

/** True when the writer ignored this span: its key, the keys of all its unlikely words, or all its words. */
export function isIgnored(span: ReviewSpan, keys: ReadonlySet<string>, words: ReadonlySet<string>): boolean {
  return (
    keys.has(span.key) ||
    (span.wordKeys.length > 0 && span.wordKeys.every((k) => keys.has(k))) ||
    (span.words.length > 0 && span.words.every((w) => words.has(w)))
  );
}

/** The review without the spans the writer ignored (order kept). */
export function applyIgnores(review: Review, ignores: ReviewIgnores): Review {
  const keys = new Set(ignores.keys);
  const words = new Set(ignores.words);
  if (keys.size === 0 && words.size === 0) return review;
  const keep = <S extends ReviewSpan>(spans: S[]) => spans.filter((s) => !isIgnored(s, keys, words));
  return { ...review, surprising: keep(review.surprising), predictable: keep(review.predictable), repeats: keep(review.repeats) };
}
