/**
 * Block structure of a Markdown source, over the source text itself: the CLI scores a `.md` file
 * exactly as `likely score` does (the raw text, markers and all), and this only says which ranges
 * are headings, list items, quotes, code and paragraphs, and where emphasis is. The Markdown
 * markers (`#`, `-`, `*`, `` ` ``) stay in the text and are styled with it, so token offsets and
 * counts are unchanged. An approximation of CommonMark: ATX and setext headings, fenced code,
 * `>` quotes, `-`/`*`/`+`/`1.` list items (indent gives the nesting level), thematic breaks,
 * `code`, **strong** or __strong__, and *em* or _em_ inside a block. Links and HTML stay plain text (the
 * export never links out). Environment-neutral.
 */
import type { DocBlock, InlineMark } from './export-html.ts';

interface Line {
  start: number;
  end: number;
  s: string;
}

function splitLines(text: string): Line[] {
  const out: Line[] = [];
  let pos = 0;
  for (;;) {
    const nl = text.indexOf('\n', pos);
    const stop = nl === -1 ? text.length : nl;
    const end = nl !== -1 && stop > pos && text[stop - 1] === '\r' ? stop - 1 : stop;
    out.push({ start: pos, end, s: text.slice(pos, end) });
    if (nl === -1) break;
    pos = nl + 1;
  }
  return out;
}

const BLANK = /^[ \t]*$/;
const FENCE = /^ {0,3}(`{3,}|~{3,})/;
const ATX = /^ {0,3}(#{1,6})(?:[ \t]|$)/;
const RULE = /^ {0,3}([-*_])(?:[ \t]*\1){2,}[ \t]*$/;
const QUOTE = /^ {0,3}>/;
const LIST = /^([ \t]*)([-*+]|\d{1,9}[.)])(?:[ \t]+|$)/;
const SETEXT1 = /^ {0,3}=+[ \t]*$/;
const SETEXT2 = /^ {0,3}-+[ \t]*$/;

function startsBlock(s: string): boolean {
  return FENCE.test(s) || ATX.test(s) || RULE.test(s) || QUOTE.test(s) || LIST.test(s);
}

function indentWidth(ws: string): number {
  let w = 0;
  for (const ch of ws) w += ch === '\t' ? 4 - (w % 4) : 1;
  return w;
}

/** Blocks (with inline marks) of a Markdown text, offsets in UTF-16 code units into it. */
export function markdownBlocks(text: string): DocBlock[] {
  const lines = splitLines(text);
  const out: DocBlock[] = [];
  const add = (kind: DocBlock['kind'], from: number, to: number, extra: Partial<DocBlock> = {}) => {
    const start = lines[from]!.start;
    const end = lines[to]!.end;
    const block: DocBlock = { start, end, kind, ...extra };
    if (kind !== 'code_block' && kind !== 'rule') {
      const marks = inlineMarks(text, start, end);
      if (marks.length) block.marks = marks;
    }
    out.push(block);
  };
  let i = 0;
  while (i < lines.length) {
    const s = lines[i]!.s;
    if (BLANK.test(s)) {
      i++;
      continue;
    }
    const fence = FENCE.exec(s);
    if (fence) {
      const closer = new RegExp(`^ {0,3}${fence[1]![0] === '`' ? '`' : '~'}{${fence[1]!.length},}[ \\t]*$`);
      let j = i + 1;
      while (j < lines.length && !closer.test(lines[j]!.s)) j++;
      const last = Math.min(j, lines.length - 1);
      add('code_block', i, last);
      i = last + 1;
      continue;
    }
    const atx = ATX.exec(s);
    if (atx) {
      add('heading', i, i, { level: atx[1]!.length });
      i++;
      continue;
    }
    if (RULE.test(s)) {
      add('rule', i, i);
      i++;
      continue;
    }
    if (QUOTE.test(s)) {
      let j = i;
      while (j + 1 < lines.length && QUOTE.test(lines[j + 1]!.s)) j++;
      add('blockquote', i, j);
      i = j + 1;
      continue;
    }
    const list = LIST.exec(s);
    if (list) {
      let j = i;
      // Continuation lines (lazy or indented) belong to the item until a blank line or a new block.
      while (j + 1 < lines.length && !BLANK.test(lines[j + 1]!.s) && !startsBlock(lines[j + 1]!.s)) j++;
      add('list_item', i, j, { level: Math.min(6, Math.floor(indentWidth(list[1]!) / 2) + 1), ordered: /\d/.test(list[2]!) });
      i = j + 1;
      continue;
    }
    let j = i;
    let setext = 0;
    while (j + 1 < lines.length) {
      const next = lines[j + 1]!.s;
      if (BLANK.test(next)) break;
      if (SETEXT1.test(next) || SETEXT2.test(next)) {
        setext = SETEXT1.test(next) ? 1 : 2;
        j++;
        break;
      }
      if (startsBlock(next)) break;
      j++;
    }
    if (setext) add('heading', i, j, { level: setext });
    else add('paragraph', i, j);
    i = j + 1;
  }
  return out;
}

const WORD = /[\p{L}\p{N}]/u;

/** Code spans, strong and emphasis in text[start, end); the marks include their delimiters. */
export function inlineMarks(text: string, start: number, end: number): InlineMark[] {
  const src = text.slice(start, end);
  const masked = src.split('');
  const marks: InlineMark[] = [];
  const mask = (a: number, b: number, code = false) => {
    for (let k = a; k < b; k++) masked[k] = code ? '\u0002' : '\u0001';
  };
  for (const m of src.matchAll(/(?<!`)(`+)(?!`)([\s\S]*?[^`])\1(?!`)/g)) {
    marks.push({ start: start + m.index, end: start + m.index + m[0].length, type: 'code' });
    mask(m.index, m.index + m[0].length, true);
  }
  const emphasis = (re: RegExp, type: 'strong' | 'em', width: number) => {
    const cur = masked.join('');
    for (const m of cur.matchAll(re)) {
      const a = m.index;
      const b = a + m[0].length;
      if (m[1]![0] === '_' && (WORD.test(cur[a - 1] ?? '') || WORD.test(cur[b] ?? ''))) continue; // snake_case is not emphasis
      marks.push({ start: start + a, end: start + b, type });
      mask(a, a + width);
      mask(b - width, b);
    }
  };
  emphasis(/(\*\*|__)(?!\s)([\s\S]*?[^\s\\])\1/g, 'strong', 2);
  emphasis(/(\*|_)(?![\s*_])([\s\S]*?[^\s\\*_])\1(?![*_])/g, 'em', 1);
  return marks.sort((x, y) => x.start - y.start || y.end - x.end);
}
