import assert from 'node:assert/strict';
import { test } from 'node:test';
import { countWords, logprobHistogram, paragraphPerplexities, rankBucketCounts } from './stats.ts';

const t = (start: number, end: number, logprob: number, rank = 1) => ({ start, end, logprob, rank });

test('log-prob histogram: 1-nat bins up to 0 and one bin below the floor, with token indexes', () => {
  const bins = logprobHistogram([t(0, 1, -0.2), t(1, 2, -14.5), t(2, 3, -20), t(3, 4, -0.9), t(4, 5, -3)]);
  assert.equal(bins.length, 16);
  assert.deepEqual(bins[0], { from: -Infinity, to: -15, count: 1, tokens: [2] });
  assert.deepEqual(bins[1]!.tokens, [1]);
  assert.deepEqual(bins[15]!.tokens, [0, 3], '[-1, 0)');
  assert.deepEqual(bins[13]!.tokens, [4], '[-3, -2)');
  assert.equal(bins.reduce((s, b) => s + b.count, 0), 5);
});

test('rank buckets count every token once', () => {
  const counts = rankBucketCounts([t(0, 1, -1, 1), t(1, 2, -1, 10), t(2, 3, -1, 11), t(3, 4, -1, 999), t(4, 5, -1, 40000)]);
  assert.deepEqual(counts.map((c) => c.count), [2, 1, 1, 1]);
  assert.deepEqual(counts[3]!.tokens, [4]);
});

test('perplexity per paragraph: exp of the mean negative log-prob of the tokens starting in it', () => {
  const text = 'Ab cd\n\nEf\n';
  const tokens = [t(0, 2, -1), t(2, 5, -3), t(5, 7, -9), t(7, 9, -2), t(9, 10, -4)];
  const paras = paragraphPerplexities(text, tokens);
  assert.deepEqual(paras.map((p) => [p.start, p.end, p.tokenCount]), [[0, 5, 2], [7, 9, 1]]);
  assert.ok(Math.abs(paras[0]!.perplexity - Math.exp(2)) < 1e-9);
  assert.ok(Math.abs(paras[1]!.perplexity - Math.exp(2)) < 1e-9);
});

test('words: letters and digits in any script, with inner apostrophes and hyphens', () => {
  assert.equal(countWords("It's a well-known café — 42 日本語 🍵 tea."), 7);
  assert.equal(countWords('  \n '), 0);
});
