import assert from 'node:assert/strict';
import { test } from 'node:test';
import { seenDistance, seenLab } from './color-vision.ts';
import { colorScale, entropyColor, logprobColor, meanStdRange, normalize, rankBucket, rankColor, RANK_BUCKETS, scaleLabels } from './colors.ts';

const tok = (logprob: number, rank = 1, entropy = 1) => ({ logprob, rank, entropy });

test('the log-prob range is mean ± 2.5 population standard deviations', () => {
  // values 1..5: mean 3, population sd sqrt(2)
  const r = meanStdRange([1, 2, 3, 4, 5]);
  assert.ok(Math.abs(r.min - (3 - 2.5 * Math.SQRT2)) < 1e-12);
  assert.ok(Math.abs(r.max - (3 + 2.5 * Math.SQRT2)) < 1e-12);
  assert.deepEqual(meanStdRange([]), { min: 0, max: 0 });
});

test('hue is the clamped log-prob scaled to 0–150deg, hsl(h 60% 85%) in light and a dark variant', () => {
  const range = { min: -10, max: -2 };
  assert.equal(logprobColor(-10, range), 'hsl(0 60% 85%)');
  assert.equal(logprobColor(-2, range), 'hsl(150 60% 85%)');
  assert.equal(logprobColor(-6, range), 'hsl(75 60% 85%)');
  assert.equal(logprobColor(-40, range), 'hsl(0 60% 85%)', 'clamped below');
  assert.equal(logprobColor(0, range), 'hsl(150 60% 85%)', 'clamped above');
  assert.equal(logprobColor(-4, range, 'dark'), 'hsl(112.5 45% 30%)');
  assert.equal(normalize(3, { min: 1, max: 1 }), 0.5, 'a document whose tokens all score the same is mid-scale');
});

test('colorScale over a document: the outlier is clamped, the mean sits at 75deg', () => {
  const tokens = [...Array.from({ length: 20 }, (_, i) => tok(-1 - (i % 3))), tok(-50)];
  const scale = colorScale('logprob', tokens);
  const mean = tokens.reduce((s, t) => s + t.logprob, 0) / tokens.length;
  assert.equal(scale(tok(mean)), 'hsl(75 60% 85%)');
  const { min } = meanStdRange(tokens.map((t) => t.logprob));
  assert.ok(min > -50, 'the outlier lies beyond 2.5 sd');
  assert.equal(scale(tokens[20]!), 'hsl(0 60% 85%)');
});

test('GLTR rank buckets: top 10 / 100 / 1,000 / beyond, at their edges', () => {
  assert.deepEqual([1, 10, 11, 100, 101, 1000, 1001, 50257].map(rankBucket), [0, 0, 1, 1, 2, 2, 3, 3]);
  assert.equal(rankColor(10), RANK_BUCKETS[0].light);
  assert.equal(rankColor(1001, 'dark'), RANK_BUCKETS[3].dark);
  assert.equal(colorScale('rank', [tok(-1, 500)])(tok(-1, 500)), RANK_BUCKETS[2].light);
});

test('entropy goes from pale (sure) to deep blue (unsure)', () => {
  const range = { min: 0, max: 4 };
  assert.equal(entropyColor(0, range), 'hsl(215 70% 94%)');
  assert.equal(entropyColor(4, range), 'hsl(215 70% 70%)');
  assert.equal(entropyColor(2, range, 'dark'), 'hsl(215 70% 28%)');
});

test('scale labels stop at what a value can be: no log-prob above 0, no entropy below 0', () => {
  // mean + 2.5 sd above 0 (a document of near-certain tokens): the top is p 100%, not "p ≥ 100%" or "ln p ≥ 0.26".
  const over = scaleLabels('logprob', { min: -3.1, max: 0.26 });
  assert.equal(over.high, 'expected: p 100% (ln p 0)');
  assert.equal(over.low, 'surprising: p ≤ 4.5% (ln p ≤ -3.10)');
  // Just below 0 still rounds to 100%: no "≥" before it either.
  assert.equal(scaleLabels('logprob', { min: -9, max: -0.004 }).high, 'expected: p 100% (ln p 0)');
  assert.equal(scaleLabels('logprob', { min: -9, max: -0.5 }).high, 'expected: p ≥ 61% (ln p ≥ -0.50)');
  assert.deepEqual(scaleLabels('entropy', { min: -0.7, max: 4.25 }), { low: 'sure: 0.00 nats', high: 'unsure: ≥ 4.25 nats' });
  assert.equal(scaleLabels('entropy', { min: 0.5, max: 4 }).low, 'sure: ≤ 0.50 nats');
});

test('blue-orange reads for protanopia and deuteranopia (simulated); red-green does not', () => {
  const r = { min: 0, max: 1 };
  const visions = ['normal', 'protanopia', 'deuteranopia'] as const;
  for (const theme of ['light', 'dark'] as const) {
    for (const variant of ['fill', 'line'] as const) {
      const look = { palette: 'blue-orange', variant } as const;
      const scale = [0, 0.25, 0.5, 0.75, 1].map((t) => logprobColor(t, r, theme, look));
      const buckets = [1, 50, 500, 5000].map((rank) => rankColor(rank, theme, look));
      for (const v of visions) {
        const label = `${theme} ${variant}, ${v}`;
        assert.ok(seenDistance(scale[0]!, scale[4]!, v) >= 40, `${label}: surprising and expected are far apart`);
        for (let i = 0; i < 4; i++) assert.ok(seenDistance(scale[i]!, scale[i + 1]!, v) >= 5, `${label}: each quarter of the scale is a visible step`);
        for (let i = 0; i < 4; i++) for (let j = i + 1; j < 4; j++) assert.ok(seenDistance(buckets[i]!, buckets[j]!, v) >= 9, `${label}: rank buckets ${i} and ${j} differ`);
      }
    }
  }
  // The same check on the default palette fails: the simulation does tell red from green apart.
  const rg = [0, 1].map((t) => logprobColor(t, r, 'light'));
  assert.ok(seenDistance(rg[0]!, rg[1]!, 'normal') > 30, 'red-green ends differ for normal vision');
  assert.ok(seenDistance(rg[0]!, rg[1]!, 'deuteranopia') < 15 && seenDistance(rg[0]!, rg[1]!, 'protanopia') < 15, 'and nearly merge for red-green color blindness');
});

test('the color-vision simulation: white and black stay, pure red and green merge for deuteranopia', () => {
  assert.ok(seenDistance('hsl(0 0% 100%)', 'hsl(0 0% 100%)', 'deuteranopia') < 0.5);
  assert.ok(Math.abs(seenLab('hsl(0 0% 100%)', 'protanopia')[0] - 100) < 0.5, 'white stays white');
  assert.ok(Math.abs(seenLab('hsl(0 0% 0%)', 'deuteranopia')[0]) < 0.5, 'black stays black');
  assert.ok(seenDistance('hsl(0 100% 50%)', 'hsl(120 100% 50%)', 'normal') > 100);
  assert.ok(seenDistance('hsl(0 100% 40%)', 'hsl(100 100% 30%)', 'deuteranopia') < 25, 'red and green, darkness matched, look alike');
  assert.ok(seenDistance('hsl(28 90% 60%)', 'hsl(212 90% 60%)', 'deuteranopia') > 50, 'orange and blue do not');
});
