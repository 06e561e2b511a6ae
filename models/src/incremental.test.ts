/**
 * Property test: after random edit sequences (insert, delete, replace, paste, at random places,
 * including inside surrogate pairs and multi-byte characters, short and window-crossing documents,
 * with versions superseded mid-flight), the live engine's scores equal a from-scratch score.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Engine } from './engine.ts';
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

let live: Engine;
let reference: Engine;
before(async () => {
  live = await Engine.load({ device: 'cpu', stepTokens: 64 });
  reference = await Engine.load({ device: 'cpu', caching: false });
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
  // Log-probs: 1e-5, plus float32 rounding that grows with the value (a log-prob of -20 carries
  // ~1e-6 relative noise between a cached and a fresh run: matmuls of other shapes sum in another
  // order). Entropy is a 50,257-term float32 sum: 5e-5.
  let worst = 0;
  const off = (a: number, b: number) => Math.abs(a - b) / (1e-5 + 1e-6 * Math.abs(b));
  for (let i = 0; i < doc.length; i++) worst = Math.max(worst, off(doc.logprob[i]!, ref.tokens[i]!.logprob), Math.abs(doc.entropy[i]! - ref.tokens[i]!.entropy) / 5e-5);
  assert.ok(worst < 1, `${label}: max difference ${worst} × the tolerance`);
  // Ranks count logits above the target's; float noise of ~1e-6 can move a rank among near-ties in the tail.
  for (let i = 0; i < doc.length; i++) {
    const a = doc.rank[i]!;
    const b = ref.tokens[i]!.rank;
    assert.ok(Math.abs(a - b) <= Math.max(2, 0.01 * b), `${label}: rank of token ${i}: ${a} vs ${b}`);
  }
}

test('random edit sequences on short documents match a fresh score', async () => {
  let version = 0;
  for (let seed = 1; seed <= 200; seed++) {
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

test('random edits on a document longer than the context (windows) match a fresh score', async () => {
  let version = 10_000;
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
