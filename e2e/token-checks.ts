// How the browser tests compare the editor's tokens with `likely score --json`: the token elements
// the page draws (text, computed color, label), colors as the browser computes them, and the checks
// that every token is drawn once on its text in the CLI's color with its numbers in the label.
// Shared by the tests of the web page served by `serve` (editor.test.ts) and of the static build
// (static-web.test.ts).
import assert from 'node:assert/strict';
import type { Page } from 'playwright';
import type { TokenScore } from '../common/api.ts';
import { colorScale, type ColorMode, type Palette, type Theme } from '../common/colors.ts';
import { formatProbability } from '../common/format.ts';

export interface ScoreJson {
  model: string;
  device: string;
  perplexity: number;
  tokens: TokenScore[];
}

export interface DomToken {
  i: number;
  text: string;
  marker: boolean;
  color: string;
  /** The underline's color (underline marks). */
  line: string;
  title: string;
  classes: string;
}

/** How the page was asked to show the marks (View menu). */
export interface ViewChoice {
  palette?: Palette;
  style?: 'background' | 'underline';
  /** Only tokens less likely than this are marked. */
  threshold?: number | null;
}

/** Token elements in the editor grouped by data-i: text of their pieces, computed background. */
export function domTokens(page: Page): Promise<DomToken[]> {
  return page.$$eval('.ProseMirror [data-i]', (els) => {
    const byIndex = new Map<number, DomToken>();
    for (const el of els as HTMLElement[]) {
      const i = Number(el.dataset.i);
      const marker = el.classList.contains('nl');
      const t = byIndex.get(i);
      if (t) t.text += marker ? '' : el.textContent;
      else {
        const style = getComputedStyle(el);
        byIndex.set(i, { i, text: marker ? '' : (el.textContent ?? ''), marker, color: style.backgroundColor, line: style.textDecorationColor, title: el.getAttribute('aria-description') ?? '', classes: el.className });
      }
    }
    return [...byIndex.values()].sort((a, b) => a.i - b.i);
  });
}

/** Colors as the browser computes them, to compare with getComputedStyle. */
export function computed(page: Page, colors: string[]): Promise<string[]> {
  return page.evaluate((list) => {
    const probe = document.createElement('span');
    document.body.append(probe);
    const out = list.map((c) => {
      probe.style.backgroundColor = c;
      return getComputedStyle(probe).backgroundColor;
    });
    probe.remove();
    return out;
  }, colors);
}

/**
 * The label carries the token's probability and rank. The editor's scores come from incremental
 * runs (KV cache) and the CLI's from one full pass, which differ by float rounding (~1e-5 nats), so
 * a rank among near-tied logits may move by a few places and a rounded probability by one digit.
 */
export function assertLabel(d: DomToken, t: TokenScore): void {
  const m = /probability ([\d.,]+(?:e[+-]?\d+)?)%, rank ([\d,]+)/.exec(d.title);
  assert.ok(m, `token ${d.i} label has probability and rank: ${d.title}`);
  const pct = Number(m[1]!.replace(/,/g, ''));
  const rank = Number(m[2]!.replace(/,/g, ''));
  // Shown with two significant digits (or whole percents): within 6% of the CLI's probability.
  assert.ok(Math.abs(Math.log(pct / 100) - t.logprob) <= 0.06, `token ${d.i} probability ${pct}% vs CLI ${formatProbability(t.logprob)}: ${d.title}`);
  assert.ok(Math.abs(rank - t.rank) <= Math.max(3, t.rank * 0.002), `token ${d.i} rank ${rank} vs CLI ${t.rank}: ${d.title}`);
}

/** Equal up to one step per channel: incremental vs full-pass float rounding can cross a rounding edge. */
export function assertSameColor(actual: string, expected: string, message: string): void {
  const channels = (c: string) => (c.match(/[\d.]+/g) ?? []).map(Number);
  const [a, e] = [channels(actual), channels(expected)];
  assert.ok(a.length === e.length && a.length >= 3 && a.every((v, i) => Math.abs(v - e[i]!) <= 1), `${message}: ${actual} vs ${expected}`);
}

/** Every token of the CLI's scoring is drawn once, on its text, in its color. */
export async function assertMatchesCli(page: Page, cli: ScoreJson, mode: ColorMode = 'logprob', theme: Theme = 'light', view: ViewChoice = {}): Promise<DomToken[]> {
  const dom = await domTokens(page);
  const shownIdx = cli.tokens.flatMap((t, i) => (t.text === '' ? [] : [i]));
  assert.deepEqual(
    dom.map((d) => d.i),
    shownIdx,
    'one element (or group of pieces) per token with text',
  );
  const underline = view.style === 'underline';
  const want = await computed(page, cli.tokens.map(colorScale(mode, cli.tokens, theme, { palette: view.palette ?? 'red-green', variant: underline ? 'line' : 'fill' })));
  const threshold = view.threshold ?? null;
  for (const d of dom) {
    const t = cli.tokens[d.i]!;
    if (d.marker) assert.match(t.text, /^\n+$/, `token ${d.i} is a line break`);
    else assert.equal(d.text, t.text.replace(/\n/g, ''), `token ${d.i} text`);
    const label = `token ${d.i} (${JSON.stringify(t.text)}) color in ${mode}/${theme}/${view.palette ?? 'red-green'}/${view.style ?? 'background'}`;
    assertLabel(d, t);
    // A token a hair from the threshold may fall on either side (incremental vs full-pass rounding).
    if (threshold !== null && Math.abs(t.logprob - Math.log(threshold)) < 1e-3) continue;
    if (threshold !== null && t.logprob >= Math.log(threshold)) {
      assert.ok(d.classes.includes('quiet'), `${label}: likelier than the threshold, not marked`);
      if (!d.marker) assert.equal(d.color, 'rgba(0, 0, 0, 0)', `${label}: no background`);
      continue;
    }
    if (underline) {
      if (d.marker) continue;
      assertSameColor(d.line, want[d.i]!, `${label} (underline)`);
      assert.equal(d.color, 'rgba(0, 0, 0, 0)', `${label}: no background with underline marks`);
    } else assertSameColor(d.color, want[d.i]!, label);
  }
  return dom;
}
