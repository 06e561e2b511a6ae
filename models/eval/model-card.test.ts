import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadEngine } from '../src/load-from-folder.ts';
import { copying, hardWrap, heldout, induction, inductionPassages, stripMarkdown } from './model-card.ts';

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

test("the embedded model's induction heads are visible: in a held-out passage's second copy, layer 1 looks at the first copy's next token", async () => {
  const engine = await loadEngine({ device: 'cpu' });
  try {
    // Measured on these 4 passages (612 tokens): head 0 75.8 %, the heads averaged 83.2 % (the card's 8: 78.4 %, 85.6 %);
    // no other layer's best head reaches 2 %. A wrong mask or layer mapping gives near 0.
    const r = await induction(engine, inductionPassages(4));
    assert.ok(r.tokens > 400, `${r.tokens} tokens`);
    const layer1 = r.layers[1]!;
    assert.ok(layer1.bestHeadShare >= 0.6, `layer 1's best head (${layer1.bestHead}): ${layer1.bestHeadShare}`);
    assert.ok(layer1.summedShare >= 0.7, `layer 1's heads averaged: ${layer1.summedShare}`);
    assert.ok(r.layers.every((layer, l) => l === 1 || layer.bestHeadShare < 0.2), 'the copying is layer 1’s');
  } finally {
    await engine.dispose();
  }
});
