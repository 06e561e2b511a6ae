// Unit tests of the pure HTML export (common/export-html.ts) and the Markdown block reader
// (common/markdown-blocks.ts). They live in e2e/ because common/ may not import node:test (lint
// and tsconfig keep common/ free of Node). Scores here are synthetic: these tests are about
// rendering; e2e/export.test.ts exports real engine output and checks it in Chromium.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Prediction, TokenScore } from '../common/api.ts';
import { colorScale, meanStdRange, RANK_BUCKETS, type ColorMode } from '../common/colors.ts';
import { renderAnnotatedHtml, plainTextBlocks, type AnnotatedHtmlInput, type DocBlock } from '../common/export-html.ts';
import { formatProbability } from '../common/format.ts';
import { markdownBlocks, inlineMarks } from '../common/markdown-blocks.ts';
import { logprobHistogram, rankBucketCounts } from '../common/stats.ts';

/** Deterministic PRNG (mulberry32). */
function rng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = seed;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A GPT-2-like split: words with their leading space, whitespace runs, single other characters. */
function tokenize(text: string, rand = rng(1)): TokenScore[] {
  const out: TokenScore[] = [];
  for (const m of text.matchAll(/ ?[\p{L}\p{N}]+| ?[^\s\p{L}\p{N}]|\s+/gu)) {
    const start = m.index;
    out.push({ id: out.length, text: m[0], start, end: start + m[0].length, logprob: -rand() * 14, rank: 1 + Math.floor(rand() ** 3 * 5000), entropy: rand() * 8 });
  }
  return out;
}

function input(text: string, extra: Partial<AnnotatedHtmlInput> = {}): AnnotatedHtmlInput {
  return { text, tokens: tokenize(text), model: { name: 'Test model', device: 'cpu' }, generatedAt: new Date('2025-01-02T03:04:05Z'), ...extra };
}

const main = (html: string) => html.slice(html.indexOf('<main'), html.indexOf('</main>'));
const dataCount = (html: string) => (main(html).match(/ data-i="/g) ?? []).length;

function unescape(s: string): string {
  return s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&amp;/g, '&');
}

/** The visible text of <main>: code-point marks turned back into characters, markers dropped, tags stripped. */
function visibleText(html: string): string[] {
  const body = main(html)
    .replace(/<span class=x>U\+([0-9A-F]{4})<\/span>/g, (_, h: string) => String.fromCharCode(parseInt(h, 16)))
    .replace(/<span class="c\d+ n"[^>]*><\/span>/g, '');
  const blocks = [...body.matchAll(/<(p|h[1-6]|li|pre|blockquote)\b[^>]*>([\s\S]*?)<\/\1>/g)].map((m) => m[2]!);
  return blocks.map((b) => unescape(b.replace(/<[^>]*>/g, '')));
}

test('hostile text stays text: no markup, no raw control or bidi characters, attributes cannot be broken out of', () => {
  const text =
    'Hi <script>alert(1)</script> and </span><img src=x onerror=alert(2)> with &amp; &lt; "quoted" \' x" onmouseover="alert(3)\n' +
    'bell\u0007 nul\u0000 del\u007f c1\u0085 rlo\u202Eevil\u202C lri\u2066x\u2069 bom\ufeff lone\ud800 ls\u2028 done';
  const html = renderAnnotatedHtml(input(text, { title: '<b>title</b>', model: { name: '<img src=x>', device: '"><script>' } }));
  // Every tag in the body is one the exporter writes, with attributes it writes; no other '<' or '>' is left.
  const body = html.slice(html.indexOf('</head>'));
  const TAG = /<\/?([a-zA-Z][\w-]*)((?:\s+[\w:-]+(?:=(?:"[^"]*"|[^\s>"]*))?)*)\s*\/?>/g;
  const tags = new Set<string>();
  const attrs = new Set<string>();
  for (const m of body.matchAll(TAG)) {
    tags.add(m[1]!.toLowerCase());
    for (const a of m[2]!.matchAll(/\s+([\w:-]+)(?:=(?:"[^"]*"|[^\s>"]*))?/g)) attrs.add(a[1]!.toLowerCase());
  }
  assert.doesNotMatch(body.replace(TAG, ''), /[<>]/);
  const allowedTags = 'head body header h1 h2 dl dt dd time section p ul li span main figure svg title rect text line figcaption footer html div';
  for (const tag of tags) assert.ok(allowedTags.split(' ').includes(tag), `unexpected tag <${tag}>`);
  const allowedAttrs = 'class tabindex data-i id datetime data-mode aria-label viewbox width height role aria-labelledby x y x1 x2 y1 y2 data-count data-from data-to data-bucket style';
  for (const a of attrs) assert.ok(allowedAttrs.split(' ').includes(a), `unexpected attribute ${a}`);
  assert.doesNotMatch(html, /<script|<link|<img|<iframe|url\(|@import/i);
  // Only the neutral characters survive raw; everything else is a visible code point.
  // eslint-disable-next-line no-control-regex
  assert.doesNotMatch(html, /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069\u2028\ufeff]/);
  assert.doesNotMatch(html, /[\ud800-\udbff](?![\udc00-\udfff])/);
  for (const cp of ['0007', '0000', '007F', '0085', '202E', '202C', '2066', '2069', 'FEFF', 'D800', '2028']) assert.match(main(html), new RegExp(`<span class=x>U\\+${cp}</span>`));
  // Each data-i value is one attribute: no unescaped quote inside it.
  for (const m of main(html).matchAll(/data-i="([^"]*)"/g)) assert.doesNotMatch(m[1]!, /[<>]/);
  assert.equal(dataCount(html), tokenize(text).length);
  // And the text reads back exactly: one paragraph, its newline kept, escapes undone.
  assert.deepEqual(visibleText(html), [text]);
});

test('every token is one element with its data, for CRLF, emoji, CJK, partial-character tokens and newline-only tokens', () => {
  const text = 'First line\r\nsecond 😀 line 日本語.\r\n\r\n\r\nNext paragraph 👩‍👩‍👧 ends\n\n';
  const tokens = tokenize(text);
  // Split "日" into three tokens as GPT-2 does for a 3-byte character: the text goes to the first,
  // the other two are empty at the end of the character.
  const at = tokens.findIndex((t) => t.text.includes('日本語'));
  const t = tokens[at]!;
  const pieces: TokenScore[] = [
    { ...t, text: t.text.slice(0, -2), end: t.end - 2 },
    { ...t, id: 9001, text: '', start: t.end - 2, end: t.end - 2 },
    { ...t, id: 9002, text: '', start: t.end - 2, end: t.end - 2 },
    { ...t, id: 9003, text: '本語', start: t.end - 2, end: t.end },
  ];
  tokens.splice(at, 1, ...pieces);
  const html = renderAnnotatedHtml({ ...input(text), tokens });
  assert.equal(dataCount(html), tokens.length);
  assert.equal((main(html).match(/data-i="\(part of a character\)/g) ?? []).length, 2);
  // Newline-only tokens between paragraphs are markers; the text of the two paragraphs reads back (CRLF as LF).
  assert.ok((main(html).match(/class="c\d+ n"/g) ?? []).length >= 2);
  assert.deepEqual(visibleText(html), ['First line\nsecond 😀 line 日本語.', 'Next paragraph 👩‍👩‍👧 ends']);
  assert.doesNotMatch(html, /\r/);
});

test('random texts and block layouts: token count and text are always preserved', () => {
  const rand = rng(42);
  const alphabet = ['a', 'b', ' ', ' ', '\n', '\n\n', '<', '&', '"', '*', '#', '😀', '日', '\u202E', '\u0007', '\r\n', '\r', '-', '`'];
  for (let trial = 0; trial < 200; trial++) {
    let text = '';
    const len = Math.floor(rand() * 60);
    for (let i = 0; i < len; i++) text += alphabet[Math.floor(rand() * alphabet.length)]!;
    const tokens = tokenize(text, rand);
    // Empty tokens (parts of a character) at random token boundaries, inside blocks or between them.
    for (let k = tokens.length; k >= 0; k--) {
      if (rand() < 0.15) {
        const at = k < tokens.length ? tokens[k]!.start : text.length;
        tokens.splice(k, 0, { id: -1, text: '', start: at, end: at, logprob: -1, rank: 1, entropy: 1 });
      }
    }
    // Random (possibly overlapping, unsorted, out-of-range) blocks, or none, or Markdown's.
    let blocks: DocBlock[] | undefined;
    const pick = rand();
    if (pick < 0.33) blocks = undefined;
    else if (pick < 0.66) blocks = markdownBlocks(text);
    else
      blocks = Array.from({ length: Math.floor(rand() * 4) }, () => {
        const a = Math.floor(rand() * (text.length + 4)) - 2;
        return { start: a, end: a + Math.floor(rand() * 12), kind: 'paragraph' as const, marks: [{ start: a + 1, end: a + 3, type: 'em' as const }] };
      });
    const html = renderAnnotatedHtml({ ...input(text), tokens, blocks });
    assert.equal(dataCount(html), tokens.length, JSON.stringify({ text, blocks }));
    // Nothing but whitespace is ever dropped (a lone CR is a visible U+000D; CR before LF is a line break).
    const shown = visibleText(html).join('');
    assert.equal(shown.replace(/[^\S\r]+/g, ''), text.replace(/\r\n/g, '\n').replace(/[^\S\r]+/g, ''), JSON.stringify({ text, blocks }));
    assert.doesNotMatch(html, /\r/);
  }
});

function colorOfTokens(html: string, theme: 'light' | 'dark'): string[] {
  const css = html.slice(html.indexOf('<style>'), html.indexOf('</style>'));
  const darkAt = css.lastIndexOf('@media screen and (prefers-color-scheme:dark){.c0{');
  const part = theme === 'light' ? css.slice(0, darkAt) : css.slice(darkAt);
  const map = new Map([...part.matchAll(/\.(c\d+)\{background:([^}]+)\}/g)].map((m) => [m[1]!, m[2]!]));
  return [...main(html).matchAll(/<span class="?(c\d+)[^>]* data-i=/g)].map((m) => map.get(m[1]!)!);
}

test('each token has exactly the colorScale color of its mode, light and dark', () => {
  const text = 'The quick brown fox jumps over the lazy dog. '.repeat(30);
  const tokens = tokenize(text, rng(7));
  for (const mode of ['logprob', 'rank', 'entropy'] as ColorMode[]) {
    const html = renderAnnotatedHtml({ ...input(text), tokens, mode });
    for (const theme of ['light', 'dark'] as const) {
      const scale = colorScale(mode, tokens, theme);
      assert.deepEqual(colorOfTokens(html, theme), tokens.map(scale), `${mode} ${theme}`);
    }
    assert.match(html, new RegExp(`data-mode="${mode}"`));
  }
  assert.throws(() => renderAnnotatedHtml({ ...input(text), mode: 'bogus' as ColorMode }), /unknown color mode/);
});

test('per-token details: probability, rank, entropy and the top 5 predictions, escaped', () => {
  const text = 'Hello world';
  const tokens: TokenScore[] = [
    { id: 1, text: 'Hello', start: 0, end: 5, logprob: Math.log(0.0123), rank: 12345, entropy: 3.14159 },
    { id: 2, text: ' world', start: 5, end: 11, logprob: Math.log(0.5), rank: 1, entropy: 0.5 },
  ];
  const preds: Prediction[][] = [
    [
      { id: 3, text: ' <b>"', logprob: Math.log(0.31) },
      { id: 4, text: '\n', logprob: Math.log(0.052) },
      { id: 5, text: '\\xe6', logprob: Math.log(0.01) },
      { id: 6, text: 'a', logprob: Math.log(0.001) },
      { id: 7, text: 'b', logprob: Math.log(0.00001) },
      { id: 8, text: 'sixth', logprob: Math.log(0.000001) },
    ],
    [],
  ];
  const html = renderAnnotatedHtml({ ...input(text), tokens, predictions: preds });
  const details = [...main(html).matchAll(/data-i="([^"]*)"/g)].map((m) => unescape(m[1]!));
  assert.equal(details[0], '“Hello” p 1.2% · rank 12,345 · entropy 3.14 nats\ntop 5: ␣<b>" 31% · ↵ 5.2% · \\xe6 1% · a 0.1% · b 0.001%');
  assert.equal(details[1], '“␣world” p 50% · rank 1 · entropy 0.50 nats');
  assert.doesNotMatch(main(html), /<b>/);
  // Shown by CSS on hover and focus, from the attribute: no script needed.
  assert.match(html, /\[data-i\]:hover::after,\.d \[data-i\]:focus::after\{content:attr\(data-i\)/);
  assert.doesNotMatch(html, /<script/);
});

test('header, legend and histograms carry the model, device, date, perplexity and the counts', () => {
  const text = 'Some words to score, and a few more words to fill the histogram nicely. '.repeat(20);
  const tokens = tokenize(text, rng(3));
  const html = renderAnnotatedHtml({ ...input(text), tokens, model: { name: 'GPT-2 small', device: 'cuda' }, perplexity: 123.456 });
  assert.match(html, /<dd id=model>GPT-2 small<\/dd><dt>Device<\/dt><dd id=device>cuda<\/dd>/);
  assert.match(html, /<time datetime="2025-01-02T03:04:05.000Z">2025-01-02 03:04:05 UTC<\/time>/);
  assert.match(html, /<dd id=perplexity>123<\/dd>/);
  assert.match(html, new RegExp(`<dd id=tokens>${tokens.length.toLocaleString('en-US')}</dd>`));
  assert.match(html, /Log-probability: red is surprising/);
  assert.match(html, /\.gr\{background:linear-gradient\(90deg,hsl\(0 60% 85%\) 0%,/);

  const bars = (id: string) => {
    const svg = html.slice(html.indexOf(`<svg id="${id}"`), html.indexOf('</svg>', html.indexOf(`<svg id="${id}"`)));
    return [...svg.matchAll(/<rect class=bar [^>]*height="([\d.]+)" data-count="(\d+)"/g)].map((m) => ({ height: Number(m[1]), count: Number(m[2]) }));
  };
  const lp = bars('hist-logprob');
  assert.deepEqual(lp.map((b) => b.count), logprobHistogram(tokens).map((b) => b.count));
  const rk = bars('hist-rank');
  assert.deepEqual(rk.map((b) => b.count), rankBucketCounts(tokens).map((b) => b.count));
  for (const set of [lp, rk]) {
    const max = Math.max(...set.map((b) => b.count));
    for (const b of set) assert.ok(Math.abs(b.height - (b.count / max) * 110) <= 0.05, `bar height ${b.height} for ${b.count}/${max}`);
  }
  // Rank mode: swatches with the bucket colors and counts.
  const rankHtml = renderAnnotatedHtml({ ...input(text), tokens, mode: 'rank' });
  const counts = rankBucketCounts(tokens);
  RANK_BUCKETS.forEach((b, i) => {
    assert.ok(rankHtml.includes(`.r${i}{background:${b.light}}`));
    assert.ok(rankHtml.includes(`<span class="sw r${i}"></span>${b.label}: ${counts[i]!.count.toLocaleString('en-US')}</li>`));
  });
  // Print and dark-mode stylesheets.
  assert.match(html, /@media print\{[^]*print-color-adjust:exact/);
  assert.match(html, /@media screen and \(prefers-color-scheme:dark\)\{\.c0\{background:hsl\(/);
  assert.match(html, /<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">/);
});

test('structure: paragraphs at blank lines without blocks; headings, lists, quotes, code and emphasis from Markdown', () => {
  const plain = 'One\ntwo\n\n  \nThree';
  assert.deepEqual(plainTextBlocks(plain), [
    { start: 0, end: 7, kind: 'paragraph' },
    { start: 12, end: 17, kind: 'paragraph' },
  ]);
  const plainHtml = renderAnnotatedHtml(input(plain));
  assert.equal((main(plainHtml).match(/<p>/g) ?? []).length, 2);

  const md = '# Title with *em*\n\nA **strong** word, `co*de*`, snake_case_name and _under_.\n\n- one\n  more\n- two\n   - nested\n1. first\n\n> quoted\n> still\n\n```js\nlet x = "*no em*";\n```\n\nSetext\n===\n\n---\n';
  const blocks = markdownBlocks(md);
  const kinds = blocks.map((b) => `${b.kind}${b.level ?? ''}${b.ordered ? 'o' : ''}:${md.slice(b.start, b.end)}`);
  assert.deepEqual(kinds, [
    'heading1:# Title with *em*',
    'paragraph:A **strong** word, `co*de*`, snake_case_name and _under_.',
    'list_item1:- one\n  more',
    'list_item1:- two',
    'list_item2:   - nested',
    'list_item1o:1. first',
    'blockquote:> quoted\n> still',
    'code_block:```js\nlet x = "*no em*";\n```',
    'heading1:Setext\n===',
    'rule:---',
  ]);
  const marks = (b: DocBlock) => (b.marks ?? []).map((m) => `${m.type}:${md.slice(m.start, m.end)}`);
  assert.deepEqual(marks(blocks[0]!), ['em:*em*']);
  assert.deepEqual(marks(blocks[1]!), ['strong:**strong**', 'code:`co*de*`', 'em:_under_']);
  assert.equal(blocks[7]!.marks, undefined);
  assert.deepEqual(
    inlineMarks('**bold *and em* in** it', 0, 23).map((m) => m.type),
    ['strong', 'em'],
  );

  const html = renderAnnotatedHtml(input(md, { blocks }));
  const body = main(html);
  const inside = (tag: string, from = body) => [...from.matchAll(new RegExp(`<${tag}>([^<]*)</${tag}>`, 'g'))].map((m) => m[1]).join('');
  assert.equal(inside('em', body.slice(0, body.indexOf('</h1>'))), '*em*');
  assert.equal(inside('strong'), '**strong**');
  assert.equal(inside('code'), '`co*de*`');
  assert.equal(inside('em'), '*em*_under_');
  assert.match(body, /<ul><li class="m">[^]*<li class="m l2">[^]*<\/ul>\n<ol><li class="m">/);
  assert.match(body, /<blockquote>[^]*<\/blockquote>/);
  assert.match(body, /<pre>[^]*<\/pre>/);
  assert.match(body, /<p class="hr">/);
  assert.equal(dataCount(html), tokenize(md).length);
  // Markdown markers stay in the text: the visible text is the source, block by block.
  assert.deepEqual(visibleText(html), blocks.map((b) => md.slice(b.start, b.end)));
});

test('size: a 20,000-token document, bytes per token (and render time, reported, not asserted)', (t) => {
  const words = ['the', 'model', 'finds', 'every', 'token', 'of', 'your', 'draft', 'likely', 'or', 'not', 'quite', 'so'];
  const rand = rng(11);
  let text = '';
  while (text.length < 110_000) {
    text += (text && !text.endsWith('\n') ? ' ' : '') + words[Math.floor(rand() * words.length)];
    if (rand() < 0.08) text += '.';
    if (rand() < 0.01) text += '\n\n';
  }
  const tokens = tokenize(text, rand).slice(0, 20_000);
  text = text.slice(0, tokens.at(-1)!.end);
  const predictions = tokens.map(() => Array.from({ length: 5 }, () => ({ id: 1, text: ' ' + words[Math.floor(rand() * words.length)]!, logprob: -rand() * 8 })));
  const start = performance.now();
  const html = renderAnnotatedHtml({ ...input(text), tokens, predictions });
  const ms = performance.now() - start;
  const bytes = new TextEncoder().encode(html).length;
  t.diagnostic(`20,000 tokens (${text.length} chars, top-5 predictions): ${ms.toFixed(0)} ms, ${(bytes / 1e6).toFixed(2)} MB, ${(bytes / tokens.length).toFixed(0)} bytes/token`);
  assert.equal(dataCount(html), 20_000);
  assert.ok(bytes / tokens.length < 200, `${bytes / tokens.length} bytes per token`);
});

test("the legend's top stops at p 100% when mean + 2.5 sd passes ln p 0", () => {
  // Mostly near-certain tokens and a few surprising ones: mean + 2.5 sd ≈ +0.9.
  const text = 'so so so so so so so so so so so so so so so so so so so odd';
  const tokens = tokenize(text).map((t, i) => ({ ...t, logprob: i % 10 === 9 ? -6 : -0.01 }));
  const range = meanStdRange(tokens.map((t) => t.logprob));
  assert.ok(range.max > 0.5);
  const html = renderAnnotatedHtml({ ...input(text), tokens });
  const ends = [...html.matchAll(/<div class=ge><span>([^<]*)<\/span><span>([^<]*)<\/span>/g)].map((m) => [m[1], m[2]]);
  assert.deepEqual(ends, [[`surprising: p ≤ ${formatProbability(range.min)} (ln p ≤ ${range.min.toFixed(2)})`, 'expected: p 100% (ln p 0)']]);
});
