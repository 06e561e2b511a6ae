/**
 * Markdown in and out of the document, keeping the writer's file as it was wherever they did not
 * edit it. DOM-free: it runs in node tests.
 *
 * Reading (`parseMarkdown`) returns the document and its origin: the source text of each top-level
 * block (markdown-it's line map of the block) and what lies between blocks (blank lines, link
 * reference definitions). ProseMirror keeps the node objects of blocks a transaction did not touch,
 * so writing (`serializeMarkdown`) finds every unedited block by identity and writes its original
 * source, with the original gaps between unedited neighbours: open → save is byte-identical, and an
 * edit changes only the blocks it touched. An edited or new block is written by prosemirror-markdown
 * with as little escaping as reads back as the same block: first unescaped (`counts[word]` stays
 * `counts[word]`), then with its default escapes, then with every ASCII punctuation escaped and
 * spaces at the edges of text written as character references, checked each time by parsing the
 * block again. Code blocks are fenced with their text as it is.
 */
import { defaultMarkdownParser, defaultMarkdownSerializer, MarkdownParser, MarkdownSerializer, type MarkdownSerializerState } from 'prosemirror-markdown';
import { Fragment, Mark, type Node as PMNode } from 'prosemirror-model';
import { schema } from './schema.ts';
import { docToText } from './text-map.ts';

/** Where each top-level block of a parsed document came from. */
export interface MarkdownOrigin {
  /** The source, LF line ends. */
  source: string;
  /** The parsed top-level nodes, by identity, to their index in `ranges`. */
  index: Map<PMNode, number>;
  /** Source range of each top-level block, trailing blank lines excluded. */
  ranges: { from: number; to: number }[];
}

function listIsTight(tokens: readonly { type: string; hidden: boolean }[], i: number): boolean {
  while (++i < tokens.length) if (tokens[i]!.type !== 'list_item_open') return tokens[i]!.hidden;
  return false;
}

const parser = new MarkdownParser(schema, defaultMarkdownParser.tokenizer, {
  ...defaultMarkdownParser.tokens,
  bullet_list: { block: 'bullet_list', getAttrs: (tok, tokens, i) => ({ tight: listIsTight(tokens, i), bullet: tok.markup || '-' }) },
});

/** Reads Markdown (CRLF read as LF) into a document and the origin of its blocks. */
export function parseMarkdown(markdown: string): { doc: PMNode; origin: MarkdownOrigin | null } {
  const source = markdown.replace(/\r\n?/g, '\n');
  const doc = parser.parse(source) ?? schema.topNodeType.createAndFill()!;
  const lineStarts = [0];
  for (let i = source.indexOf('\n'); i !== -1; i = source.indexOf('\n', i + 1)) lineStarts.push(i + 1);
  const ranges: { from: number; to: number }[] = [];
  for (const tok of parser.tokenizer.parse(source, {})) {
    if (tok.level !== 0 || tok.nesting < 0 || !tok.block || !tok.map) continue;
    const [first, last] = tok.map;
    const from = lineStarts[first]!;
    let to = last < lineStarts.length ? lineStarts[last]! : source.length;
    while (to > from && source[to - 1] === '\n') to--;
    ranges.push({ from, to });
  }
  // Every top-level token makes one top-level node; if not (a construct this reader does not
  // expect), nothing is matched and every block is written afresh.
  if (ranges.length !== doc.childCount) return { doc, origin: null };
  const index = new Map<PMNode, number>();
  doc.forEach((node, _offset, i) => index.set(node, i));
  return { doc, origin: { source, index, ranges } };
}

/** Every ASCII punctuation backslash-escaped, spaces and tabs at the edges of a text run as character references. */
function escapeAll(text: string): string {
  return text.replace(/[!-/:-@[-`{-~]/g, '\\$&').replace(/^[ \t]+|[ \t]+$/g, (ws) => [...ws].map((c) => (c === '\t' ? '&#9;' : '&#32;')).join(''));
}

type TextWriter = (state: MarkdownSerializerState, node: PMNode) => void;
const withText = (text: TextWriter, marks = defaultMarkdownSerializer.marks) => new MarkdownSerializer({ ...defaultMarkdownSerializer.nodes, text }, marks);
/** Marks that keep their edge spaces inside (written as character references) instead of moving them out, where they would be lost at a line's end. */
const keepingEdgeSpaces = Object.fromEntries(Object.entries(defaultMarkdownSerializer.marks).map(([name, spec]) => [name, { ...spec, expelEnclosingWhitespace: false }]));

/** From the least escaping to the most (see the module comment). */
const SERIALIZERS = [withText((state, node) => state.text(node.text!, false)), defaultMarkdownSerializer, withText((state, node) => state.text(escapeAll(node.text!), false), keepingEdgeSpaces)];

/** Equal for a reader: a one-item list is tight or loose alike (nothing tells them apart). */
export function sameBlock(a: PMNode, b: PMNode): boolean {
  if (a.type !== b.type || a.childCount !== b.childCount || !Mark.sameSet(a.marks, b.marks)) return false;
  if (a.isText) return a.text === b.text;
  const list = a.type === schema.nodes.bullet_list || a.type === schema.nodes.ordered_list;
  const attrs = list && a.childCount === 1 ? { ...a.attrs, tight: b.attrs.tight } : a.attrs;
  if (JSON.stringify(attrs) !== JSON.stringify(b.attrs)) return false;
  for (let i = 0; i < a.childCount; i++) if (!sameBlock(a.child(i), b.child(i))) return false;
  return true;
}

const textOf = (node: PMNode) => docToText(schema.topNodeType.create(null, node)).text;

/**
 * One top-level block as Markdown: the least escaping that reads back as the same block; where no
 * escaping can (CommonMark cannot write emphasis of whitespace only, or emphasis opening on
 * punctuation right after a letter), one that reads back with the same text, and as a last resort
 * the block's text without its inline marks: the writer's words are never changed.
 */
export function serializeBlock(node: PMNode): string {
  const outs = SERIALIZERS.map((serializer) => serializer.serialize(schema.topNodeType.create(null, node)).replace(/\n+$/, ''));
  const backs = outs.map((out) => parser.parse(out));
  for (let i = 0; i < outs.length; i++) if (backs[i]?.childCount === 1 && sameBlock(backs[i]!.firstChild!, node)) return outs[i]!;
  const text = textOf(node);
  for (let i = 0; i < outs.length; i++) if (backs[i]?.childCount === 1 && textOf(backs[i]!.firstChild!) === text) return outs[i]!;
  const unmarked = node.type.spec.code ? node : stripMarks(node);
  return SERIALIZERS[SERIALIZERS.length - 1]!.serialize(schema.topNodeType.create(null, unmarked)).replace(/\n+$/, '');
}

function stripMarks(node: PMNode): PMNode {
  if (node.isText) return node.mark([]);
  const children: PMNode[] = [];
  node.forEach((child) => children.push(stripMarks(child)));
  return node.copy(Fragment.from(children));
}

/** Writes a document as Markdown: unedited blocks as they were read (see the module comment), the rest afresh; ends in one newline unless empty or as the source ended. */
export function serializeMarkdown(doc: PMNode, origin: MarkdownOrigin | null = null): string {
  const blocks: { text: string; index: number }[] = [];
  let last = -1;
  doc.forEach((node) => {
    const i = origin?.index.get(node);
    if (origin && i !== undefined && i > last) {
      const r = origin.ranges[i]!;
      blocks.push({ text: origin.source.slice(r.from, r.to), index: i });
      last = i;
    } else if (!(doc.childCount === 1 && node.type === schema.nodes.paragraph && node.childCount === 0)) {
      blocks.push({ text: serializeBlock(node), index: -1 });
    }
  });
  if (!origin) return blocks.length ? blocks.map((b) => b.text).join('\n\n') + '\n' : '';
  const { source, ranges } = origin;
  const n = ranges.length;
  /** Source between original blocks i and i + 1 (i = -1: before the first; i = n - 1: after the last). */
  const gap = (i: number) => source.slice(i < 0 ? 0 : ranges[i]!.to, i + 1 < n ? ranges[i + 1]!.from : source.length);
  const blank = (g: string) => g.trim() === '';
  /** What the gaps after original blocks a..b-1 hold besides blank lines (link reference definitions): kept once, wherever their neighbours went. */
  const contentOf = (a: number, b: number) => {
    const parts: string[] = [];
    for (let i = a; i < b; i++) if (!blank(gap(i))) parts.push(gap(i).replace(/^\n+|\n+$/g, ''));
    return parts.join('\n\n');
  };
  let out = '';
  let prev: { index: number } | null = null;
  let lastKept = -1;
  for (const b of blocks) {
    if (b.index >= 0 && prev && prev.index >= 0 && b.index === prev.index + 1) out += gap(prev.index);
    else if (!prev && b.index === 0) out += gap(-1);
    else {
      // Around an edited block: a blank line, or the original blank lines there.
      const near = prev && prev.index >= 0 && prev.index + 1 < n ? gap(prev.index) : b.index > 0 ? gap(b.index - 1) : '';
      if (prev) out += blank(near) && /\n\n/.test(near) ? near : '\n\n';
      const kept = b.index >= 0 ? contentOf(lastKept, b.index) : '';
      if (kept) out += kept + '\n\n';
    }
    out += b.text;
    if (b.index >= 0) lastKept = b.index;
    prev = b;
  }
  if (!prev) return '';
  if (prev.index === n - 1) return out + gap(n - 1);
  const rest = contentOf(lastKept, n);
  return out + (rest ? '\n\n' + rest : '') + '\n';
}
