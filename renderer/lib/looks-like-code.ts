/**
 * Whether a piece of plain text reads as source code (a pasted function, a shell session, a config
 * file) rather than prose: pasted code is offered as a code block, and a .txt file's code-looking
 * parts are shown as code blocks. Conservative on purpose: a false "code" puts prose in monospace,
 * a false "prose" keeps the text exactly as well (hard breaks, spaces kept), so prose must win ties.
 * DOM-free.
 *
 * Each non-blank line gets a score from signals that are rare in prose: indentation, a line ending
 * in `{ } ; : ( ) [ ] ,` or an operator, a keyword opening a statement, assignment, calls and
 * brackets, comment markers, a shell prompt; sentence-like lines (words, ending in . ! ?) count
 * against. A text is code when at least a third of its lines (and two of them) are code-like and no
 * more than a third read as sentences, not counting lines inside a triple-quoted string (a
 * docstring is prose inside code); a single line only with strong signals.
 */

const KEYWORD =
  /^(def|class|import|from|return|if|elif|else|for|while|try|except|finally|with|raise|yield|async|await|function|const|let|var|export|package|public|private|protected|static|fn|pub|impl|struct|enum|interface|type|use|mod|func|switch|case|break|continue|do|end|begin|local|echo|sudo|cd|ls|npm|git|#include|#define|#!)\b/;
const LINE_END = /([{}[\]();:,=+\-*/\\|&<>]|=>|->|\)\s*\{|;\s*\/\/.*)$/;
const COMMENT = /^\s*(\/\/|#(?![#\s]*[A-Z][a-z]+ [a-z])|\/\*|\*\/|--\s|<!--|;;)/;
const PROMPT = /^\s*(\$|>>>|>|PS>|#)\s+\S/;
const SYMBOLS = /[{}[\]()<>=;:_$#&|\\^~`*]/g;
const SENTENCE = /^[\s"'“(]*[A-Z][^{}[\];=<>]*[a-z][.!?]["'”)]*$/;

function lineScore(line: string): number {
  const t = line.trim();
  if (!t) return 0;
  let s = 0;
  if (/^(\t| {2,})\S/.test(line)) s += 1;
  // Keywords are English words too ("with a white beard"): alone they are a hint, not proof.
  if (KEYWORD.test(t)) s += 1;
  if (/^(import [\w.]+( as \w+)?|from [\w.]+ import [\w., ]+|#include\s*[<"].*[>"]|package [\w.]+;?|using [\w.]+;)$/.test(t)) s += 2;
  if (LINE_END.test(t)) s += 1;
  if (COMMENT.test(t) || PROMPT.test(line) || /^("""|''')/.test(t)) s += 1.5;
  if (/\w\s*(=|\+=|-=|:=|==|!=|===|=>|->)\s*\S/.test(t)) s += 1;
  if (/\w\(.*\)/.test(t)) s += 0.75;
  if (/[\w)\]]\.[a-zA-Z_]\w*\(|::|\w\[\w*\]/.test(t)) s += 0.75;
  const symbols = (t.match(SYMBOLS) ?? []).length;
  if (symbols / t.length > 0.08) s += 1;
  if (SENTENCE.test(t) && t.split(/\s+/).length >= 4) s -= 2;
  return s;
}

/** True when `text` reads as source code (see the module comment for the rule). */
export function looksLikeCode(text: string): boolean {
  const lines = text.replace(/\r\n?/g, '\n').split('\n').filter((l) => l.trim());
  if (lines.length === 0) return false;
  if (lines.length === 1) return lineScore(lines[0]!) >= 3;
  // Lines inside a triple-quoted string (a docstring) are prose inside code: counted for neither side.
  let inString = false;
  let codeLike = 0;
  let sentences = 0;
  let counted = 0;
  for (const line of lines) {
    const quotes = (line.match(/"""|'''/g) ?? []).length;
    const inside = inString && quotes === 0;
    if (quotes % 2 === 1) inString = !inString;
    if (inside) continue;
    counted++;
    const score = lineScore(line);
    if (score >= 1.5) codeLike++;
    else if (score < 0) sentences++;
  }
  return codeLike >= 2 && codeLike * 3 >= counted && sentences * 3 <= counted;
}
