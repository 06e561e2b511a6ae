/**
 * Pasted (or dropped) HTML reduced to what the document schema can hold, as a string, before any
 * browser parses it: every way of parsing HTML in a page (DOMParser, <template>, a detached
 * document) checks its attributes against the page's Content-Security-Policy, so an `onclick` or
 * a `style` in a paste would be reported (and blocked) as an attack on the page. This tokenizer
 * keeps tags and text and drops
 * - comments, doctypes, processing instructions, and the content of script, style and other
 *   elements that never hold writing;
 * - every attribute but `href`/`title` on links (only http(s), mailto and relative hrefs; other
 *   links lose the tag, keep their text), `start` on ordered lists and `data-params` on code;
 * - images, which become their alt text in brackets (the app loads nothing remote).
 * Text is kept as written (entities and all), and `<` that starts no tag is escaped. DOM-free.
 */
import { isSafeHref } from './schema.ts';

/** Elements whose content never belongs in a draft (skipped up to their end tag). */
const SKIPPED = new Set(['script', 'style', 'template', 'noscript', 'title', 'textarea', 'iframe', 'object', 'svg', 'math', 'head', 'select', 'canvas', 'video', 'audio', 'xmp', 'noembed', 'noframes']);
/** Void and other elements dropped with their tag only. */
const DROPPED = new Set(['link', 'meta', 'base', 'embed', 'source', 'track', 'input', 'button', 'form', 'frame', 'frameset', 'param', 'area', 'map', 'picture']);
const KEPT_ATTRS: Record<string, string[]> = { a: ['href', 'title'], ol: ['start'], pre: ['data-params'] };

const NAMED: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", colon: ':', tab: '\t', newline: '\n', sol: '/', lpar: '(', rpar: ')', nbsp: '\u00a0' };

/** An attribute value as the browser would read it (character references decoded); null when it holds one this reader does not know. */
function decode(value: string): string | null {
  let unknown = false;
  const out = value.replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);?/gi, (whole, ref: string) => {
    if (ref[0] === '#') {
      const code = ref[1] === 'x' || ref[1] === 'X' ? parseInt(ref.slice(2), 16) : parseInt(ref.slice(1), 10);
      return Number.isFinite(code) && code >= 0 && code <= 0x10ffff ? String.fromCodePoint(code) : '\ufffd';
    }
    const named = NAMED[ref.toLowerCase()];
    if (named === undefined) unknown = true;
    return named ?? whole;
  });
  return unknown ? null : out;
}

const escapeAttr = (v: string) => v.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const escapeText = (v: string) => v.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

interface Tag {
  name: string;
  closing: boolean;
  attrs: Map<string, string>;
  /** Index just past the tag's `>`. */
  end: number;
}

/** Reads the tag starting at html[i] === '<' (a letter or `/letter` follows), or null when it is not one. */
function readTag(html: string, i: number): Tag | null {
  const m = /^<(\/?)([a-zA-Z][a-zA-Z0-9:-]*)/.exec(html.slice(i, i + 64));
  if (!m) return null;
  let j = i + m[0].length;
  const attrs = new Map<string, string>();
  for (;;) {
    while (j < html.length && /[\s/]/.test(html[j]!)) j++;
    if (j >= html.length) return { name: m[2]!.toLowerCase(), closing: m[1] === '/', attrs, end: html.length };
    if (html[j] === '>') return { name: m[2]!.toLowerCase(), closing: m[1] === '/', attrs, end: j + 1 };
    const name = /^[^\s/>=]+/.exec(html.slice(j))?.[0] ?? html[j]!;
    j += name.length;
    while (j < html.length && /\s/.test(html[j]!)) j++;
    let value = '';
    if (html[j] === '=') {
      j++;
      while (j < html.length && /\s/.test(html[j]!)) j++;
      const q = html[j];
      if (q === '"' || q === "'") {
        const close = html.indexOf(q, j + 1);
        const stop = close === -1 ? html.length : close;
        value = html.slice(j + 1, stop);
        j = stop + 1;
      } else {
        const v = /^[^\s>]*/.exec(html.slice(j))![0];
        value = v;
        j += v.length;
      }
    }
    const key = name.toLowerCase();
    if (!attrs.has(key)) attrs.set(key, value);
  }
}

export function sanitizeHtml(html: string): string {
  let out = '';
  let i = 0;
  /** Links whose tag was dropped, so their end tags are dropped too. */
  const openLinks: boolean[] = [];
  while (i < html.length) {
    const lt = html.indexOf('<', i);
    if (lt === -1) {
      out += html.slice(i);
      break;
    }
    out += html.slice(i, lt);
    if (html.startsWith('<!--', lt)) {
      const close = html.indexOf('-->', lt + 4);
      i = close === -1 ? html.length : close + 3;
      continue;
    }
    if (html[lt + 1] === '!' || html[lt + 1] === '?') {
      const close = html.indexOf('>', lt);
      i = close === -1 ? html.length : close + 1;
      continue;
    }
    const tag = readTag(html, lt);
    if (!tag) {
      out += '&lt;';
      i = lt + 1;
      continue;
    }
    i = tag.end;
    const { name } = tag;
    if (SKIPPED.has(name)) {
      if (!tag.closing) {
        const close = html.toLowerCase().indexOf(`</${name}`, i);
        i = close === -1 ? html.length : (readTag(html, close)?.end ?? html.length);
      }
      continue;
    }
    if (DROPPED.has(name)) continue;
    if (name === 'img') {
      const alt = decode(tag.attrs.get('alt') ?? '');
      if (!tag.closing && alt) out += escapeText(`[${alt}]`);
      continue;
    }
    if (tag.closing) {
      if (name === 'a' && openLinks.pop() === false) continue;
      out += `</${name}>`;
      continue;
    }
    if (name === 'a') {
      const href = decode(tag.attrs.get('href') ?? '');
      const ok = href !== null && href !== '' && isSafeHref(href);
      openLinks.push(ok);
      if (!ok) continue;
    }
    let attrs = '';
    for (const key of KEPT_ATTRS[name] ?? []) {
      const v = tag.attrs.get(key);
      const decoded = v === undefined ? null : decode(v);
      if (decoded !== null) attrs += ` ${key}="${escapeAttr(decoded)}"`;
    }
    out += `<${name}${attrs}>`;
  }
  return out;
}
