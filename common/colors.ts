/**
 * How a token's score becomes a color, shared by the editor and the HTML export so both color a
 * document identically. Environment-neutral.
 */
import { formatProbability } from './format.ts';

export type ColorMode = 'logprob' | 'rank' | 'entropy';
export type Theme = 'light' | 'dark';

export interface ScoredLike {
  logprob: number;
  rank: number;
  entropy: number;
}

/** The clamp range of a mode over a document: mean ± 2.5 standard deviations of its values. */
export interface Range {
  min: number;
  max: number;
}

export const HUE_MAX = 150;

export function meanStdRange(values: ArrayLike<number>, spread = 2.5): Range {
  const n = values.length;
  if (n === 0) return { min: 0, max: 0 };
  let sum = 0;
  for (let i = 0; i < n; i++) sum += values[i]!;
  const mean = sum / n;
  let sq = 0;
  for (let i = 0; i < n; i++) sq += (values[i]! - mean) ** 2;
  const std = Math.sqrt(sq / n);
  return { min: mean - spread * std, max: mean + spread * std };
}

/** 0 at range.min, 1 at range.max, clamped; 0.5 when the range is empty. */
export function normalize(value: number, range: Range): number {
  const width = range.max - range.min;
  if (!(width > 0)) return 0.5;
  return Math.min(1, Math.max(0, (value - range.min) / width));
}

/** Log-prob mode: hue = clamp(logprob, min, max) scaled to 0–150deg; hsl(h 60% 85%) (dark: 45% 30%). */
export function logprobColor(logprob: number, range: Range, theme: Theme = 'light'): string {
  const hue = Math.round(normalize(logprob, range) * HUE_MAX * 10) / 10;
  return theme === 'light' ? `hsl(${hue} 60% 85%)` : `hsl(${hue} 45% 30%)`;
}

/** GLTR's buckets: the token was in the model's top 10, top 100, top 1,000, or beyond. */
export const RANK_BUCKETS = [
  { label: 'top 10', maxRank: 10, light: 'hsl(120 60% 82%)', dark: 'hsl(120 40% 28%)' },
  { label: 'top 100', maxRank: 100, light: 'hsl(55 85% 78%)', dark: 'hsl(55 45% 30%)' },
  { label: 'top 1,000', maxRank: 1000, light: 'hsl(0 75% 84%)', dark: 'hsl(0 45% 32%)' },
  { label: 'beyond', maxRank: Infinity, light: 'hsl(280 55% 85%)', dark: 'hsl(280 35% 34%)' },
] as const;

export function rankBucket(rank: number): number {
  return RANK_BUCKETS.findIndex((b) => rank <= b.maxRank);
}

export function rankColor(rank: number, theme: Theme = 'light'): string {
  return RANK_BUCKETS[rankBucket(rank)]![theme];
}

/** Entropy mode: how unsure the model was at this spot, from pale (sure) to deep blue (unsure). */
export function entropyColor(entropy: number, range: Range, theme: Theme = 'light'): string {
  const t = normalize(entropy, range);
  const lightness = theme === 'light' ? 94 - t * 24 : 18 + t * 20;
  return `hsl(215 70% ${Math.round(lightness * 10) / 10}%)`;
}

/** A function from token to color for one document in one mode. */
export function colorScale(mode: ColorMode, tokens: readonly ScoredLike[], theme: Theme = 'light'): (t: ScoredLike) => string {
  if (mode === 'rank') return (t) => rankColor(t.rank, theme);
  if (mode === 'entropy') {
    const range = meanStdRange(tokens.map((t) => t.entropy));
    return (t) => entropyColor(t.entropy, range, theme);
  }
  const range = meanStdRange(tokens.map((t) => t.logprob));
  return (t) => logprobColor(t.logprob, range, theme);
}

/** A short description of each mode for legends and accessible labels. */
export const MODE_LABELS: Record<ColorMode, string> = {
  logprob: 'Log-probability: red is surprising, green is expected (clamped at mean ± 2.5 standard deviations)',
  rank: "Rank: was the token in the model's top 10, 100, 1,000 predictions, or beyond",
  entropy: 'Entropy: how unsure the model was at this spot (pale: sure, deep blue: unsure)',
};

/**
 * What the two ends of a mode's scale mean, for the editor's legend and the export's. The colors
 * clamp at mean ± 2.5 sd, which can pass what a value can be (a log-prob above 0, an entropy below
 * 0): the labels stop at those bounds, so the top of a log-prob scale never reads "p ≥ 100%".
 */
export function scaleLabels(mode: 'logprob' | 'entropy', range: Range): { low: string; high: string } {
  if (mode === 'entropy') {
    const min = Math.max(0, range.min);
    return { low: `sure: ${min > 0 ? '≤ ' : ''}${min.toFixed(2)} nats`, high: `unsure: ≥ ${Math.max(0, range.max).toFixed(2)} nats` };
  }
  const max = Math.min(0, range.max);
  const top = formatProbability(max) === '100%';
  return {
    low: `surprising: p ≤ ${formatProbability(range.min)} (ln p ≤ ${Math.min(0, range.min).toFixed(2)})`,
    high: top ? 'expected: p 100% (ln p 0)' : `expected: p ≥ ${formatProbability(max)} (ln p ≥ ${max.toFixed(2)})`,
  };
}
