// Plain text round trips exactly through the document (every .txt of the corpus, random mixes of
// code, prose, tabs, trailing spaces and blank lines), its code becomes code blocks, and the
// code detector tells held-out prose from held-out code (models/eval/heldout: never trained on,
// never tuned on here beyond these counts).
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { looksLikeCode } from './looks-like-code.ts';
import { parsePlainText, plainTextSlice, serializePlainText } from './plain-text.ts';
import { docToText } from './text-map.ts';
import { seededRandom as rng } from '../../common/random.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const DOCS = join(ROOT, 'e2e', 'fixtures', 'documents');
const HELDOUT = join(ROOT, 'models', 'eval', 'heldout');

test('every .txt of the corpus reads and writes back exactly, code as code blocks', () => {
  for (const name of readdirSync(DOCS).filter((n) => n.endsWith('.txt'))) {
    const text = readFileSync(join(DOCS, name), 'utf8').replace(/\r\n?/g, '\n');
    const doc = parsePlainText(text);
    assert.equal(serializePlainText(doc), text, name);
    const code = [...Array(doc.childCount).keys()].filter((i) => doc.child(i).type.name === 'code_block');
    if (/\.(py|js|sh)\.txt$/.test(name)) assert.equal(doc.childCount, 1, `${name} is one code block, blank lines and all`);
    if (/\.(py|js|sh)\.txt$/.test(name)) assert.equal(code.length, 1, `${name} is code`);
    if (name === 'crlf.txt' || name === 'whitespace.txt') assert.equal(code.length, 0, `${name} is not code`);
  }
});

test('edge cases: blank lines, leading and trailing newlines, CRLF', () => {
  for (const text of ['', 'one', 'a\nb', 'a\n\nb', 'a\n\n\nb', 'a\n\n\n\nb', '\n\nlead', 'trail\n', 'trail\n\n', '\n', '\n\n\n', 'x\n\n\n\n\n\ny', 'emoji 😀\n日本\n\n  indented', '\t\ttabs\n   \n  ']) {
    assert.equal(docToText(parsePlainText(text)).text, text, JSON.stringify(text));
  }
  assert.equal(docToText(parsePlainText('a\r\nb\r\n\r\nc')).text, 'a\nb\n\nc');
});

test('random mixes of code, prose and whitespace round-trip exactly (500 texts)', () => {
  const r = rng(3);
  const lines = ['def f(x):', '    return x[0]', '\tindented with a tab', 'if (a && b) { run(); }', 'The river was high that spring.', 'She said: "no".', '', '   ', 'trailing  ', '# comment', '$ ls -la', '}', 'x = counts.get(w, 0) + 1', 'Plain words here', '\\back\\slash', '日本語 😀'];
  for (let k = 0; k < 500; k++) {
    const text = Array.from({ length: Math.floor(r() * 12) }, () => lines[Math.floor(r() * lines.length)]!).join('\n') + (r() < 0.3 ? '\n' : '');
    assert.equal(serializePlainText(parsePlainText(text)), text, JSON.stringify(text));
  }
});

test('pasted text keeps its lines as lines, not a paragraph each', () => {
  const slice = plainTextSlice('line one\nline two\n\nsecond paragraph');
  assert.equal(slice.content.childCount, 2, 'two blocks: the blank line is the only block break');
  assert.equal(slice.content.firstChild!.childCount, 3, 'line, hard break, line');
  assert.equal(slice.openStart, 1);
});

/** What a writer pastes from a code file: a whole top-level function, class or statement group, as the file has it (at most 40 lines). */
function pastes(file: string): string[] {
  const text = readFileSync(join(HELDOUT, file), 'utf8');
  return text
    .split(/\n(?=(?:def |class |async def |function |export |const |let |var |module\.exports|@)\S)/)
    .map((p) => p.split('\n').slice(0, 40).join('\n').trim())
    .filter((p) => p.split('\n').filter((l) => l.trim()).length >= 3);
}

test('the code detector: held-out prose is never code; held-out code pastes nearly always are', () => {
  for (const file of ['brown.txt', 'moby.txt', 'sotu.txt']) {
    // Prose paragraphs as they are, and wrapped at 70 columns (a paragraph of several lines).
    const paragraphs = readFileSync(join(HELDOUT, file), 'utf8').split(/\n\s*\n/).filter((p) => p.trim().length > 80);
    const wrapped = paragraphs.map((p) => p.replace(/\s+/g, ' ').replace(/(.{1,70})(\s|$)/g, '$1\n').trim());
    const flagged = [...paragraphs, ...wrapped].filter(looksLikeCode);
    assert.equal(flagged.length, 0, `${file}: ${flagged.length} of ${paragraphs.length * 2} prose paragraphs read as code, e.g. ${JSON.stringify(flagged[0]?.slice(0, 200))}`);
  }
  for (const file of ['python.txt', 'js.txt']) {
    const all = pastes(file);
    const share = all.filter(looksLikeCode).length / all.length;
    assert.ok(all.length >= 50 && share >= 0.95, `${file}: ${(share * 100).toFixed(1)}% of ${all.length} code pastes read as code`);
  }
});
