/**
 * The text the engine scores, and an exact map between its UTF-16 offsets and ProseMirror
 * positions. DOM-free.
 *
 * The text is the document's visible text: the text of each textblock (paragraph, heading, list
 * item, code block), with a hard break as "\n", joined by "\n\n" — except "\n" before the first
 * textblock of a list item that follows text of the same list (its items are lines, like a
 * Markdown list). Markdown markers, list bullets, images and rules contribute no text.
 * Inside a textblock one character is one position, so the map is a sorted list of segments
 * (runs of text nodes, or one hard break) that are contiguous in both spaces; separators fall
 * between segments and have no position of their own.
 *
 * Text and segments are cached per top-level node (nodes are immutable), so rebuilding the map
 * after a keystroke costs one pass over the top-level blocks plus the edited block.
 */
import type { Node as PMNode } from 'prosemirror-model';
import type { DocBlock, InlineMark } from '../../common/export-html.ts';

export interface Segment {
  /** Offset of the segment in the text. */
  text: number;
  /** ProseMirror position of its first character. */
  pos: number;
  len: number;
  /** A hard break ("\n", one position) or a run of text. */
  kind: 'text' | 'break';
}

export interface DocText {
  text: string;
  segments: Segment[];
  /** Textblocks with offsets into `text` (what the HTML export and paragraph stats use). */
  blocks: DocBlock[];
  /** Position of the first textblock's content (where offset 0 goes in a document without text). */
  startPos: number;
}

interface Built {
  text: string;
  segments: Segment[];
  blocks: DocBlock[];
  /** Some textblock was seen (even an empty one). */
  hasTextblock: boolean;
  /** The last textblock so far is inside a list item. */
  lastInList: boolean;
  firstContentPos: number;
}

interface Context {
  listDepth: number;
  ordered: boolean;
  quote: boolean;
  startsListItem: boolean;
}

const ROOT: Context = { listDepth: 0, ordered: false, quote: false, startsListItem: false };
const MARK_TYPES: Record<string, InlineMark['type']> = { em: 'em', strong: 'strong', code: 'code' };

function emptyBuilt(): Built {
  return { text: '', segments: [], blocks: [], hasTextblock: false, lastInList: false, firstContentPos: -1 };
}

function addSegment(out: Built, pos: number, len: number, kind: Segment['kind']): void {
  const last = out.segments[out.segments.length - 1];
  if (kind === 'text' && last && last.kind === 'text' && last.text + last.len === out.text.length && last.pos + last.len === pos) last.len += len;
  else out.segments.push({ text: out.text.length, pos, len, kind });
}

function addMark(marks: InlineMark[], type: InlineMark['type'], start: number, end: number): void {
  for (let i = marks.length - 1; i >= 0; i--) {
    const m = marks[i]!;
    if (m.type === type && m.end === start) {
      m.end = end;
      return;
    }
    if (m.end < start) break;
  }
  marks.push({ start, end, type });
}

function textblock(node: PMNode, pos: number, ctx: Context, out: Built): void {
  if (out.hasTextblock) out.text += ctx.startsListItem && out.lastInList ? '\n' : '\n\n';
  else out.firstContentPos = pos + 1;
  out.hasTextblock = true;
  const start = out.text.length;
  const marks: InlineMark[] = [];
  node.forEach((child, offset) => {
    const p = pos + 1 + offset;
    if (child.isText) {
      const from = out.text.length;
      addSegment(out, p, child.text!.length, 'text');
      out.text += child.text!;
      for (const m of child.marks) {
        const type = MARK_TYPES[m.type.name];
        if (type) addMark(marks, type, from, out.text.length);
      }
    } else if (child.type.name === 'hard_break') {
      addSegment(out, p, 1, 'break');
      out.text += '\n';
    }
  });
  const block: DocBlock = { start, end: out.text.length, kind: 'paragraph' };
  const name = node.type.name;
  if (name === 'heading') {
    block.kind = 'heading';
    block.level = Number(node.attrs.level) || 1;
  } else if (name === 'code_block') block.kind = 'code_block';
  else if (ctx.listDepth > 0 && ctx.startsListItem) {
    block.kind = 'list_item';
    block.level = ctx.listDepth;
    if (ctx.ordered) block.ordered = true;
  } else if (ctx.quote) block.kind = 'blockquote';
  if (marks.length && block.kind !== 'code_block') block.marks = marks;
  out.blocks.push(block);
  out.lastInList = ctx.listDepth > 0;
}

function walk(node: PMNode, pos: number, ctx: Context, out: Built): void {
  if (node.isTextblock) return textblock(node, pos, ctx, out);
  if (node.isLeaf) return;
  const name = node.type.name;
  node.forEach((child, offset, index) => {
    let c = ctx.startsListItem ? { ...ctx, startsListItem: false } : ctx;
    if (name === 'bullet_list' || name === 'ordered_list') c = { ...c, listDepth: ctx.listDepth + 1, ordered: name === 'ordered_list' };
    else if (name === 'list_item') c = { ...c, startsListItem: index === 0 };
    else if (name === 'blockquote') c = { ...c, quote: true };
    walk(child, pos + 1 + offset, c, out);
  });
}

/** Text of one top-level node, positions relative to the node's start. */
const cache = new WeakMap<PMNode, Built>();

function topLevel(node: PMNode): Built {
  let built = cache.get(node);
  if (!built) {
    built = emptyBuilt();
    walk(node, 0, ROOT, built);
    cache.set(node, built);
  }
  return built;
}

/** The engine text of a document and its offset map. */
export function docToText(doc: PMNode): DocText {
  const parts: string[] = [];
  const segments: Segment[] = [];
  const blocks: DocBlock[] = [];
  let length = 0;
  let any = false;
  let startPos = -1;
  doc.forEach((child, offset) => {
    const b = topLevel(child);
    if (!b.hasTextblock) return;
    const nodePos = offset;
    if (any) {
      parts.push('\n\n');
      length += 2;
    } else startPos = nodePos + b.firstContentPos;
    any = true;
    parts.push(b.text);
    for (const s of b.segments) segments.push({ text: s.text + length, pos: s.pos + nodePos, len: s.len, kind: s.kind });
    for (const bl of b.blocks) {
      const moved: DocBlock = { ...bl, start: bl.start + length, end: bl.end + length };
      if (bl.marks) moved.marks = bl.marks.map((m) => ({ ...m, start: m.start + length, end: m.end + length }));
      blocks.push(moved);
    }
    length += b.text.length;
  });
  return { text: parts.join(''), segments, blocks, startPos: startPos < 0 ? 0 : startPos };
}

/** Index of the last segment whose `key` is <= value, or -1. */
function lastAtOrBefore(segments: readonly Segment[], key: 'text' | 'pos', value: number): number {
  let lo = 0;
  let hi = segments.length - 1;
  let ans = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (segments[mid]![key] <= value) {
      ans = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return ans;
}

/**
 * The ProseMirror position of a text offset. An offset inside a separator (between blocks) goes
 * to the end of the block before it (assoc < 0) or the start of the block after it (assoc > 0).
 */
export function textToPos(dt: DocText, offset: number, assoc: -1 | 1 = -1): number {
  const segs = dt.segments;
  const k = lastAtOrBefore(segs, 'text', offset);
  if (k < 0) return segs.length ? segs[0]!.pos : dt.startPos;
  const s = segs[k]!;
  const end = s.text + s.len;
  if (offset <= end) {
    const next = segs[k + 1];
    if (offset === end && assoc > 0 && next && next.text === end) return next.pos;
    return s.pos + (offset - s.text);
  }
  if (assoc > 0 && segs[k + 1]) return segs[k + 1]!.pos;
  return s.pos + s.len;
}

/** The text offset of a position; a position outside text goes to the end of the text before it. */
export function posToText(dt: DocText, pos: number): number {
  const segs = dt.segments;
  const k = lastAtOrBefore(segs, 'pos', pos);
  if (k < 0) return 0;
  const s = segs[k]!;
  return s.text + Math.min(s.len, pos - s.pos);
}

export interface TokenPlacement {
  /** Position ranges of the token's text inside textblocks (hard breaks and separators excluded). */
  pieces: { from: number; to: number }[];
  /** Where to show a marker for a token made only of line breaks (no text pieces), else null. */
  marker: number | null;
}

/** Where the token text[start, end) lies in the document. */
export function placeToken(dt: DocText, start: number, end: number): TokenPlacement {
  const segs = dt.segments;
  const pieces: { from: number; to: number }[] = [];
  let k = Math.max(0, lastAtOrBefore(segs, 'text', start));
  for (; k < segs.length; k++) {
    const s = segs[k]!;
    if (s.text >= end) break;
    const a = Math.max(start, s.text);
    const b = Math.min(end, s.text + s.len);
    if (b <= a || s.kind !== 'text') continue;
    pieces.push({ from: s.pos + (a - s.text), to: s.pos + (b - s.text) });
  }
  const marker = pieces.length === 0 && end > start ? textToPos(dt, start, -1) : null;
  return { pieces, marker };
}

/** Length of the common prefix of two strings. */
export function commonPrefix(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  let i = 0;
  // Compare in slices first: native comparison is much faster than a char loop on long texts.
  for (let step = 4096; step >= 1; step >>= 4) {
    while (i + step <= n && a.slice(i, i + step) === b.slice(i, i + step)) i += step;
  }
  while (i < n && a.charCodeAt(i) === b.charCodeAt(i)) i++;
  return i;
}
