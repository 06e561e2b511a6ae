// The engine text of a document and its offset map: every character of every segment maps to
// the same character in the document and back; separators follow the documented rule. (How
// Markdown and plain text round-trip: markdown.test.ts, plain-text.test.ts.)
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Node as PMNode } from 'prosemirror-model';
import { parseMarkdown } from './markdown.ts';
import { parsePlainText } from './plain-text.ts';
import { schema } from './schema.ts';
import { commonPrefix, docToText, placeToken, posToText, textToPos, type DocText } from './text-map.ts';

/** Every text character maps to the same character in the document, and back. */
function assertExactMap(doc: PMNode, dt: DocText): void {
  for (const s of dt.segments) {
    for (let k = 0; k < s.len; k++) {
      const offset = s.text + k;
      const pos = textToPos(dt, offset);
      assert.equal(pos, s.pos + k);
      if (s.kind === 'text') assert.equal(doc.textBetween(pos, pos + 1), dt.text[offset], `offset ${offset}`);
      else assert.equal(doc.nodeAt(pos)?.type.name, 'hard_break');
      assert.equal(posToText(dt, pos), offset);
    }
  }
  // Everything outside the segments is a separator.
  let covered = 0;
  for (const s of dt.segments) {
    assert.match(dt.text.slice(covered, s.text), /^\n*$/);
    covered = s.text + s.len;
  }
  assert.match(dt.text.slice(covered), /^\n*$/);
}

const MD = [
  '# A *title* here',
  '',
  'First paragraph with **strong** and *em* and `code`.',
  '',
  '- one',
  '- two',
  '  - nested',
  '- three',
  '',
  '1. first',
  '2. second',
  '',
  '> quoted text',
  '',
  '```',
  'code line 1',
  'code line 2',
  '```',
  '',
  'Line one  ',
  'line two after a hard break, emoji 👩‍👩‍👧 and 日本語.',
  '',
  '---',
  '',
  'After ![alt text](http://example.com/x.png) the rule.',
  '',
].join('\n');

test('docToText: visible text with the separator rule, exact offset map', () => {
  const { doc } = parseMarkdown(MD);
  const dt = docToText(doc);
  assert.equal(
    dt.text,
    'A title here\n\nFirst paragraph with strong and em and code.\n\none\ntwo\nnested\nthree\n\nfirst\nsecond\n\nquoted text\n\ncode line 1\ncode line 2\n\n' +
      'Line one\nline two after a hard break, emoji 👩‍👩‍👧 and 日本語.\n\nAfter  the rule.',
  );
  assertExactMap(doc, dt);
  const kinds = dt.blocks.map((b) => `${b.kind}${b.level ?? ''}${b.ordered ? 'o' : ''}`);
  assert.deepEqual(kinds, ['heading1', 'paragraph', 'list_item1', 'list_item1', 'list_item2', 'list_item1', 'list_item1o', 'list_item1o', 'blockquote', 'code_block', 'paragraph', 'paragraph']);
  for (const b of dt.blocks) assert.ok(b.end >= b.start);
  assert.equal(dt.text.slice(dt.blocks[1]!.start, dt.blocks[1]!.end), 'First paragraph with strong and em and code.');
  const marks = dt.blocks[1]!.marks!.map((m) => `${m.type}:${dt.text.slice(m.start, m.end)}`);
  assert.deepEqual(marks, ['strong:strong', 'em:em', 'code:code']);
  assert.deepEqual(dt.blocks[0]!.marks!.map((m) => dt.text.slice(m.start, m.end)), ['title']);
});

test('textToPos in separators and empty documents; posToText outside text', () => {
  const doc = parsePlainText('ab\n\ncd');
  const dt = docToText(doc);
  assert.equal(dt.text, 'ab\n\ncd');
  // "ab" is at positions 1..3, "cd" at 5..7 (paragraph tokens between).
  assert.equal(textToPos(dt, 2, -1), 3);
  assert.equal(textToPos(dt, 3, -1), 3);
  assert.equal(textToPos(dt, 3, 1), 5);
  assert.equal(textToPos(dt, 4, 1), 5);
  assert.equal(textToPos(dt, 4, -1), 5);
  assert.equal(textToPos(dt, 6), 7);
  assert.equal(posToText(dt, 4), 2);
  assert.equal(posToText(dt, 0), 0);
  const empty = docToText(parsePlainText(''));
  assert.equal(empty.text, '');
  assert.equal(textToPos(empty, 0), 1);
});

test('placeToken: pieces inside text only; line-break-only tokens get a marker', () => {
  const doc = schema.nodes.doc!.create(null, [
    schema.nodes.paragraph!.create(null, [schema.text('ab '), schema.text('cd', [schema.marks.em!.create()]), schema.nodes.hard_break!.create(), schema.text('ef')]),
    schema.nodes.paragraph!.create(null, [schema.text('gh')]),
  ]);
  const dt = docToText(doc);
  assert.equal(dt.text, 'ab cd\nef\n\ngh');
  // " cd" crosses a mark boundary but is one range of positions.
  assert.deepEqual(placeToken(dt, 2, 5), { pieces: [{ from: 3, to: 6 }], marker: null });
  // "cd\nef" skips the hard break.
  assert.deepEqual(placeToken(dt, 3, 8).pieces, [
    { from: 4, to: 6 },
    { from: 7, to: 9 },
  ]);
  // "\n" of the hard break: no text, a marker at the break.
  assert.deepEqual(placeToken(dt, 5, 6), { pieces: [], marker: 6 });
  // "\n\n" between paragraphs: a marker at the end of the first paragraph.
  assert.deepEqual(placeToken(dt, 8, 10), { pieces: [], marker: 9 });
  // An empty token has neither.
  assert.deepEqual(placeToken(dt, 3, 3), { pieces: [], marker: null });
});

test('commonPrefix', () => {
  const long = 'x'.repeat(10_000);
  assert.equal(commonPrefix('', 'abc'), 0);
  assert.equal(commonPrefix('abc', 'abd'), 2);
  assert.equal(commonPrefix(long + 'a', long + 'b'), 10_000);
  assert.equal(commonPrefix(long, long), 10_000);
  assert.equal(commonPrefix(long.slice(0, 5000) + 'y' + long, long + 'z'), 5000);
});
