/**
 * Property test: after random edit sequences (insert, delete, replace, paste, at random places,
 * including inside surrogate pairs and multi-byte characters, short and window-crossing documents,
 * documents growing past the 1,024-token context by appends and shrinking back by cuts, with
 * versions superseded mid-flight), the live engine's scores equal a from-scratch score; and
 * fill-in on the live document equals fill-in computed fresh.
 *
 * On three interfaces with the same weights: the embedded model (position_ids), Xenova/gpt2's
 * merged decoder (no position_ids: the model numbers positions from the cache length, so holes in
 * the cache or a trimmed context would give wrong numbers) and onnx-community's with-past decoder
 * with external data (models/testing/hub-models.ts).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { brownProse } from '../bench/corpus.ts';
import { buildModelFolder, type OnnxVariant } from '../synthetic/random-models.ts';
import type { Engine } from './engine.ts';
import { loadEngine } from './load-from-folder.ts';
import { FIXTURES_DIR } from './paths.ts';

const golden = JSON.parse(readFileSync(join(FIXTURES_DIR, 'golden.json'), 'utf8')) as { texts: Record<string, { text: string }> };
const SNIPPETS = [...Object.values(golden.texts).map((g) => g.text), 'é', '🎉', '東京', ' ', '\n\n', '\r\n', 'e\u0301', '<|endoftext|>', ' the', 'x'];

/** Deterministic PRNG (mulberry32) so a failure can be replayed from its seed. */
function rng(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randomEdit(text: string, rand: () => number): string {
  const at = Math.floor(rand() * (text.length + 1)); // may split a surrogate pair
  const to = Math.min(text.length, at + Math.floor(rand() * 12));
  const snippet = SNIPPETS[Math.floor(rand() * SNIPPETS.length)]!;
  const piece = snippet.length > 40 ? snippet.slice(0, 1 + Math.floor(rand() * snippet.length)) : snippet;
  switch (Math.floor(rand() * 4)) {
    case 0: return text.slice(0, at) + piece + text.slice(at); // insert / paste
    case 1: return text.slice(0, at) + text.slice(to); // delete
    case 2: return text.slice(0, at) + piece + text.slice(to); // replace
    default: return text + piece; // type at the end
  }
}

const fixtures = mkdtempSync(join(tmpdir(), 'likely-incremental-'));
after(() => rmSync(fixtures, { recursive: true, force: true }));

const MODELS: { label: string; variant: OnnxVariant | null; seeds: number }[] = [
  { label: 'embedded model', variant: null, seeds: 200 },
  { label: 'merged decoder without position_ids (Xenova/gpt2)', variant: { interface: 'merged', weights: 'fp32', externalData: false }, seeds: 60 },
  { label: 'with-past decoder, external data (onnx-community)', variant: { interface: 'with-past', weights: 'fp32', externalData: true }, seeds: 30 },
];

for (const m of MODELS) {
  describe(m.label, () => {
    let live: Engine;
    let reference: Engine;
    before(async () => {
      const modelDir = m.variant ? buildModelFolder(join(fixtures, m.variant.interface), 'model.onnx', m.variant) : undefined;
      live = await loadEngine({ modelDir, device: 'cpu', stepTokens: 64 });
      reference = await loadEngine({ modelDir, device: 'cpu', caching: false });
      assert.equal(live.model.hasPositionIds, m.variant?.interface !== 'merged');
    });
    after(async () => {
      await live.dispose();
      await reference.dispose();
    });

    async function checkAgainstReference(text: string, label: string) {
      await live.idle();
      const doc = live.current!;
      assert.equal(doc.text, text, label);
      assert.equal(doc.scored, doc.length, `${label}: all tokens scored`);
      const ref = await reference.score(text);
      assert.deepEqual(Array.from(doc.enc.ids), ref.tokens.map((t) => t.id), `${label}: token ids`);
      // Log-probs: 4e-5, plus float32 rounding that grows with the value (a log-prob of -20 carries
      // a few 1e-6 relative noise between a cached and a fresh run: matmuls of other shapes sum in
      // another order). Entropy is a 50,257-term float32 sum: 2e-4. The embedded model's copying circuit
      // (12x query/key gains, models/training/circuits.py) magnifies that noise ~2x over a plain model's
      // (1e-5 and 5e-5 held before it); a real caching bug is off by 1e-2 or more.
      let worst = 0;
      const off = (a: number, b: number) => Math.abs(a - b) / (4e-5 + 4e-6 * Math.abs(b));
      for (let i = 0; i < doc.length; i++) worst = Math.max(worst, off(doc.logprob[i]!, ref.tokens[i]!.logprob), Math.abs(doc.entropy[i]! - ref.tokens[i]!.entropy) / 2e-4);
      assert.ok(worst < 1, `${label}: max difference ${worst} × the tolerance`);
      // Ranks count logits above the target's; float noise of ~1e-6 can move a rank among near-ties in the tail.
      for (let i = 0; i < doc.length; i++) {
        const a = doc.rank[i]!;
        const b = ref.tokens[i]!.rank;
        assert.ok(Math.abs(a - b) <= Math.max(2, 0.01 * b), `${label}: rank of token ${i}: ${a} vs ${b}`);
      }
    }

    let version = 0;
    test('random edit sequences on short documents match a fresh score', async () => {
      for (let seed = 1; seed <= m.seeds; seed++) {
        const rand = rng(seed);
        let text = SNIPPETS[seed % 5]!;
        live.update(++version, text);
        const edits = 1 + Math.floor(rand() * 5);
        for (let e = 0; e < edits; e++) {
          text = randomEdit(text, rand);
          live.update(++version, text);
          if (rand() < 0.5) await live.idle(); // otherwise the next version supersedes this one mid-flight
        }
        await checkAgainstReference(text, `seed ${seed}`);
      }
    });

    test('typing inside the last word, character by character, matches a fresh score', async () => {
      let text = golden.texts[Object.keys(golden.texts)[0]!]!.text;
      for (const ch of ' incontrovertibly') {
        text += ch;
        live.update(++version, text);
        await live.idle();
      }
      await checkAgainstReference(text, 'typed word');
    });

    test('random edits on a document longer than the context (windows) match a fresh score', async () => {
      const rand = rng(4242);
      let text = Object.values(golden.texts).map((g) => g.text).join('\n\n').repeat(5); // ~1,500 tokens
      live.update(++version, text);
      for (let e = 0; e < 12; e++) {
        text = randomEdit(text, rand);
        live.update(++version, text);
        if (e % 3 === 2) await checkAgainstReference(text, `long edit ${e}`);
      }
      await checkAgainstReference(text, 'long final');
    });

    test('a document typed past 1,024 tokens by appends, then cut back and edited in the middle, matches a fresh score', async () => {
      const rand = rng(1024);
      const full = brownProse(6500).slice(0, 6500); // ~1,300 tokens
      for (let n = 150; n < full.length; n += 120 + Math.floor(rand() * 120)) {
        live.update(++version, full.slice(0, n));
        if (rand() < 0.6) await live.idle();
      }
      let text = full;
      live.update(++version, text);
      await checkAgainstReference(text, 'appended past 1,024');
      text = text.slice(0, Math.floor(text.length * 0.7)); // back under 1,024 tokens
      live.update(++version, text);
      await checkAgainstReference(text, 'cut under 1,024');
      text = text + full.slice(text.length); // past 1,024 again in one paste
      live.update(++version, text);
      await live.idle();
      for (let e = 0; e < 4; e++) {
        const at = Math.floor(text.length * (0.2 + 0.6 * rand()));
        text = text.slice(0, at) + (e % 2 ? '' : ' indeed,') + text.slice(at + (e % 2 ? 40 : 0)); // mid insert / cut
        live.update(++version, text);
        await checkAgainstReference(text, `mid edit ${e}`);
      }
    });

    test('fill-in on the live document equals fill-in computed fresh, after edits', async () => {
      const base = brownProse(2500).slice(0, 2500); // ~500 tokens: longer than the trimmed contexts
      let text = base + ' The committee';
      live.update(++version, text);
      await live.idle();
      text += 's agreed'; // typing inside the last word leaves stale cache slots
      live.update(++version, text);
      await live.idle();
      const start = base.lastIndexOf(' ', base.length - 20) + 1;
      const end = base.indexOf(' ', start);
      const hot = await live.infill({ version, start, end, k: 5 });
      const cold = await reference.infillText(text, start, end, { k: 5 });
      assert.deepEqual(hot.suggestions.map((s) => s.text), cold.suggestions.map((s) => s.text));
      hot.suggestions.forEach((s, i) => assert.ok(Math.abs(s.score - cold.suggestions[i]!.score) < 1e-3, `${s.text}: ${s.score} vs ${cold.suggestions[i]!.score}`));
      if (live.model.hasPositionIds) return;
      // A model without position_ids sees the whole prefix (no trimmed context, which would shift its
      // positions): a suggestion's suffix-aware score is exactly the log-probability of its tokens
      // and the suffix's in the edited text.
      const best = hot.suggestions[0]!;
      const edited = text.slice(0, start) + best.text + text.slice(end);
      const { tokens } = await reference.score(edited);
      const to = edited.indexOf('.', start) + 1 || edited.length;
      const sum = tokens.filter((t) => t.start >= start - 1 && t.end <= to).reduce((a, t) => a + t.logprob, 0);
      assert.ok(Math.abs(sum - best.score) < 1e-3, `${best.text}: infill ${best.score} vs scored ${sum}`);
    });
  });
}
