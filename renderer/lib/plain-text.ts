/**
 * Plain text in and out of the document, exactly: a .txt file, pasted text, and what Save writes
 * for a .txt document. `docToText(parsePlainText(t)).text === t` (after CRLF → LF): blank-line
 * separated parts become blocks, single newlines hard breaks, every space and tab kept. "\n\n"
 * always splits, so three newlines are a block break plus a hard break at the start of the next
 * block. Parts that read as code (looks-like-code.ts) become code blocks, consecutive ones one
 * block holding their blank lines, so a pasted function or a script stays one monospace block.
 * Writing is the document's visible text (text-map.ts), the same text the engine scores. DOM-free.
 */
import { Fragment, Slice, type Node as PMNode } from 'prosemirror-model';
import { looksLikeCode } from './looks-like-code.ts';
import { schema } from './schema.ts';
import { docToText } from './text-map.ts';

/** A paragraph of one plain-text part: its lines joined by hard breaks. */
function paragraph(part: string): PMNode {
  const content: PMNode[] = [];
  part.split('\n').forEach((line, i) => {
    if (i > 0) content.push(schema.nodes.hard_break!.create());
    if (line) content.push(schema.text(line));
  });
  return schema.nodes.paragraph!.create(null, content);
}

function codeBlock(text: string): PMNode {
  return schema.nodes.code_block!.create(null, text ? schema.text(text) : null);
}

/** The blocks of a plain text: paragraphs, and (with `detectCode`) code blocks for its code-looking runs of parts. */
export function plainTextBlocks(text: string, detectCode = true): PMNode[] {
  const parts = text.replace(/\r\n?/g, '\n').split('\n\n');
  const code = parts.map((p) => detectCode && looksLikeCode(p));
  // Parts between two code parts belong to the code when they are blank (a script's empty lines)
  // or wholly indented (a docstring's paragraphs).
  const inner = (p: string) => p.split('\n').every((l) => !l.trim() || /^[ \t]/.test(l));
  for (let i = 1; i < parts.length - 1; i++) {
    if (code[i] || !inner(parts[i]!)) continue;
    let j = i;
    while (j < parts.length && !code[j] && inner(parts[j]!)) j++;
    if (code[i - 1] && code[j]) for (let k = i; k < j; k++) code[k] = true;
  }
  const blocks: PMNode[] = [];
  for (let i = 0; i < parts.length; i++) {
    if (!code[i]) {
      blocks.push(paragraph(parts[i]!));
      continue;
    }
    let j = i;
    while (j + 1 < parts.length && code[j + 1]) j++;
    blocks.push(codeBlock(parts.slice(i, j + 1).join('\n\n')));
    i = j;
  }
  return blocks;
}

/** Reads a plain-text file: its text exactly, code-looking parts as code blocks. */
export function parsePlainText(text: string, detectCode = true): PMNode {
  return schema.nodes.doc!.create(null, plainTextBlocks(text, detectCode));
}

/** What Save writes for a plain-text document: its visible text (LF line ends; the file layer restores the file's own). */
export function serializePlainText(doc: PMNode): string {
  return docToText(doc).text;
}

/**
 * Pasted plain text as a slice: its lines as hard breaks and its blank lines as block breaks (not a
 * paragraph per line), open at both ends so the first and last lines join the paragraph the caret
 * is in. Code is the caller's decision (it offers a code block).
 */
export function plainTextSlice(text: string): Slice {
  const blocks = plainTextBlocks(text, false);
  return new Slice(Fragment.from(blocks), 1, 1);
}
