import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadEngine } from '../src/load-from-folder.ts';
import { copying, hardWrap, heldout, stripMarkdown } from './model-card.ts';

test('held-out sets: every domain the card reports has documents, separated and never empty', () => {
  for (const domain of ['brown', 'sotu', 'moby', 'python', 'js', 'markdown', 'factbook']) {
    const docs = heldout(domain);
    assert.ok(docs.length >= 1, domain);
    assert.ok(docs.every((d) => d.trim().length > 100 && !d.includes('\f')), `${domain}: documents are split on the separator`);
  }
  assert.equal(heldout('brown').length, 25, 'the 25 Brown files held out since the first embedded model');
  const cut = heldout('sotu', 5_000);
  assert.ok(cut.join('').length <= 5_000 && cut.join('').length > 1_000, 'cut to about the asked size, at a paragraph');
});

test('hardWrap: lines at most the width, same words, paragraphs kept', () => {
  const text = 'one two three four five six seven eight nine ten eleven twelve\n\nthirteen fourteen';
  const wrapped = hardWrap(text, 20);
  assert.ok(wrapped.split('\n').every((l) => l.length <= 20));
  assert.equal(wrapped.replace(/\s+/g, ' '), text.replace(/\s+/g, ' '));
  assert.equal(wrapped.split('\n\n').length, 2);
});

test('stripMarkdown: markup gone, words kept', () => {
  const md = '# Title\n\nSome **bold** and *em* and `code`, a [link](https://x.y).\n\n- one\n- two\n\n1. first\n```js\nx()\n```';
  assert.equal(stripMarkdown(md), 'Title\n\nSome bold and em and code, a link.\n\none\ntwo\n\nfirst\n\nx()\n');
});

test('the embedded model copies: held-out sentences and code lines seen once are ≥ 3 nats a token likelier the second time', async () => {
  const engine = await loadEngine({ device: 'cpu' });
  try {
    const figures = await copying(engine);
    for (const kind of ['prose', 'code']) {
      const { first, second } = figures[kind]!;
      assert.ok(second - first >= 3, `${kind}: 2nd copy ${second.toFixed(2)} vs 1st ${first.toFixed(2)} nats a token`);
    }
    const { first, second } = figures.nonsense!;
    assert.ok(second > first, `nonsense words: 2nd copy ${second.toFixed(2)} vs 1st ${first.toFixed(2)}`);
  } finally {
    await engine.dispose();
  }
});
