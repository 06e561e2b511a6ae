import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ScoreUpdate, TokenScore } from '../common/api.ts';
import { ScoreTracker } from './score-tracker.ts';

const tok = (i: number, lp: number): TokenScore => ({ id: i, text: `t${i}`, start: i, end: i + 1, logprob: lp, rank: 1, entropy: 1 });
const chunk = (version: number, tokenCount: number, firstChanged: number, from: number, lps: number[], done: boolean): ScoreUpdate => ({
  version,
  tokenCount,
  firstChanged,
  from,
  tokens: lps.map((lp, j) => tok(from + j, lp)),
  scored: from + lps.length,
  done,
});

test('chunks assemble a version; a new version keeps the unchanged prefix; stale chunks are ignored', async () => {
  const t = new ScoreTracker();
  t.apply(chunk(1, 4, 0, 0, [-1, -2], false));
  assert.equal(t.complete(1), null);
  const waiting = t.waitFor(1, 1000);
  t.apply(chunk(1, 4, 0, 2, [-3, -4], true));
  assert.deepEqual((await waiting).map((x) => x.logprob), [-1, -2, -3, -4]);

  t.apply(chunk(3, 3, 2, 2, [-9], true)); // an edit at token 2; the text got shorter
  assert.deepEqual(t.complete(3)!.map((x) => x.logprob), [-1, -2, -9]);
  assert.equal(t.apply(chunk(2, 5, 0, 0, [0, 0, 0, 0, 0], true)), false);
  assert.deepEqual(t.complete(3)!.map((x) => x.logprob), [-1, -2, -9]);
});

test('waiting for a version fails when a newer one arrives or time runs out', async () => {
  const t = new ScoreTracker();
  const w = t.waitFor(1, 1000);
  t.apply(chunk(2, 1, 0, 0, [-1], false));
  await assert.rejects(w, /replaced by a newer edit/);
  await assert.rejects(t.waitFor(2, 20), /did not finish scoring in time/);
});
