/** Document statistics shared by the editor's stats panel and the HTML export. Environment-neutral. */
import { perplexity } from './api.ts';
import { RANK_BUCKETS, rankBucket } from './colors.ts';

export interface SpanLike {
  start: number;
  end: number;
  logprob: number;
  rank: number;
}

export interface HistogramBin {
  /** Inclusive lower edge (-Infinity for the first bin). */
  from: number;
  /** Exclusive upper edge (the last bin includes 0). */
  to: number;
  count: number;
  /** Indexes of the tokens in this bin, in document order. */
  tokens: number[];
}

/** Log-prob histogram in 1-nat bins from `floor` to 0, plus one bin for everything below `floor`. */
export function logprobHistogram(tokens: readonly SpanLike[], floor = -15, width = 1): HistogramBin[] {
  const bins: HistogramBin[] = [{ from: -Infinity, to: floor, count: 0, tokens: [] }];
  for (let edge = floor; edge < 0; edge += width) bins.push({ from: edge, to: edge + width, count: 0, tokens: [] });
  tokens.forEach((t, i) => {
    const k = t.logprob < floor ? 0 : Math.min(bins.length - 1, 1 + Math.floor((t.logprob - floor) / width));
    bins[k]!.count++;
    bins[k]!.tokens.push(i);
  });
  return bins;
}

export interface BucketCount {
  label: string;
  count: number;
  tokens: number[];
}

/** GLTR-style counts: tokens in the model's top 10, 100, 1,000, and beyond. */
export function rankBucketCounts(tokens: readonly SpanLike[]): BucketCount[] {
  const out: BucketCount[] = RANK_BUCKETS.map((b) => ({ label: b.label, count: 0, tokens: [] }));
  tokens.forEach((t, i) => {
    const b = out[rankBucket(t.rank)]!;
    b.count++;
    b.tokens.push(i);
  });
  return out;
}

export interface ParagraphStat {
  start: number;
  end: number;
  tokenCount: number;
  perplexity: number;
}

/** Perplexity of each paragraph (text separated by newlines); a token belongs to the paragraph its start falls in. */
export function paragraphPerplexities(text: string, tokens: readonly SpanLike[]): ParagraphStat[] {
  const paragraphs: ParagraphStat[] = [];
  const re = /[^\n]+/g;
  let m: RegExpExecArray | null;
  let ti = 0;
  while ((m = re.exec(text))) {
    const start = m.index;
    const end = start + m[0].length;
    if (m[0].trim() === '') continue;
    while (ti < tokens.length && tokens[ti]!.end <= start) ti++;
    const lps: number[] = [];
    for (let j = ti; j < tokens.length && tokens[j]!.start < end; j++) lps.push(tokens[j]!.logprob);
    paragraphs.push({ start, end, tokenCount: lps.length, perplexity: perplexity(lps) });
  }
  return paragraphs;
}

export function countWords(text: string): number {
  return (text.match(/[\p{L}\p{N}]+(?:['’-][\p{L}\p{N}]+)*/gu) ?? []).length;
}
