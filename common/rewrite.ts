/**
 * What replacing text[start, end) with a rewrite changes, exactly: the fill-in scores a deletion
 * ("the the" → "the") as the word gone with the space before it, so applying one removes that
 * space too (or the one after it, at the start of a line). The editor, the CLI and the evaluation
 * apply rewrites through this one function. Environment-neutral.
 */

/** The range to replace and what goes there, for replacing text[start, end) with `replacement`. */
export function rewriteEdit(text: string, start: number, end: number, replacement: string): { start: number; end: number; insert: string } {
  if (replacement === '') {
    if (text[start - 1] === ' ' && (end === text.length || /[\s.,;:!?)\]]/.test(text[end]!))) return { start: start - 1, end, insert: '' };
    if ((start === 0 || text[start - 1] === '\n') && text[end] === ' ') return { start, end: end + 1, insert: '' };
  }
  return { start, end, insert: replacement };
}

/** The text with the rewrite applied. */
export function applyRewrite(text: string, start: number, end: number, replacement: string): string {
  const e = rewriteEdit(text, start, end, replacement);
  return text.slice(0, e.start) + e.insert + text.slice(e.end);
}
