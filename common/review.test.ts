import assert from 'node:assert/strict';
import { test } from 'node:test';
import { applyIgnores, ignoreAllLikeThis, ignoreSpan, normalizeWords, REVIEW_DEFAULTS, reviewSpans, type Review, type ReviewToken } from './review.ts';

/** A token: its text, log-prob (default −1: likely) and rank (default: 1 when likely, 20,000 when not). */
type Part = string | [string, number] | [string, number, number];

/**
 * Text and tokens from parts in order; the same text gets the same id. An empty part is a token
 * with an empty span (the rest of a character split across tokens).
 */
function doc(parts: Part[]): { text: string; tokens: ReviewToken[] } {
  const ids = new Map<string, number>();
  let text = '';
  const tokens = parts.map((p, i) => {
    const [s, logprob = -1, rank = logprob < -5 ? 20_000 : 1] = typeof p === 'string' ? [p] : p;
    if (!ids.has(s || `\0${i}`)) ids.set(s || `\0${i}`, ids.size + 1);
    const t = { id: ids.get(s || `\0${i}`)!, start: text.length, end: text.length + s.length, logprob, rank };
    text += s;
    return t;
  });
  return { text, tokens };
}

/**
 * Ordinary words, so the document's mean and spread put −15 well below the cutoff; each different
 * (one word over and over is a copy of itself: a repeat).
 */
let fillers = 0;
const filler = (n: number, logprob = -1, rank = 1): Part[] => Array.from({ length: n }, () => [` w${fillers++}`, logprob, rank]);
const texts = (r: Review, kind: keyof Omit<Review, 'cutoff'> = 'surprising') => r[kind].map((s) => s.text);

function checkOffsets(text: string, r: Review) {
  for (const s of [...r.surprising, ...r.predictable, ...r.repeats]) {
    assert.equal(s.text, text.slice(s.start, s.end), `${s.kind} ${JSON.stringify(s.text)} is its slice`);
    for (const at of [s.start, s.end]) assert.ok(!/[\ud800-\udbff]/.test(text[at - 1] ?? '') || !/[\udc00-\udfff]/.test(text[at] ?? ''), `${s.kind} offset ${at} splits a surrogate pair`);
    assert.equal(s.text.trim(), s.text, 'no whitespace at either end');
  }
}

test('the cutoff is the mean log-prob minus 1.5 standard deviations of the document', () => {
  const { text, tokens } = doc(['A', ...filler(18), [' zyx', -15], ' end']);
  const r = reviewSpans(text, tokens);
  const lp = tokens.map((t) => t.logprob);
  const mean = lp.reduce((a, b) => a + b) / lp.length;
  const sd = Math.sqrt(lp.reduce((a, b) => a + (b - mean) ** 2, 0) / lp.length);
  assert.equal(REVIEW_DEFAULTS.unlikelySpread, 1.5);
  assert.ok(Math.abs(r.cutoff.logprob - (mean - 1.5 * sd)) < 1e-9);
  assert.deepEqual(texts(r), ['zyx']);
});

test('a span is whole words: an unlikely sub-token makes its whole word the span, never the space before it', () => {
  const { text, tokens } = doc(['The', ...filler(16), ' qu', ['iet', -14], 'ly', ' today', '.']);
  const r = reviewSpans(text, tokens);
  assert.deepEqual(texts(r), ['quietly']);
  const s = r.surprising[0]!;
  assert.deepEqual([s.first, s.last], [17, 20], 'the tokens " qu", "iet", "ly"');
  assert.ok(Math.abs(s.surprisal - 16) < 1e-9, 'Σ −log p of its three tokens');
  assert.ok(Math.abs(s.probability - Math.exp(-16)) < 1e-15);
  assert.equal(s.peak, 14);
  assert.deepEqual(s.words, ['quietly']);
  // Contractions and hyphenated words are one word too.
  const c = doc(['We', ...filler(16), ' don', ["'t", -14], ' self', '-', ['made', -13], ' it', '.']);
  assert.deepEqual(texts(reviewSpans(c.text, c.tokens)), ["don't self-made"]);
});

test('one likely word between two unlikely ones is bridged; two are not', () => {
  const one = doc(['So', ...filler(20), [' zorp', -15], ' the', [' quux', -15], ' went', '.']);
  const r = reviewSpans(one.text, one.tokens);
  assert.deepEqual(texts(r), ['zorp the quux']);
  assert.deepEqual(r.surprising[0]!.words, ['zorp', 'quux'], 'the bridged word is not one "ignore all like this" adds');
  const two = doc(['So', ...filler(20), [' zorp', -15], ' the', ' old', [' quux', -15], ' went', '.']);
  assert.deepEqual(texts(reviewSpans(two.text, two.tokens)).sort(), ['quux', 'zorp']);
  assert.deepEqual(texts(reviewSpans(one.text, one.tokens, { bridge: false })).sort(), ['quux', 'zorp'], 'bridge: false');
});

test('punctuation and whitespace never start or end a span, and a span never crosses a sentence or line end', () => {
  const quoted = doc(['He', ...filler(20), ' said', [' "', -15], ['zork', -15], [',"', -15], ' then', '.']);
  assert.deepEqual(texts(reviewSpans(quoted.text, quoted.tokens)), ['zork']);
  const alone = doc(['He', ...filler(20), [' ;', -15], [' \u2014', -15], ' then', '.']);
  assert.deepEqual(texts(reviewSpans(alone.text, alone.tokens)), [], 'unlikely punctuation alone is no span');
  const comma = doc(['He', ...filler(20), [' zork', -15], [',', -2], [' blat', -15], ' then', '.']);
  assert.deepEqual(texts(reviewSpans(comma.text, comma.tokens)), ['zork, blat'], 'a comma stays inside');
  const sentence = doc(['He', ...filler(20), [' zork', -15], '.', [' Blat', -15], ' then', '\n', [' quux', -15], '.']);
  assert.deepEqual(texts(reviewSpans(sentence.text, sentence.tokens)).sort(), ['Blat', 'quux', 'zork']);
});

test('a span holds at most four words', () => {
  const { text, tokens } = doc(['It', ...filler(40), ...[' aa', ' bb', ' cc', ' dd', ' ee', ' ff'].map((w): Part => [w, -15]), '.']);
  const r = reviewSpans(text, tokens);
  assert.deepEqual(r.surprising.map((s) => s.text).sort(), ['aa bb cc dd', 'ee ff']);
  assert.deepEqual(texts(reviewSpans(text, tokens, { maxWords: 2 })).sort(), ['aa bb', 'cc dd', 'ee ff']);
});

test('ranked by the most surprising token (peak), then Σ −log p, then position: deterministic', () => {
  const { text, tokens } = doc([
    'It', ...filler(60),
    [' first', -12], ' and', ' so', [' second', -16], ' and', ' so', [' third', -16], [' thirdb', -12], ' and', ' so', [' fourth', -16], '.',
  ]);
  const r = reviewSpans(text, tokens);
  // second: peak 16, Σ 16; "third thirdb": peak 16, Σ 28; fourth: peak 16, Σ 16, after second; first: peak 12.
  assert.deepEqual(texts(r), ['third thirdb', 'second', 'fourth', 'first']);
  assert.deepEqual(reviewSpans(text, tokens), r, 'the same input gives the same lists');
});

test('a copy of earlier text is a repeat, with its source, and never a predictable run', () => {
  const sentence = [' The', ' river', ' ran', ' under', ' the', ' old', ' stone', ' bridge', ' all', ' night', '.'];
  const { text, tokens } = doc([
    'Once', ...sentence.map((w): Part => [w, -6, 300]), ...filler(30),
    ...sentence.map((w): Part => [w, -0.1, 1]), ' Then', ' it', ...filler(10),
  ]);
  const r = reviewSpans(text, tokens);
  checkOffsets(text, r);
  assert.equal(r.repeats.length, 1);
  const rep = r.repeats[0]!;
  assert.equal(rep.text, 'The river ran under the old stone bridge all night.', 'starts at a word, keeps the final punctuation');
  assert.equal(text.slice(rep.source.start, rep.source.end), rep.text);
  assert.ok(rep.source.end <= rep.start);
  assert.deepEqual([rep.source.last - rep.source.first, rep.last - rep.first], [11, 11]);
  assert.ok(!r.predictable.some((p) => p.end > rep.start && p.start < rep.end), 'the copy is not predictable');
  // The same draft without repeat detection: the copy, all rank 1, would be listed as predictable.
  const blind = reviewSpans(text, tokens, { minRepeatTokens: 1e9 });
  assert.ok(blind.predictable.some((p) => p.text.includes('river ran under the old stone bridge')));
});

test('a predictable run: at least six near-certain tokens of whole words, not across a sentence end', () => {
  const { text, tokens } = doc([
    'It', ...filler(20, -6, 300), [' at', -4, 40], ' the', [' end', -0.9, 2], ' of', ' the', ' day', ',', ' we', [' left', -4, 40], '.',
  ]);
  const r = reviewSpans(text, tokens);
  assert.deepEqual(texts(r, 'predictable'), ['the end of the day, we'], 'ranks 1 and 2');
  const third = doc(['It', ...filler(20, -6, 300), [' at', -4, 40], ' the', [' end', -1.2, 3], ' of', ' the', ' day', ',', ' we', [' left', -4, 40], '.']);
  assert.deepEqual(texts(reviewSpans(third.text, third.tokens), 'predictable'), [], 'a token ranked 3 breaks the run');
  const p = r.predictable[0]!;
  assert.deepEqual(p.words, ['the end of the day, we'], 'ignore all like this: the phrase anywhere');
  const short = doc(['It', ...filler(20, -6, 300), [' at', -4, 40], ' the', ' end', ' of', [' it', -4, 40], '.']);
  assert.deepEqual(texts(reviewSpans(short.text, short.tokens), 'predictable'), [], 'three tokens are not a run');
  const broken = doc(['It', ...filler(20, -6, 300), [' at', -4, 40], ' the', ' end', '.', ' Of', ' the', ' day', [' x', -4, 40]]);
  assert.deepEqual(texts(reviewSpans(broken.text, broken.tokens), 'predictable'), [], 'a sentence end splits the run');
});

test('ignoring: the key survives edits elsewhere and changes with the span’s own text', () => {
  const draft = (before: string, word: string, after: string) => doc(['It', before, ...filler(20), ' the', [` ${word}`, -15], ' was', after, '.']);
  const a = draft(' is', 'zorblax', ' red');
  const ra = reviewSpans(a.text, a.tokens);
  const span = ra.surprising[0]!;
  assert.equal(span.text, 'zorblax');
  const ignored = ignoreSpan({ keys: [], words: [] }, span);
  assert.deepEqual(texts(applyIgnores(ra, ignored)), []);
  // Edits before and after it: new offsets, same key.
  const b = draft(' was, long ago, said to be', 'zorblax', ' very red indeed');
  const rb = reviewSpans(b.text, b.tokens);
  assert.notEqual(rb.surprising[0]!.start, span.start);
  assert.equal(rb.surprising[0]!.key, span.key);
  assert.deepEqual(texts(applyIgnores(rb, ignored)), []);
  // The word itself edited: a new key, listed again.
  const c = draft(' is', 'zorblux', ' red');
  assert.deepEqual(texts(applyIgnores(reviewSpans(c.text, c.tokens), ignored)), ['zorblux']);
  assert.deepEqual(ignored.words, []);
});

test('an ignored span stays ignored when the cutoff moves its edges, and returns when it gains an unlikely word', () => {
  const draft = (second: number, third: number) => doc(['It', ...filler(30), ' the', [' zork', -15], [' blat', second], [' quux', third], ' was', '.']);
  const wide = draft(-15, -1);
  const r = reviewSpans(wide.text, wide.tokens);
  assert.deepEqual(texts(r), ['zork blat']);
  const ignored = ignoreSpan({ keys: [], words: [] }, r.surprising[0]!);
  const narrow = draft(-1, -1);
  const rn = reviewSpans(narrow.text, narrow.tokens);
  assert.deepEqual(texts(rn), ['zork']);
  assert.deepEqual(texts(applyIgnores(rn, ignored)), [], 'the span shrank to a word already ignored');
  const grown = draft(-15, -15);
  assert.deepEqual(texts(applyIgnores(reviewSpans(grown.text, grown.tokens), ignored)), ['zork blat quux']);
});

test('ignore all like this: the word wherever it is flagged, in any case; other spans stay', () => {
  const { text, tokens } = doc(['It', ...filler(30), [' Quintana', -15], ' said', '.', ...filler(10), ' and', [' quintana', -15], ' left', '.', [' Zorp', -15], ' went', '.']);
  const r = reviewSpans(text, tokens);
  assert.deepEqual(texts(r).sort(), ['Quintana', 'Zorp', 'quintana']);
  const quintana = r.surprising.find((s) => s.text === 'Quintana')!;
  const ignored = ignoreAllLikeThis({ keys: [], words: [] }, quintana);
  assert.deepEqual(ignored, { keys: [], words: ['quintana'] });
  assert.deepEqual(texts(applyIgnores(r, ignored)), ['Zorp']);
  assert.equal(normalizeWords('Don’t  Stop'), "don't stop");
  assert.equal(normalizeWords('ＡＢＣ'), 'abc', 'NFKC: full-width letters');
  assert.equal(applyIgnores(r, { keys: new Set(), words: new Set() }), r, 'nothing ignored: the same lists');
});

test('offsets stay right around emoji, CJK, surrogate pairs and tokens that split a character', () => {
  const { text, tokens } = doc([
    '😀', '', ' hello', ...filler(20), ' 日本', ['語', -15], ['', -14], ' and', ' so', [' 𠀀', -15], ['', -15], ' x', ' and', [' naïve', -15], ' café', '.', ' 🎉', ['', -15], ' end',
  ]);
  const r = reviewSpans(text, tokens);
  checkOffsets(text, r);
  assert.deepEqual(texts(r).sort(), ['naïve', '語', '𠀀'].sort());
  const cjk = r.surprising.find((s) => s.text === '語')!;
  assert.equal(text.slice(cjk.start, cjk.end), '語');
  assert.ok(Math.abs(cjk.surprisal - 29) < 1e-9, 'the empty-span token belongs to its character');
  // A token holding two CJK characters makes them one unit.
  const merged = doc(['A', ...filler(20), ' 日本', ['語です', -15], ' and', '.']);
  assert.deepEqual(texts(reviewSpans(merged.text, merged.tokens)), ['語です']);
});

test('empty text, no tokens, and a prefix of the tokens', () => {
  assert.deepEqual(reviewSpans('', []), { surprising: [], predictable: [], repeats: [], cutoff: { logprob: 0, rank: Infinity } });
  const { text, tokens } = doc(['It', ...filler(20), [' zork', -15], ' and', [' bla', -15], ['t', -15]]);
  assert.deepEqual(texts(reviewSpans(text, [])), []);
  const r = reviewSpans(text, tokens.slice(0, -1));
  assert.deepEqual(texts(r), ['zork'], 'a word whose tokens are not all scored yet is left out');
  assert.deepEqual(texts(reviewSpans(text, tokens)), ['zork and blat'], 'all scored: the word joins the span');
  // Not-a-number log-probs (no score) are neither unlikely nor in the spread.
  const nan = doc(['It', ...filler(20), [' zork', NaN, 1], ' and', '.']);
  assert.deepEqual(texts(reviewSpans(nan.text, nan.tokens)), []);
});

test('the first token of the document, scored with no context, makes no span', () => {
  const { text, tokens } = doc([['Appointment', -15], ...filler(20), [' zork', -15], '.']);
  assert.deepEqual(texts(reviewSpans(text, tokens)), ['zork']);
});

test('a copy flags nothing and stays out of the cutoff: its words are flagged where they first appear', () => {
  const paragraph: Part[] = ['\n', ' The', ' river', [' zorblaxed', -15], ' under', ' the', ' old', ' stone', ' bridge', ' all', ' night', '.'];
  const copy = paragraph.map((p): Part => {
    const word = typeof p === 'string' ? p : p[0];
    return [word, word === ' The' ? -15 : -0.1, 1];
  });
  const { text, tokens } = doc(['Once', ...paragraph, ...filler(30), ...copy, ...filler(5)]);
  const r = reviewSpans(text, tokens);
  assert.equal(r.repeats.length, 1);
  const rep = r.repeats[0]!;
  assert.deepEqual(
    r.surprising.map((s) => [s.text, s.start < rep.start]),
    [['zorblaxed', true]],
    'the copy’s own unlikely first word is not listed',
  );
  const copyFrom = 1 + paragraph.length + 30; // the copy's tokens, its newline included
  const own = tokens.filter((_, i) => i < copyFrom || i >= copyFrom + copy.length).map((t) => t.logprob);
  const mean = own.reduce((a, b) => a + b) / own.length;
  const sd = Math.sqrt(own.reduce((a, b) => a + (b - mean) ** 2, 0) / own.length);
  assert.ok(Math.abs(r.cutoff.logprob - (mean - 1.5 * sd)) < 1e-9, 'mean and spread of the tokens outside the copy');
});
