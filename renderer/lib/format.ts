/** Number and token formats for labels, the popover and the status bar. DOM-free. */
import type { TokenScore } from '../../common/api.ts';
import { formatProbability } from '../../common/export-html.ts';

export { formatProbability };

/** Token text with its invisible characters shown: space ␣, newline ↵, tab ⇥, other controls as U+XXXX. */
export function visibleText(s: string, max = 40): string {
  // Showing control characters is the point here.
  // eslint-disable-next-line no-control-regex
  let out = s.replace(/ /g, '␣').replace(/\r?\n/g, '↵').replace(/\t/g, '⇥').replace(/[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g, (c) => `U+${c.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}`);
  const chars = Array.from(out);
  if (chars.length > max) out = chars.slice(0, max).join('') + '…';
  return out;
}

export function thousands(n: number): string {
  return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

export function formatPerplexity(p: number): string {
  if (!Number.isFinite(p)) return '—';
  return p >= 100 ? thousands(Math.round(p)) : p.toFixed(2);
}

/** The accessible label of a token: its text and numbers (color is never the only signal). */
export function tokenLabel(t: TokenScore, tail?: readonly TokenScore[]): string {
  let s = `“${visibleText(t.text)}” probability ${formatProbability(t.logprob)}, rank ${thousands(t.rank)}, entropy ${t.entropy.toFixed(2)} nats`;
  if (tail?.length) {
    s += `; the rest of this character: ${tail.map((x) => `${formatProbability(x.logprob)} (rank ${thousands(x.rank)})`).join(', ')}`;
  }
  return s;
}
