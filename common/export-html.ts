/**
 * The annotated HTML export: one self-contained `.html` file that shows a scored draft the way the
 * editor does. Used by the CLI (`likely export`), the renderer's web-mode download and the Electron
 * menu, so it is a pure string function: no Node, no DOM, no imports beyond common/.
 *
 * Design notes
 * - Self-contained and inert: inline CSS only, no script at all, and a CSP meta tag
 *   (`default-src 'none'; style-src 'unsafe-inline'`) so that even a bug in the escaping could not
 *   fetch or run anything. Everything works with JS off.
 * - Colors: `colorScale(mode, tokens, theme)` from common/colors.ts, computed once for the light
 *   and once for the dark theme over the whole document (exactly the editor's scale). Each distinct
 *   (light, dark) pair becomes a short class `.cN`; the dark colors apply under
 *   `@media screen and (prefers-color-scheme: dark)`. Print keeps the light colors
 *   (`print-color-adjust: exact`) and hides the hover panel.
 * - Per-token numbers without JS: each token is `<span class=cN tabindex=0 data-i="…">`; the text
 *   of `data-i` (probability, rank, entropy, top-5 predictions) is shown by CSS
 *   `[data-i]:hover::after, [data-i]:focus::after { content: attr(data-i) }` in a panel fixed at
 *   the bottom of the window (never clipped at the page edge; `scroll-padding-bottom` keeps a
 *   focused token above it). Pseudo-element text is never parsed as HTML and is not copied with a
 *   selection. That attribute is most of the file: about 150–200 bytes per token in all.
 * - Structure: `blocks` (offsets in UTF-16 code units into `text`) become <p>, <h1–6>, <li> in
 *   <ul>/<ol>, <blockquote>, <pre>; inline marks become <em>/<strong>/<code> *inside* token spans
 *   (a mark crossing tokens is split per token), so every token stays one element. Without blocks
 *   the text is split into paragraphs at blank lines; single newlines stay line breaks
 *   (`white-space: pre-wrap`). Text outside every block that is not blank becomes a paragraph, so
 *   nothing is lost. A token that lies wholly between blocks (e.g. "\n\n") is shown as a colored
 *   ¶ marker at the end of the block before it; a token with empty text (a part of a UTF-8
 *   character; the engine gives the character's text to one of its tokens) is an empty span that
 *   still carries its data, so the number of `[data-i]` elements always equals the token count.
 *   A token that crosses a block boundary is split: the first piece carries the data, the rest are
 *   bare `<span class=cN>` continuations.
 * - Hostile text stays text: `& < > "` are escaped; C0/C1 control characters (except tab and
 *   newline; CR before LF is dropped) show as visible code points (U+0007, U+0085) in `<span class=x>`
 *   (code points rather than ␇-style control pictures, which many fonts lack); bidi
 *   embeddings, overrides and isolates (U+202A–202E, U+2066–2069, LRM/RLM/ALM), line/paragraph
 *   separators, BOM and lone surrogates show as `U+XXXX` marks, so they never reorder the page.
 *   In the tooltip text the same characters become visible escapes too.
 */
import { perplexity as meanPerplexity, type Prediction, type TokenScore } from './api.ts';
import { colorScale, entropyColor, logprobColor, meanStdRange, MODE_LABELS, RANK_BUCKETS, scaleLabels, type ColorMode, type Range } from './colors.ts';
import { codePoint, formatPerplexity, formatProbability, INVISIBLE_SOURCE, thousands, visibleText } from './format.ts';
import { countWords, logprobHistogram, rankBucketCounts } from './stats.ts';

export type BlockKind = 'paragraph' | 'heading' | 'list_item' | 'blockquote' | 'code_block' | 'rule';

export interface InlineMark {
  start: number;
  end: number;
  type: 'em' | 'strong' | 'code';
}

/** A block of the draft over text[start, end) (UTF-16 offsets), e.g. from the editor's document or markdown-blocks.ts. */
export interface DocBlock {
  start: number;
  end: number;
  kind: BlockKind;
  /** Heading level 1–6, or list nesting depth (1 = top level). */
  level?: number;
  /** For list items: a numbered list. */
  ordered?: boolean;
  marks?: readonly InlineMark[];
}

export interface AnnotatedHtmlInput {
  /** The scored text; token offsets index into it. */
  text: string;
  tokens: readonly TokenScore[];
  /** Top predictions at each token (the engine's `score(text, { topK: 5 })`); at most 5 are shown. */
  predictions?: readonly (readonly Prediction[])[];
  model: { name: string; device: string };
  mode?: ColorMode;
  /** Document title, e.g. the file name. */
  title?: string;
  /** When the export was made (default: now). */
  generatedAt?: Date;
  /** Document perplexity as reported by the engine (default: computed from the tokens). */
  perplexity?: number;
  blocks?: readonly DocBlock[];
}

// ---------------------------------------------------------------------------------------------
// Escaping

const NEEDS_ESCAPE = new RegExp(`[&<>"]|${INVISIBLE_SOURCE}`, 'g');

/** HTML-escapes text[a, b) for element content, making invisible and reordering characters visible as their code point. */
function escapeRange(text: string, a: number, b: number): string {
  const s = text.slice(a, b);
  return s.replace(NEEDS_ESCAPE, (ch, offset: number) => {
    switch (ch) {
      case '&':
        return '&amp;';
      case '<':
        return '&lt;';
      case '>':
        return '&gt;';
      case '"':
        return '"';
      case '\r':
        if (text[a + offset + 1] === '\n') return '';
    }
    return `<span class=x>${codePoint(ch)}</span>`;
  });
}

/** Escapes a string for a double-quoted attribute value or element content (no markup). */
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"]/g, (ch) => (ch === '&' ? '&amp;' : ch === '<' ? '&lt;' : ch === '>' ? '&gt;' : '&quot;'));
}

/** The tooltip text for one token (the value of its data-i attribute, before attribute escaping). */
export function tokenDetails(tokenText: string, t: TokenScore, predictions?: readonly Prediction[]): string {
  const shown = tokenText === '' ? '(part of a character)' : `“${visibleText(tokenText, 32)}”`;
  let s = `${shown} p ${formatProbability(t.logprob)} · rank ${thousands(t.rank)} · entropy ${t.entropy.toFixed(2)} nats`;
  if (predictions && predictions.length) {
    s += '\ntop ' + Math.min(5, predictions.length) + ': ' + predictions.slice(0, 5).map((p) => `${visibleText(p.text, 16)} ${formatProbability(p.logprob)}`).join(' · ');
  }
  return s;
}

// ---------------------------------------------------------------------------------------------
// Blocks

interface Line {
  start: number;
  /** End of the content, before the line terminator. */
  end: number;
}

function lines(text: string, from = 0, to = text.length): Line[] {
  const out: Line[] = [];
  let pos = from;
  while (pos <= to) {
    let nl = text.indexOf('\n', pos);
    if (nl === -1 || nl >= to) nl = to;
    const end = nl > pos && text[nl - 1] === '\r' && nl < to ? nl - 1 : nl;
    out.push({ start: pos, end });
    if (nl >= to) break;
    pos = nl + 1;
  }
  return out;
}

/** Paragraphs of text[from, to): runs of lines that are not blank (single newlines stay inside a paragraph). */
export function plainTextBlocks(text: string, from = 0, to = text.length): DocBlock[] {
  const out: DocBlock[] = [];
  let cur: DocBlock | null = null;
  for (const l of lines(text, from, to)) {
    // Blank means only spaces; a line holding a lone CR, form feed or BOM shows it as a visible mark.
    const blank = /^[ \t\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000]*$/.test(text.slice(l.start, l.end));
    if (blank) {
      cur = null;
      continue;
    }
    if (cur) cur.end = l.end;
    else out.push((cur = { start: l.start, end: l.end, kind: 'paragraph' }));
  }
  return out;
}

/** Sorted, clipped, non-overlapping blocks; text outside the given blocks that is not blank becomes paragraphs. */
function normalizeBlocks(text: string, given: readonly DocBlock[] | undefined): DocBlock[] {
  if (!given) return plainTextBlocks(text);
  const n = text.length;
  const sorted = given
    .map((b) => ({ ...b, start: Math.max(0, Math.min(n, b.start | 0)), end: Math.max(0, Math.min(n, b.end | 0)) }))
    .filter((b) => b.end >= b.start)
    .sort((x, y) => x.start - y.start || x.end - y.end);
  const out: DocBlock[] = [];
  let covered = 0;
  for (const b of sorted) {
    if (b.start < covered) {
      if (b.end <= covered) continue;
      b.start = covered;
    }
    if (b.start > covered) out.push(...plainTextBlocks(text, covered, b.start));
    out.push(b);
    covered = b.end;
  }
  if (covered < n) out.push(...plainTextBlocks(text, covered, n));
  return out;
}

// ---------------------------------------------------------------------------------------------
// Rendering

interface Piece {
  token: number;
  a: number;
  b: number;
  /** The token's first (or only) piece carries its data; 'marker' is a token wholly between blocks. */
  role: 'main' | 'cont' | 'marker';
}

/** Index of the last block with start <= pos, or -1. */
function blockAt(blocks: readonly DocBlock[], pos: number): number {
  let lo = 0;
  let hi = blocks.length - 1;
  let ans = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (blocks[mid]!.start <= pos) {
      ans = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return ans;
}

function assignPieces(text: string, tokens: readonly TokenScore[], blocks: DocBlock[]): Piece[][] {
  if (blocks.length === 0) blocks.push({ start: 0, end: 0, kind: 'paragraph' });
  const pieces: Piece[][] = blocks.map(() => []);
  const n = text.length;
  tokens.forEach((t, i) => {
    const s = Math.max(0, Math.min(n, t.start));
    const e = Math.max(s, Math.min(n, t.end));
    const k = blockAt(blocks, s);
    if (s === e) {
      // Empty token (part of a character): inside the block that contains its position, else a gap marker.
      if (k >= 0 && s <= blocks[k]!.end) pieces[k]!.push({ token: i, a: s, b: s, role: 'main' });
      else pieces[Math.max(0, k)]!.push({ token: i, a: s, b: s, role: 'marker' });
      return;
    }
    let first = true;
    for (let j = Math.max(0, k); j < blocks.length && blocks[j]!.start < e; j++) {
      const a = Math.max(s, blocks[j]!.start);
      const b = Math.min(e, blocks[j]!.end);
      if (a < b) {
        pieces[j]!.push({ token: i, a, b, role: first ? 'main' : 'cont' });
        first = false;
      }
    }
    // Wholly between blocks: a marker at the end of the block before it (or the start of the first).
    if (first) pieces[Math.max(0, k)]!.push({ token: i, a: s, b: s, role: 'marker' });
  });
  return pieces;
}

const MARK_ORDER = ['strong', 'em', 'code'] as const;

/** text[a, b) with the block's inline marks as nested elements. */
function renderMarked(text: string, a: number, b: number, marks: readonly InlineMark[] | undefined): string {
  if (a >= b) return '';
  if (!marks || marks.length === 0) return escapeRange(text, a, b);
  const relevant = marks.filter((m) => m.start < b && m.end > a);
  if (relevant.length === 0) return escapeRange(text, a, b);
  const cuts = new Set([a, b]);
  for (const m of relevant) {
    if (m.start > a) cuts.add(m.start);
    if (m.end < b) cuts.add(m.end);
  }
  const points = [...cuts].sort((x, y) => x - y);
  let out = '';
  for (let p = 0; p + 1 < points.length; p++) {
    const x = points[p]!;
    const y = points[p + 1]!;
    const active = new Set(relevant.filter((m) => m.start <= x && m.end >= y).map((m) => m.type));
    let inner = escapeRange(text, x, y);
    for (let q = MARK_ORDER.length - 1; q >= 0; q--) {
      const tag = MARK_ORDER[q]!;
      if (active.has(tag)) inner = `<${tag}>${inner}</${tag}>`;
    }
    out += inner;
  }
  return out;
}

const LIST_MARKER = /^[ \t]*(?:[-*+]|\d{1,9}[.)])(?:[ \t]|$)/;

function blockTag(b: DocBlock): string {
  switch (b.kind) {
    case 'heading':
      return 'h' + Math.min(6, Math.max(1, b.level ?? 1));
    case 'list_item':
      return 'li';
    case 'blockquote':
      return 'blockquote';
    case 'code_block':
      return 'pre';
    default:
      return 'p';
  }
}

interface ColorClasses {
  /** Class index of each token. */
  ofToken: Int32Array;
  light: string[];
  dark: string[];
}

function colorClasses(tokens: readonly TokenScore[], mode: ColorMode): ColorClasses {
  const light = colorScale(mode, tokens, 'light');
  const dark = colorScale(mode, tokens, 'dark');
  const index = new Map<string, number>();
  const out: ColorClasses = { ofToken: new Int32Array(tokens.length), light: [], dark: [] };
  tokens.forEach((t, i) => {
    const l = light(t);
    const d = dark(t);
    const key = l + '|' + d;
    let c = index.get(key);
    if (c === undefined) {
      c = out.light.length;
      index.set(key, c);
      out.light.push(l);
      out.dark.push(d);
    }
    out.ofToken[i] = c;
  });
  return out;
}

function renderDocument(input: AnnotatedHtmlInput, colors: ColorClasses): string {
  const { text, tokens, predictions } = input;
  const blocks = normalizeBlocks(text, input.blocks);
  const pieces = assignPieces(text, tokens, blocks);
  const dataAttrs = (i: number): string => {
    const t = tokens[i]!;
    const tokenText = text.slice(Math.max(0, t.start), Math.max(0, t.start, t.end));
    return ` tabindex=0 data-i="${escapeHtml(tokenDetails(tokenText, t, predictions?.[i]))}"`;
  };
  const marker = (i: number): string => `<span class="c${colors.ofToken[i]!} n"${dataAttrs(i)}></span>`;
  const parts: string[] = [];
  let openList: string | null = null;
  blocks.forEach((block, bi) => {
    const tag = blockTag(block);
    if (tag === 'li') {
      const listTag = block.ordered ? 'ol' : 'ul';
      if (openList !== listTag) {
        if (openList) parts.push(`</${openList}>\n`);
        parts.push(`<${listTag}>`);
        openList = listTag;
      }
    } else if (openList) {
      parts.push(`</${openList}>\n`);
      openList = null;
    }
    const classes: string[] = [];
    if (tag === 'li') {
      if (LIST_MARKER.test(text.slice(block.start, Math.min(block.end, block.start + 24)))) classes.push('m');
      const level = Math.min(6, Math.max(1, block.level ?? 1));
      if (level > 1) classes.push('l' + level);
    }
    if (block.kind === 'rule') classes.push('hr');
    let html = `<${tag}${classes.length ? ` class="${classes.join(' ')}"` : ''}>`;
    let cursor = block.start;
    for (const p of pieces[bi]!) {
      if (p.role === 'marker') {
        html += marker(p.token);
        continue;
      }
      const a = Math.max(p.a, cursor);
      const b = Math.max(a, p.b);
      if (a > cursor) html += renderMarked(text, cursor, a, block.marks);
      const inner = renderMarked(text, a, b, block.marks);
      html += p.role === 'cont' ? `<span class=c${colors.ofToken[p.token]!}>${inner}</span>` : `<span class=c${colors.ofToken[p.token]!}${dataAttrs(p.token)}>${inner}</span>`;
      cursor = Math.max(cursor, b);
    }
    if (cursor < block.end) html += renderMarked(text, cursor, block.end, block.marks);
    parts.push(html + `</${tag}>` + (openList ? '' : '\n'));
  });
  if (openList) parts.push(`</${openList}>\n`);
  return parts.join('');
}

// ---------------------------------------------------------------------------------------------
// Legend and histograms

function gradient(stops: string[]): string {
  return `linear-gradient(90deg,${stops.map((c, i) => `${c} ${Math.round((i / (stops.length - 1)) * 100)}%`).join(',')})`;
}

function sampleRange(range: Range, k = 11): number[] {
  return Array.from({ length: k }, (_, i) => range.min + ((range.max - range.min) * i) / (k - 1));
}

function legend(mode: ColorMode, tokens: readonly TokenScore[]): { html: string; css: string } {
  const label = `<p class=lm>${escapeHtml(MODE_LABELS[mode])}</p>`;
  if (mode === 'rank') {
    const counts = rankBucketCounts(tokens);
    const items = RANK_BUCKETS.map(
      (b, i) => `<li><span class="sw r${i}"></span>${escapeHtml(b.label)}: ${thousands(counts[i]!.count)}</li>`,
    ).join('');
    const css =
      RANK_BUCKETS.map((b, i) => `.r${i}{background:${b.light}}`).join('') +
      `@media screen and (prefers-color-scheme:dark){${RANK_BUCKETS.map((b, i) => `.r${i}{background:${b.dark}}`).join('')}}`;
    return { html: `${label}<ul class=sws>${items}</ul>`, css };
  }
  const values = tokens.map((t) => (mode === 'entropy' ? t.entropy : t.logprob));
  const range = meanStdRange(values);
  const color = mode === 'entropy' ? entropyColor : logprobColor;
  const xs = sampleRange(range);
  const css =
    `.gr{background:${gradient(xs.map((x) => color(x, range, 'light')))}}` +
    `@media screen and (prefers-color-scheme:dark){.gr{background:${gradient(xs.map((x) => color(x, range, 'dark')))}}}`;
  const ends = scaleLabels(mode, range);
  return { html: `${label}<div class=gr></div><div class=ge><span>${escapeHtml(ends.low)}</span><span>${escapeHtml(ends.high)}</span></div>`, css };
}

interface Bar {
  count: number;
  label: string;
  title: string;
  light: string;
  dark: string;
  attrs: string;
}

const CHART_H = 110;

function barChart(id: string, caption: string, bars: Bar[], barW: number): string {
  const max = Math.max(1, ...bars.map((b) => b.count));
  const top = 16;
  const w = bars.length * barW + 8;
  const h = top + CHART_H + 30;
  let body = '';
  bars.forEach((b, i) => {
    const bh = Math.round((b.count / max) * CHART_H * 10) / 10;
    const x = 4 + i * barW;
    const y = Math.round((top + CHART_H - bh) * 10) / 10;
    body +=
      `<rect class=bar x="${x + 1}" y="${y}" width="${barW - 2}" height="${bh}" data-count="${b.count}" ${b.attrs} style="--l:${b.light};--d:${b.dark}"><title>${escapeHtml(b.title)}</title></rect>` +
      `<text x="${x + barW / 2}" y="${y - 3}" class=bc>${b.count}</text>` +
      (b.label ? `<text x="${x + barW / 2}" y="${top + CHART_H + 14}" class=bl>${escapeHtml(b.label)}</text>` : '');
  });
  body += `<line x1="4" x2="${w - 4}" y1="${top + CHART_H + 0.5}" y2="${top + CHART_H + 0.5}" class=ax />`;
  return (
    `<figure><svg id="${id}" viewBox="0 0 ${w} ${h}" width="${w}" height="${h}" role="img" aria-labelledby="${id}-t">` +
    `<title id="${id}-t">${escapeHtml(caption)}</title>${body}</svg><figcaption>${escapeHtml(caption)}</figcaption></figure>`
  );
}

function histograms(tokens: readonly TokenScore[]): string {
  const range = meanStdRange(tokens.map((t) => t.logprob));
  const lp = logprobHistogram(tokens);
  const total = Math.max(1, tokens.length);
  const lpBars: Bar[] = lp.map((bin, i) => {
    const mid = Number.isFinite(bin.from) ? (bin.from + bin.to) / 2 : bin.to - 0.5;
    const name = Number.isFinite(bin.from) ? `ln p from ${bin.from} to ${bin.to}` : `ln p below ${bin.to}`;
    return {
      count: bin.count,
      label: i === 0 ? `<${bin.to}` : i % 3 === 0 || i === lp.length - 1 ? String(bin.from) : '',
      title: `${name}: ${bin.count} tokens (${((100 * bin.count) / total).toFixed(1)}%)`,
      light: logprobColor(mid, range, 'light'),
      dark: logprobColor(mid, range, 'dark'),
      attrs: `data-from="${bin.from}" data-to="${bin.to}"`,
    };
  });
  const rb = rankBucketCounts(tokens);
  const rankBars: Bar[] = rb.map((b, i) => ({
    count: b.count,
    label: b.label,
    title: `${b.label}: ${b.count} tokens (${((100 * b.count) / total).toFixed(1)}%)`,
    light: RANK_BUCKETS[i]!.light,
    dark: RANK_BUCKETS[i]!.dark,
    attrs: `data-bucket="${i}"`,
  }));
  return (
    barChart('hist-logprob', 'Tokens by log-probability (1-nat bins, ln p)', lpBars, 22) +
    barChart('hist-rank', "Tokens by rank in the model's predictions (GLTR buckets)", rankBars, 72)
  );
}

// ---------------------------------------------------------------------------------------------

const CSS = `:root{color-scheme:light dark}
html{scroll-padding-bottom:7rem}
body{margin:0 auto;max-width:46rem;padding:2rem 1.5rem 8rem;font:17px/1.7 Georgia,'Times New Roman',serif;background:#fff;color:#1b1b1b}
header h1{font:600 1.6rem/1.3 system-ui,sans-serif;margin:0 0 .6rem}
.meta,.legend,.stats,footer,.hint{font:14px/1.5 system-ui,sans-serif}
.meta{display:grid;grid-template-columns:max-content 1fr;gap:.1rem 1rem;margin:0;color:#444}
.meta dt{font-weight:600}.meta dd{margin:0}
.legend{margin:1.2rem 0;padding:.6rem .8rem;border:1px solid #ddd;border-radius:6px}
.lm{margin:0 0 .4rem}.gr{height:.9rem;border-radius:3px}.ge{display:flex;justify-content:space-between;gap:1rem;font-size:12px;color:#555}
.sws{display:flex;flex-wrap:wrap;gap:.4rem 1.2rem;list-style:none;margin:0;padding:0}.sw{display:inline-block;width:1.1em;height:1.1em;border-radius:3px;vertical-align:-.2em;margin-right:.35em}
.hint{color:#666;margin:.4rem 0 0}
.d{margin:1.5rem 0 2.5rem}
.d p,.d li,.d pre,.d blockquote,.d h1,.d h2,.d h3,.d h4,.d h5,.d h6{white-space:pre-wrap;overflow-wrap:anywhere}
.d h1,.d h2,.d h3,.d h4,.d h5,.d h6{font-family:system-ui,sans-serif;line-height:1.4}
.d pre{font:14px/1.6 ui-monospace,monospace;padding:.5rem;border-left:3px solid #ccc}
.d blockquote{margin-left:0;padding-left:1rem;border-left:3px solid #ccc;color:#333}
.d code{font-family:ui-monospace,monospace;font-size:.9em}
.d ul,.d ol{padding-left:1.4rem}.d li.m{list-style:none;margin-left:-1.4rem}
.d .l2{margin-left:1.5rem}.d .l3{margin-left:3rem}.d .l4{margin-left:4.5rem}.d .l5{margin-left:6rem}.d .l6{margin-left:7.5rem}
.d .hr{color:#888}
.d [data-i]{border-radius:2px}
.d [data-i]:focus{outline:2px solid #1a56db;outline-offset:1px}
.d [data-i]:hover::after,.d [data-i]:focus::after{content:attr(data-i);position:fixed;left:0;right:0;bottom:0;z-index:9;max-height:40vh;overflow:auto;padding:.55rem 1rem;background:#fffbe8;color:#111;border-top:1px solid #999;box-shadow:0 -2px 8px rgba(0,0,0,.15);font:13px/1.5 ui-monospace,Menlo,Consolas,monospace;font-style:normal;font-weight:normal;text-decoration:none;white-space:pre-wrap;pointer-events:none}
.n::before{content:"¶";opacity:.55;font-size:.8em}
.x{font:.72em ui-monospace,monospace;border:1px dashed #b3261e;border-radius:2px;padding:0 1px;color:#b3261e}
.stats h2{font-size:1.1rem;margin:0 0 .5rem}.stats dl{display:grid;grid-template-columns:max-content 1fr;gap:.1rem 1rem;margin:0 0 1rem}.stats dd{margin:0}
figure{margin:0 0 1rem;overflow-x:auto}figcaption{color:#555;font-size:13px}
.bar{fill:var(--l)}.bc,.bl{font:10px system-ui,sans-serif;fill:currentColor;text-anchor:middle}.ax{stroke:currentColor;stroke-opacity:.5}
footer{color:#777;margin-top:2rem}
@media screen and (prefers-color-scheme:dark){body{background:#16181d;color:#e6e6e6}.meta,.ge,.hint,figcaption,footer{color:#aaa}.legend{border-color:#444}
.d [data-i]:hover::after,.d [data-i]:focus::after{background:#2a2b31;color:#f0f0f0;border-color:#555}.d [data-i]:focus{outline-color:#8ab4f8}
.x{color:#ff8a80;border-color:#ff8a80}.d blockquote{color:#ccc}.bar{fill:var(--d)}}
@media print{body{max-width:none;padding:0;font-size:11pt}*{-webkit-print-color-adjust:exact;print-color-adjust:exact}.d [data-i]::after{display:none!important}.hint{display:none}.d [data-i]:focus{outline:none}figure,.legend{break-inside:avoid}}
`;

/** The whole annotated HTML file for a scored draft. */
export function renderAnnotatedHtml(input: AnnotatedHtmlInput): string {
  const mode: ColorMode = input.mode ?? 'logprob';
  if (!['logprob', 'rank', 'entropy'].includes(mode)) throw new Error(`unknown color mode "${String(mode)}"`);
  const { tokens, text } = input;
  const title = input.title?.trim() || 'Untitled draft';
  const date = input.generatedAt ?? new Date();
  const ppl = input.perplexity ?? meanPerplexity(tokens.map((t) => t.logprob));
  const colors = colorClasses(tokens, mode);
  const colorCss =
    colors.light.map((c, i) => `.c${i}{background:${c}}`).join('') +
    `\n@media screen and (prefers-color-scheme:dark){${colors.dark.map((c, i) => `.c${i}{background:${c}}`).join('')}}\n`;
  const lg = legend(mode, tokens);
  const doc = renderDocument(input, colors);
  const rb = rankBucketCounts(tokens);
  const pct = (k: number) => (tokens.length ? `${((100 * k) / tokens.length).toFixed(1)}%` : '—');
  const meanEntropy = tokens.length ? tokens.reduce((s, t) => s + t.entropy, 0) / tokens.length : NaN;
  const dateText = date.toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC');
  const modeName = { logprob: 'log-probability', rank: 'rank (GLTR)', entropy: 'entropy' }[mode];

  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<meta name="viewport" content="width=device-width,initial-scale=1">
<meta name="generator" content="Likely">
<title>${escapeHtml(title)} — Likely</title>
<style>${CSS}${lg.css}
${colorCss}</style></head>
<body>
<header><h1>${escapeHtml(title)}</h1>
<dl class=meta><dt>Model</dt><dd id=model>${escapeHtml(input.model.name)}</dd><dt>Device</dt><dd id=device>${escapeHtml(input.model.device)}</dd><dt>Exported</dt><dd><time datetime="${date.toISOString()}">${dateText}</time></dd><dt>Perplexity</dt><dd id=perplexity>${formatPerplexity(ppl)}</dd><dt>Tokens</dt><dd id=tokens>${thousands(tokens.length)}</dd><dt>Colors</dt><dd id=mode data-mode="${mode}">${modeName}</dd></dl></header>
<section class=legend aria-label="Legend">${lg.html}<p class=hint>Hover over a token, or Tab to it, to see its probability, rank, entropy and the model's top predictions there.</p></section>
<main class=d>
${doc}</main>
<section class=stats aria-label="Statistics"><h2>Statistics</h2>
<dl><dt>Words</dt><dd>${thousands(countWords(text))}</dd><dt>Tokens</dt><dd>${thousands(tokens.length)}</dd><dt>Perplexity</dt><dd>${formatPerplexity(ppl)}</dd><dt>Mean entropy</dt><dd>${Number.isFinite(meanEntropy) ? meanEntropy.toFixed(2) + ' nats' : '—'}</dd><dt>In the top 10</dt><dd>${pct(rb[0]!.count)}</dd><dt>Beyond the top 1,000</dt><dd>${pct(rb[3]!.count)}</dd></dl>
${histograms(tokens)}</section>
<footer>Made with Likely. Colors: ${escapeHtml(MODE_LABELS[mode])}.</footer>
</body></html>
`;
}
