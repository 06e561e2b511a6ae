/**
 * How numbers and token text are written for people, one set of rules for the editor (popover,
 * legend, status bar, accessible labels) and the annotated HTML export. Locale-independent, so an
 * export is the same file everywhere. Environment-neutral.
 */
import type { TokenScore } from './api.ts';

/**
 * Characters that are invisible or reorder the text around them: C0/C1 controls except tab and
 * newline, ALM, LRM/RLM, line and paragraph separators, bidi embeddings, overrides and isolates,
 * BOM, lone surrogates. Shown as their code point wherever token text is shown.
 */
export const INVISIBLE_SOURCE =
  '[\\u0000-\\u0008\\u000b-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u2028\\u2029\\u202a-\\u202e\\u2066-\\u2069\\ufeff]|[\\ud800-\\udbff](?![\\udc00-\\udfff])|(?<![\\ud800-\\udbff])[\\udc00-\\udfff]';
const INVISIBLE = new RegExp(INVISIBLE_SOURCE, 'g');

/** The code point of a character as text: "U+0007", "U+202E". */
export function codePoint(ch: string): string {
  return 'U+' + ch.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0');
}

/** Token text as plain visible characters: space ␣, newline ↵ (CRLF too), tab ⇥, invisible ones as ⟨U+XXXX⟩; at most `max` characters, then …. */
export function visibleText(s: string, max = 40): string {
  const out = s
    .replace(/\r\n/g, '\n')
    .replace(INVISIBLE, (ch) => `⟨${codePoint(ch)}⟩`)
    .replace(/ /g, '␣')
    .replace(/\n/g, '↵')
    .replace(/\t/g, '⇥');
  const chars = Array.from(out);
  return chars.length > max ? chars.slice(0, max).join('') + '…' : out;
}

/**
 * A line of text for people that may quote anything (a file name, a config value, a model's name,
 * an error message): the same rule as visibleText for invisible characters (⟨U+XXXX⟩), newlines
 * as ↵ and tabs as ⇥, spaces kept. The CLI writes every human-readable line through it, so no
 * bidi override or terminal escape in someone's file reaches the terminal raw.
 */
export function visibleLine(s: string): string {
  return s
    .replace(/\r\n/g, '\n')
    .replace(INVISIBLE, (ch) => `⟨${codePoint(ch)}⟩`)
    .replace(/\n/g, '↵')
    .replace(/\t/g, '⇥');
}

/** 12345 → "12,345". */
export function thousands(n: number): string {
  return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/** Probability as a percentage with two significant digits: "31%", "5.1%", "0.0019%". */
export function formatProbability(logprob: number): string {
  const pct = Math.exp(logprob) * 100;
  if (!Number.isFinite(pct)) return '—';
  if (pct >= 99.5) return '100%';
  if (pct >= 10) return `${Math.round(pct)}%`;
  if (pct === 0) return '0%';
  return `${Number(pct.toPrecision(2))}%`;
}

/** "12.34", "1,234"; "—" before there is one. */
export function formatPerplexity(p: number): string {
  if (!Number.isFinite(p)) return '—';
  return p >= 100 ? thousands(Math.round(p)) : p.toFixed(2);
}

/** The accessible label of a token in the editor: its text and numbers (color is never the only signal), and those of the rest of its character. */
export function tokenLabel(t: TokenScore, tail?: readonly TokenScore[]): string {
  let s = `“${visibleText(t.text)}” probability ${formatProbability(t.logprob)}, rank ${thousands(t.rank)}, entropy ${t.entropy.toFixed(2)} nats`;
  if (tail?.length) s += `; the rest of this character: ${tail.map((x) => `${formatProbability(x.logprob)} (rank ${thousands(x.rank)})`).join(', ')}`;
  return s;
}

/**
 * How a rewrite compares with the original, in words a writer reads: `ratio` is how many times as
 * likely the rewrite makes the passage. "much more likely" (10× or more), "4× as likely",
 * "a little more likely" (under 1.5×), "about as likely", and the same downwards.
 */
export function likelihoodWords(ratio: number): string {
  if (!(ratio > 0)) return 'far less likely';
  if (!Number.isFinite(ratio) || ratio >= 10) return 'much more likely';
  if (ratio >= 1.5) return `${Number(ratio.toPrecision(ratio < 3 ? 2 : 1))}× as likely`;
  if (ratio > 1.05) return 'a little more likely';
  if (ratio >= 0.95) return 'about as likely';
  if (ratio > 0.67) return 'a little less likely';
  if (ratio > 0.1) return `${Number((1 / ratio).toPrecision(1 / ratio < 3 ? 2 : 1))}× less likely`;
  return 'much less likely';
}

/** The factor itself for a tooltip: "24×", "4.2e+24×", "0.31×". */
export function likelihoodFactor(ratio: number): string {
  if (!Number.isFinite(ratio)) return ratio > 0 ? 'more than 1e308×' : '0×';
  if (ratio >= 10_000 || ratio < 0.001) return `${ratio.toExponential(1)}×`;
  if (ratio >= 10) return `${thousands(Math.round(ratio))}×`;
  return `${Number(ratio.toPrecision(2))}×`;
}
