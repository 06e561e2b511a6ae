import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { ScoreUpdate } from '../../common/api.ts';
import type { Engine } from './engine.ts';
import { loadEngine } from './load-from-folder.ts';
import { FIXTURES_DIR } from './paths.ts';

interface Golden {
  text: string;
  ids: number[];
  logprobs: number[];
  ranks: number[];
  rank_ranges: [number, number][];
  entropies: number[];
  top5_ids: number[][];
  top5_logprobs: number[][];
}
const golden = JSON.parse(readFileSync(join(FIXTURES_DIR, 'golden.json'), 'utf8')) as {
  logprob_tolerance: number; // nats, export.py's LOGPROB_TOLERANCE
  texts: Record<string, Golden>;
};
const tolerance = golden.logprob_tolerance;

let engine: Engine;
before(async () => {
  engine = await loadEngine({ device: 'cpu' });
});
after(() => engine.dispose());

describe('embedded model matches the PyTorch reference', () => {
  test('the fixtures hold the engine to float32 agreement', () => {
    assert.ok(tolerance > 0 && tolerance <= 1e-4, `golden.json's logprob_tolerance: ${tolerance}`);
  });
  for (const [name, g] of Object.entries(golden.texts)) {
    test(name, async () => {
      const { tokens, predictions } = await engine.score(g.text, { topK: 5 });
      assert.deepEqual(tokens.map((t) => t.id), g.ids);
      let maxDiff = 0;
      tokens.forEach((t, i) => {
        maxDiff = Math.max(maxDiff, Math.abs(t.logprob - g.logprobs[i]!), Math.abs(t.entropy - g.entropies[i]!) / 10);
        // Ranks can differ where other logits lie within the log-prob bound of the target's: rank_ranges
        // holds the ranks an engine within the tolerance can report (PyTorch's own in ranks).
        const [low, high] = g.rank_ranges[i]!;
        assert.ok(low <= t.rank && t.rank <= high, `rank of token ${i}: ${t.rank}, PyTorch ${g.ranks[i]} (${low}-${high} within ${tolerance} nats)`);
        assert.deepEqual(predictions![i]!.slice(0, 3).map((p) => p.id), g.top5_ids[i]!.slice(0, 3), `top-3 at token ${i}`);
      });
      assert.ok(maxDiff < tolerance, `max |Δ log-prob| = ${maxDiff}`);
      assert.equal(tokens.map((t) => t.text).join(''), g.text);
    });
  }
});

function collect(engine: Engine, version: number): Promise<ScoreUpdate[]> {
  const updates: ScoreUpdate[] = [];
  return new Promise((resolve) => {
    const off = engine.on('scores', (u) => {
      if (u.version !== version) return;
      updates.push(u);
      if (u.done) {
        off();
        resolve(updates);
      }
    });
  });
}

describe('incremental updates', () => {
  test('typing at the end recomputes only the new tokens and equals a full score', async () => {
    const base = golden.texts.prose!.text;
    const first = collect(engine, 1);
    engine.update(1, base);
    await first;
    const second = collect(engine, 2);
    engine.update(2, base + ' The');
    const updates = await second;
    const n = updates[0]!.tokenCount;
    assert.equal(updates[0]!.firstChanged, n - 1, 'only the new token is recomputed');
    const fresh = await engine.score(base + ' The');
    const last = updates.at(-1)!;
    assert.equal(last.tokens.at(-1)!.id, fresh.tokens.at(-1)!.id);
    assert.ok(Math.abs(last.tokens.at(-1)!.logprob - fresh.tokens.at(-1)!.logprob) < 1e-5);
  });

  test('a newer version cancels older work and chunks arrive in order', async () => {
    const long = golden.texts.prose!.text.repeat(12);
    const seen: ScoreUpdate[] = [];
    const off = engine.on('scores', (u) => seen.push(u));
    engine.update(10, long);
    engine.update(11, long + ' end');
    await engine.idle();
    off();
    assert.ok(!seen.some((u) => u.version === 10 && u.done), 'the superseded version never completes');
    const v11 = seen.filter((u) => u.version === 11);
    for (let i = 1; i < v11.length; i++) assert.ok(v11[i]!.from >= v11[i - 1]!.from + v11[i - 1]!.tokens.length);
    assert.ok(v11.at(-1)!.done);
  });
});

test('a 1 MB paste starts streaming and is cancelled by the next edit without losing it', async () => {
  const big = (golden.texts.prose!.text + '\n\n').repeat(Math.ceil(1_000_000 / (golden.texts.prose!.text.length + 2)));
  assert.ok(big.length >= 1_000_000);
  const firstChunk = new Promise<ScoreUpdate>((resolve) => {
    const off = engine.on('scores', (u) => {
      if (u.version === 100 && u.tokens.length > 0) {
        off();
        resolve(u);
      }
    });
  });
  engine.update(100, big);
  const chunk = await firstChunk;
  assert.ok(chunk.tokenCount > 150_000, `${chunk.tokenCount} tokens`);
  assert.ok(chunk.from <= golden.texts.prose!.ids.length, 'streaming starts at the first new token');
  const small = collect(engine, 101);
  engine.update(101, big.slice(0, 300));
  const updates = await small;
  assert.equal(engine.current!.text, big.slice(0, 300));
  assert.ok(updates.at(-1)!.done);
  assert.ok(updates[0]!.firstChanged >= updates[0]!.tokenCount - 3, `the scores already computed for the paste are kept: ${updates[0]!.firstChanged} of ${updates[0]!.tokenCount}`);
});
