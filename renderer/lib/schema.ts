/**
 * The editor's document schema: CommonMark's model from prosemirror-markdown (paragraphs, headings,
 * lists, quotes, code blocks, emphasis/strong, code, links), with
 * - images shown as their alt text instead of being loaded (the app loads no remote resources);
 * - bullet lists that keep their bullet character;
 * - links only to http(s) and mailto: a `javascript:` or `data:` href never enters a document,
 *   whether it comes from pasted HTML or from a Markdown file.
 * Reading and writing Markdown is markdown.ts, plain text plain-text.ts. DOM-free.
 */
import { schema as markdownSchema } from 'prosemirror-markdown';
import { Schema, type MarkSpec, type NodeSpec } from 'prosemirror-model';

/** Hrefs a link may keep: web pages, mail addresses, and links within the document or next to it. */
export function isSafeHref(href: string): boolean {
  // Browsers drop tabs, newlines and leading control characters when they read a URL ("java\tscript:").
  // eslint-disable-next-line no-control-regex
  const h = href.replace(/[\u0000-\u0020\u007f]+/g, '').toLowerCase();
  const scheme = /^([a-z][a-z0-9+.-]*):/.exec(h);
  return scheme ? ['http', 'https', 'mailto'].includes(scheme[1]!) : true;
}

const imageSpec: NodeSpec = {
  ...markdownSchema.spec.nodes.get('image')!,
  // An <img> would fetch its src; show a marker with the alt text instead and keep src for Markdown.
  toDOM: (node) => ['span', { class: 'md-image', title: String(node.attrs.src ?? ''), contenteditable: 'false' }, `[${String(node.attrs.alt || 'image')}]`],
  // Pasted HTML brings its images as their alt text (plain-text.ts / paste.ts), never as nodes.
  parseDOM: [],
};

// Lists remember their bullet character ("-", "*" or "+") so Markdown files keep their style.
const bulletListSpec: NodeSpec = {
  ...markdownSchema.spec.nodes.get('bullet_list')!,
  attrs: { tight: { default: false }, bullet: { default: '-' } },
};

const codeBlockSpec: NodeSpec = {
  ...markdownSchema.spec.nodes.get('code_block')!,
  toDOM: (node) => ['pre', { class: 'code-block', spellcheck: 'false', ...(node.attrs.params ? { 'data-params': String(node.attrs.params) } : {}) }, ['code', 0]],
};

const linkSpec: MarkSpec = {
  ...markdownSchema.spec.marks.get('link')!,
  parseDOM: [
    {
      tag: 'a[href]',
      getAttrs: (dom: HTMLElement) => {
        const href = dom.getAttribute('href') ?? '';
        return isSafeHref(href) ? { href, title: dom.getAttribute('title') } : false;
      },
    },
  ],
  // Never navigates inside the app (Electron blocks navigation too): the href shows as a tooltip.
  toDOM: (mark) => ['a', { href: isSafeHref(String(mark.attrs.href)) ? String(mark.attrs.href) : '#', title: String(mark.attrs.title ?? mark.attrs.href), rel: 'noopener noreferrer' }],
};

export const schema = new Schema({
  nodes: markdownSchema.spec.nodes.update('image', imageSpec).update('bullet_list', bulletListSpec).update('code_block', codeBlockSpec),
  marks: markdownSchema.spec.marks.update('link', linkSpec),
});
