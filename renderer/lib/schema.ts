/**
 * The editor's document schema and its Markdown reader/writer: CommonMark's model from
 * prosemirror-markdown (paragraphs, headings, lists, quotes, code, emphasis/strong, links), with
 * images shown as their alt text instead of being loaded (the app loads no remote resources), and
 * bullet lists that keep their bullet character.
 * DOM-free: the parser and serializer run in node tests too.
 */
import { defaultMarkdownParser, defaultMarkdownSerializer, MarkdownParser, MarkdownSerializer, schema as markdownSchema } from 'prosemirror-markdown';
import { Schema, type Node as PMNode, type NodeSpec } from 'prosemirror-model';

const imageSpec: NodeSpec = {
  ...markdownSchema.spec.nodes.get('image')!,
  // An <img> would fetch its src; show a marker with the alt text instead and keep src for Markdown.
  toDOM: (node) => ['span', { class: 'md-image', title: String(node.attrs.src ?? ''), contenteditable: 'false' }, `[${String(node.attrs.alt || 'image')}]`],
};

// Lists remember their bullet character ("-", "*" or "+") so Markdown files keep their style.
const bulletListSpec: NodeSpec = {
  ...markdownSchema.spec.nodes.get('bullet_list')!,
  attrs: { tight: { default: false }, bullet: { default: '-' } },
};

export const schema = new Schema({
  nodes: markdownSchema.spec.nodes.update('image', imageSpec).update('bullet_list', bulletListSpec),
  marks: markdownSchema.spec.marks,
});

function listIsTight(tokens: readonly { type: string; hidden: boolean }[], i: number): boolean {
  while (++i < tokens.length) if (tokens[i]!.type !== 'list_item_open') return tokens[i]!.hidden;
  return false;
}

const parser = new MarkdownParser(schema, defaultMarkdownParser.tokenizer, {
  ...defaultMarkdownParser.tokens,
  bullet_list: { block: 'bullet_list', getAttrs: (tok, tokens, i) => ({ tight: listIsTight(tokens, i), bullet: tok.markup || '-' }) },
});
const serializer = new MarkdownSerializer(defaultMarkdownSerializer.nodes, defaultMarkdownSerializer.marks);

/** Reads Markdown into a document. CRLF line ends are read as LF. */
export function parseMarkdown(markdown: string): PMNode {
  const doc = parser.parse(markdown.replace(/\r\n?/g, '\n'));
  return doc ?? schema.topNodeType.createAndFill()!;
}

/** Writes a document as Markdown (ending in one newline unless empty). */
export function serializeMarkdown(doc: PMNode): string {
  const md = serializer.serialize(doc);
  return md.length ? md.replace(/\n*$/, '\n') : md;
}

/**
 * Reads plain text so that `docToText(parsePlainText(t)).text === t` (after CRLF → LF): blank-line
 * separated parts become paragraphs, single newlines become hard breaks. "\n\n" always splits, so
 * three newlines are a paragraph break plus a hard break at the start of the next paragraph.
 */
export function parsePlainText(text: string): PMNode {
  const paragraphs = text
    .replace(/\r\n?/g, '\n')
    .split('\n\n')
    .map((part) => {
      const content: PMNode[] = [];
      part.split('\n').forEach((line, i) => {
        if (i > 0) content.push(schema.nodes.hard_break!.create());
        if (line) content.push(schema.text(line));
      });
      return schema.nodes.paragraph!.create(null, content);
    });
  return schema.nodes.doc!.create(null, paragraphs);
}
