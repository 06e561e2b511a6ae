/**
 * The attention view (attention.ts, attention-graph.ts): equal to PyTorch's attention probabilities
 * (golden.json, written by models/training/golden_attention.py), the same from the live document's
 * KV cache (holes and later slots hidden) as from scratch, over the right window past 1,024 tokens,
 * the copy rule, the session's lifetime, and the interfaces that hide attention (a fused operator).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { AttentionResult } from '../../common/api.ts';
import { brownProse } from '../bench/corpus.ts';
import { buildModelFolder } from '../synthetic/random-models.ts';
import { COPY_MIN_SHARE } from './attention.ts';
import type { Engine } from './engine.ts';
import { loadEngine } from './load-from-folder.ts';
import { FIXTURES_DIR } from './paths.ts';

interface GoldenAttention {
  index: number;
  /** [layer][head][key]: key 0 is the <|endoftext|> before the text, key j token j − 1. */
  layers: number[][][];
}
const golden = JSON.parse(readFileSync(join(FIXTURES_DIR, 'golden.json'), 'utf8')) as {
  attention_tolerance: number;
  texts: Record<string, { text: string; ids: number[]; attention: GoldenAttention[] }>;
};

const fixtures = mkdtempSync(join(tmpdir(), 'likely-attention-'));
let engine: Engine;
let reference: Engine;
let version = 0;
before(async () => {
  engine = await loadEngine({ device: 'cpu' });
  // No KV cache kept: every attention request computes its prefix from scratch.
  reference = await loadEngine({ device: 'cpu', caching: false });
});
after(async () => {
  await engine.dispose();
  await reference.dispose();
  rmSync(fixtures, { recursive: true, force: true });
});

async function live(e: Engine, text: string): Promise<number> {
  e.update(++version, text);
  await e.idle();
  return version;
}

/** Every head's weights on every source, by source index (−1 = the start of the text). */
function weights(r: AttentionResult): Map<number, number>[][] {
  return r.layers.map((layer) => layer.heads.map((h) => new Map(h.top.map((s) => [s.index, s.weight]))));
}

function maxDifference(a: AttentionResult, b: AttentionResult): number {
  const wa = weights(a);
  const wb = weights(b);
  let max = 0;
  wa.forEach((layer, l) =>
    layer.forEach((head, h) => {
      assert.equal(head.size, wb[l]![h]!.size, `layer ${l} head ${h}: the same sources`);
      for (const [index, w] of head) max = Math.max(max, Math.abs(w - wb[l]![h]!.get(index)!));
    }),
  );
  return max;
}

describe('equal to PyTorch', () => {
  test('the fixtures hold the engine to float32 agreement', () => {
    assert.ok(golden.attention_tolerance > 0 && golden.attention_tolerance <= 1e-4, `attention_tolerance ${golden.attention_tolerance}`);
    assert.ok(Object.values(golden.texts).every((g) => g.attention.length >= 2));
  });
  for (const [name, g] of Object.entries(golden.texts)) {
    test(name, async (t) => {
      const v = await live(engine, g.text);
      let worst = 0;
      for (const want of g.attention) {
        const r = await engine.attention({ version: v, index: want.index, k: 1024 });
        assert.equal(r.token.index, want.index);
        assert.equal(r.sources, want.index + 1, 'the query sees itself and every token before it');
        assert.equal(r.layers.length, want.layers.length);
        r.layers.forEach((layer, l) =>
          layer.heads.forEach((head, h) => {
            const expected = want.layers[l]![h]!;
            assert.equal(head.top.length, expected.length, `layer ${l} head ${h}: every source with k = 1024`);
            for (const s of head.top) worst = Math.max(worst, Math.abs(s.weight - expected[s.index + 1]!));
            for (let i = 1; i < head.top.length; i++) assert.ok(head.top[i - 1]!.weight >= head.top[i]!.weight, 'strongest first');
          }),
        );
      }
      t.diagnostic(`max |Δ weight| vs PyTorch: ${worst.toExponential(2)}`);
      assert.ok(worst < golden.attention_tolerance, `max |Δ weight| ${worst}`);
    });
  }
});

describe('the query on the cached prefix', () => {
  test('spans, counts and summaries: the token, the query before it, sources, top-k, focus', async () => {
    const text = golden.texts.prose!.text;
    const v = await live(engine, text);
    const doc = engine.current!;
    const r = await engine.attention({ version: v, index: 30, k: 3 });
    assert.deepEqual(r.token, { index: 30, start: doc.enc.starts[30], end: doc.enc.ends[30], text: text.slice(doc.enc.starts[30], doc.enc.ends[30]) });
    assert.deepEqual(r.query, { index: 29, start: doc.enc.starts[29], end: doc.enc.ends[29], text: text.slice(doc.enc.starts[29], doc.enc.ends[29]) });
    assert.deepEqual(r.window, { start: 0, end: text.length });
    assert.equal(r.sources, 31);
    const first = await engine.attention({ version: v, index: 0 });
    assert.deepEqual(first.query, { index: -1, start: 0, end: 0, text: '' }, 'the first token is predicted at the start of the text');
    assert.ok(first.layers.every((layer) => layer.heads.every((h) => h.top.length === 1 && Math.abs(h.top[0]!.weight - 1) < 1e-6 && h.focus === 1)));
    for (const layer of r.layers) {
      assert.equal(layer.summed.length, 3);
      for (const h of layer.heads) {
        assert.equal(h.top.length, 3);
        assert.equal(h.maxWeight, h.top[0]!.weight);
        assert.ok(h.focus >= 0 && h.focus <= 1 && h.entropy >= 0 && h.entropy <= Math.log(31) + 1e-9, JSON.stringify(h));
        for (const s of h.top) assert.equal(s.text, s.index < 0 ? '' : text.slice(s.start, s.end));
      }
      const full = (await engine.attention({ version: v, index: 30, k: 1024 })).layers[r.layers.indexOf(layer)]!;
      full.heads.forEach((h, i) => {
        assert.ok(Math.abs(h.top.reduce((sum, s) => sum + s.weight, 0) - 1) < 1e-5, 'a head’s weights sum to 1');
        assert.deepEqual(layer.heads[i]!.top, h.top.slice(0, 3), 'the top 3 are the first 3 of all sources');
      });
      assert.deepEqual(layer.summed, full.summed.slice(0, 3));
    }
    await assert.rejects(engine.attention({ version: v, index: doc.length }), /out of range/);
    await live(engine, text + ' And');
    await assert.rejects(engine.attention({ version: v, index: 1 }), /superseded/);
  });

  test('slots after the query and stale slots (typing inside the last word) are hidden: equal to a fresh prefix', async () => {
    const text = golden.texts.code!.text;
    let v = await live(engine, text);
    const mid = await engine.attention({ version: v, index: 20, k: 1024 });
    const refV = await live(reference, text);
    assert.ok(maxDifference(mid, await reference.attention({ version: refV, index: 20, k: 1024 })) < 1e-5, 'a query mid-document sees only the tokens before it');
    await live(engine, text + ' prin');
    v = await live(engine, text + ' printed');
    const n = engine.current!.length;
    const last = await engine.attention({ version: v, index: n - 1, k: 1024 });
    const refLast = await reference.attention({ version: await live(reference, text + ' printed'), index: n - 1, k: 1024 });
    assert.ok(maxDifference(last, refLast) < 1e-5);
  });

  test('past 1,024 tokens: over the window the token was scored in, which the result names', async () => {
    const text = brownProse(7_000, 3).slice(0, 7_000);
    const v = await live(engine, text);
    const doc = engine.current!;
    const later = doc.windows.filter((w) => w.c > 0);
    assert.ok(later.length >= 2, `${doc.length} tokens in ${doc.windows.length} windows`);
    const refV = await live(reference, text);
    // The last window's KV cache is the engine's; an earlier one's prefix is computed again.
    for (const w of [later.at(-1)!, later[0]!]) {
      const index = w.b - 2;
      const r = await engine.attention({ version: v, index, k: 1024 });
      assert.deepEqual(r.window, { start: doc.enc.starts[w.c - 1], end: doc.enc.ends[w.b - 1] });
      assert.ok(r.window.start > 0);
      assert.equal(r.sources, index - w.c + 1);
      assert.ok(r.layers.every((layer) => layer.heads.every((h) => h.top.every((s) => s.index >= w.c - 1 && s.index < index))), 'only the tokens of its window before it');
      assert.ok(maxDifference(r, await reference.attention({ version: refV, index, k: 1024 })) < 1e-5, `window [${w.a}, ${w.b})`);
    }
    // More tokens of that earlier window: its prefix kept from the request before, cut (masked) or
    // extended; each against an engine that never computed a prefix there.
    for (const index of [later[0]!.a + 3, later[0]!.b - 1]) {
      const r = await engine.attention({ version: v, index, k: 1024 });
      const fresh = await loadEngine({ device: 'cpu', caching: false });
      try {
        assert.ok(maxDifference(r, await fresh.attention({ version: await live(fresh, text), index, k: 1024 })) < 1e-5, `token ${index}`);
      } finally {
        await fresh.dispose();
      }
    }
  });
});

describe('copied from', () => {
  test('the second copy of a passage points at the first copy, by the copy rule', async (t) => {
    const g = golden.texts.repeated!;
    const v = await live(engine, g.text);
    const { ids, starts } = engine.current!.enc;
    const copy = g.text.indexOf('Seven', 1);
    let checked = 0;
    let copied = 0;
    for (let i = 1; i < ids.length; i++) {
      const r = await engine.attention({ version: v, index: i, k: 1 });
      const from = r.copiedFrom;
      if (from) {
        assert.equal(ids[from.index], ids[i], 'the source is the same token');
        assert.equal(ids[from.index - 1], ids[i - 1], 'after the same token as the query');
        assert.ok(from.index < i - 1 && r.layers[from.layer]!.heads[from.head]!.copyWeight >= COPY_MIN_SHARE);
      }
      // A token of the second copy after its first: copied from the first copy's token at the same place.
      if (starts[i - 1]! >= copy && starts[i]! < 2 * copy) {
        checked++;
        if (from && starts[from.index]! === starts[i]! - copy) copied++;
      }
    }
    t.diagnostic(`${copied} of ${checked} tokens of the second copy are copied from the first`);
    assert.ok(checked > 15);
    assert.ok(copied / checked >= 0.9, `${copied} of ${checked} tokens of the second copy are copied from the first`);
  });
});

describe('the attention graph session', () => {
  test('opens on the first request, closes when idle and with the engine, and reopens the same', async () => {
    const e = await loadEngine({ device: 'cpu', attentionIdleMs: 100 });
    try {
      const text = golden.texts.repeated!.text;
      e.update(1, text);
      await e.idle();
      assert.equal(e.attentionOpen, false, 'nothing is opened for typing');
      const first = await e.attention({ version: 1, index: 30, k: 1024 });
      assert.equal(e.attentionOpen, true);
      await new Promise((resolve) => setTimeout(resolve, 400));
      assert.equal(e.attentionOpen, false, 'released after the idle time');
      assert.equal(maxDifference(first, await e.attention({ version: 1, index: 30, k: 1024 })), 0);
      assert.equal(e.attentionOpen, true);
    } finally {
      await e.dispose();
    }
    assert.equal(e.attentionOpen, false, 'released with the engine');
  });
});

describe('interfaces', () => {
  test('a fused attention operator: the model scores, and attention says why not in one line', async () => {
    const dir = buildModelFolder(join(fixtures, 'fused'), 'model.onnx', { interface: 'with-past', weights: 'fp32', externalData: false, attention: 'fused' });
    const fused = await loadEngine({ modelDir: dir, device: 'cpu' });
    try {
      const text = golden.texts.prose!.text;
      const scored = await fused.score(text);
      const want = await reference.score(text);
      scored.tokens.forEach((t, i) => assert.ok(Math.abs(t.logprob - want.tokens[i]!.logprob) < 1e-4, 'the same function'));
      fused.update(1, text);
      await fused.idle();
      const r = await fused.attention({ version: 1, index: 10 });
      assert.deepEqual(r.layers, []);
      assert.equal(r.copiedFrom, null);
      assert.equal(r.unavailable, "Attention can't be shown for this model: the graph computes attention in one fused com.microsoft.MultiHeadAttention operator, which keeps the attention weights inside.");
      assert.equal(r.token.index, 10);
    } finally {
      await fused.dispose();
    }
  });

  test('a merged decoder without position_ids (its cache cut, not masked): equal to the embedded model after edits', async () => {
    const dir = buildModelFolder(join(fixtures, 'merged'), 'model.onnx', { interface: 'merged', weights: 'fp32', externalData: false });
    const merged = await loadEngine({ modelDir: dir, device: 'cpu' });
    try {
      assert.equal(merged.model.hasPositionIds, false);
      const text = golden.texts.repeated!.text;
      merged.update(1, text.slice(0, -12));
      await merged.idle();
      merged.update(2, text);
      await merged.idle();
      const v = await live(engine, text);
      for (const index of [0, 25, merged.current!.length - 1]) {
        const r = await merged.attention({ version: 2, index, k: 1024 });
        assert.ok(maxDifference(r, await engine.attention({ version: v, index, k: 1024 })) < 1e-5, `token ${index}`);
      }
    } finally {
      await merged.dispose();
    }
  });
});
