/**
 * How a token's score becomes a color, shared by the editor and the HTML export so both color a
 * document identically. Environment-neutral.
 */
import { formatProbability } from './format.ts';

export type ColorMode = 'logprob' | 'rank' | 'entropy';
export type Theme = 'light' | 'dark';
/**
 * The log-prob and rank colors: 'red-green' (the default: red surprising, green expected) or
 * 'blue-orange' (orange surprising, blue expected, surprising also darker), which readers with
 * protanopia or deuteranopia tell apart (common/color-vision.ts simulates both; colors.test.ts
 * checks it, and that the default fails the same check).
 */
export type Palette = 'red-green' | 'blue-orange';
/** 'fill': a token's background; 'line': an underline, darker and more saturated to show on a thin line. */
export type ColorVariant = 'fill' | 'line';

export interface Look {
  palette: Palette;
  variant: ColorVariant;
}

export const DEFAULT_LOOK: Look = { palette: 'red-green', variant: 'fill' };

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

const round1 = (x: number) => Math.round(x * 10) / 10;

/**
 * Log-prob mode: t = clamp(logprob, min, max) scaled to 0–1. Red-green: hue t·150deg, hsl(h 60% 85%)
 * (dark: 45% 30%). Blue-orange: orange (28deg) below the middle and blue (212deg) above, the
 * saturation growing towards the ends and the lightness with t, so surprising is also darker.
 * The line variant is the same hue, darker (lighter in dark mode) and more saturated.
 */
export function logprobColor(logprob: number, range: Range, theme: Theme = 'light', look: Look = DEFAULT_LOOK): string {
  const t = normalize(logprob, range);
  const light = theme === 'light';
  const line = look.variant === 'line';
  if (look.palette === 'red-green') {
    const hue = round1(t * HUE_MAX);
    if (line) return light ? `hsl(${hue} 75% 40%)` : `hsl(${hue} 65% 62%)`;
    return light ? `hsl(${hue} 60% 85%)` : `hsl(${hue} 45% 30%)`;
  }
  const hue = t < 0.5 ? 28 : 212;
  const sat = round1(Math.abs(2 * t - 1) * (line ? 90 : light ? 85 : 55));
  const lightness = line ? (light ? round1(34 + 18 * t) : round1(70 - 12 * t)) : light ? round1(72 + 18 * t) : round1(38 - 14 * t);
  return `hsl(${hue} ${sat}% ${lightness}%)`;
}

/** GLTR's buckets: the token was in the model's top 10, top 100, top 1,000, or beyond. */
export const RANK_BUCKETS = [
  { label: 'top 10', maxRank: 10, light: 'hsl(120 60% 82%)', dark: 'hsl(120 40% 28%)' },
  { label: 'top 100', maxRank: 100, light: 'hsl(55 85% 78%)', dark: 'hsl(55 45% 30%)' },
  { label: 'top 1,000', maxRank: 1000, light: 'hsl(0 75% 84%)', dark: 'hsl(0 45% 32%)' },
  { label: 'beyond', maxRank: Infinity, light: 'hsl(280 55% 85%)', dark: 'hsl(280 35% 34%)' },
] as const;

/** The buckets in the blue-orange palette: blue, pale, orange, deep orange (darker as the rank grows). */
const RANK_BLUE_ORANGE = [
  { light: 'hsl(212 75% 84%)', dark: 'hsl(212 55% 36%)' },
  { light: 'hsl(200 30% 92%)', dark: 'hsl(200 8% 22%)' },
  { light: 'hsl(34 95% 76%)', dark: 'hsl(40 55% 24%)' },
  { light: 'hsl(18 90% 62%)', dark: 'hsl(14 70% 46%)' },
] as const;

export function rankBucket(rank: number): number {
  return RANK_BUCKETS.findIndex((b) => rank <= b.maxRank);
}

/** The background of a bucket, or its underline (the same hue, darker in light mode). */
export function rankColor(rank: number, theme: Theme = 'light', look: Look = DEFAULT_LOOK): string {
  const i = rankBucket(rank);
  const fill = look.palette === 'red-green' ? RANK_BUCKETS[i]![theme] : RANK_BLUE_ORANGE[i]![theme];
  if (look.variant === 'fill') return fill;
  const [, h, sat] = /^hsl\(([\d.]+) ([\d.]+)%/.exec(fill)!;
  return theme === 'light' ? `hsl(${h} ${Math.max(Number(sat), 60)}% 42%)` : `hsl(${h} ${Math.max(Number(sat), 50)}% 64%)`;
}

/** Entropy mode: how unsure the model was at this spot, from pale (sure) to deep blue (unsure): one hue, so every reader sees it. */
export function entropyColor(entropy: number, range: Range, theme: Theme = 'light', look: Look = DEFAULT_LOOK): string {
  const t = normalize(entropy, range);
  if (look.variant === 'line') return theme === 'light' ? `hsl(215 70% ${round1(72 - t * 40)}%)` : `hsl(215 70% ${round1(40 + t * 35)}%)`;
  const lightness = theme === 'light' ? 94 - t * 24 : 18 + t * 20;
  return `hsl(215 70% ${round1(lightness)}%)`;
}

/** A function from token to color for one document in one mode. */
export function colorScale(mode: ColorMode, tokens: readonly ScoredLike[], theme: Theme = 'light', look: Look = DEFAULT_LOOK): (t: ScoredLike) => string {
  if (mode === 'rank') return (t) => rankColor(t.rank, theme, look);
  if (mode === 'entropy') {
    const range = meanStdRange(tokens.map((t) => t.entropy));
    return (t) => entropyColor(t.entropy, range, theme, look);
  }
  const range = meanStdRange(tokens.map((t) => t.logprob));
  return (t) => logprobColor(t.logprob, range, theme, look);
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
