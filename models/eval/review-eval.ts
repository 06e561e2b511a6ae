/**
 * npx tsx models/eval/review-eval.ts [--model DIR] [--drafts 10]
 *
 * What common/review.ts's surprising-span rule finds, measured: drafts of ~250 words from the
 * held-out prose (eval/heldout: Brown, State of the Union, Moby-Dick; never trained on), each with
 * three words swapped for out-of-place nouns at seeded-random places. For each rule (the log-prob
 * cutoff, a rank cutoff) and each ranking it reports how many planted words land in a span at all and
 * among the top 3 / 5 / 10 spans of their draft, and how many spans the unplanted drafts get per
 * 1,000 words (what a writer would have to look at). Prints a Markdown table.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TokenScore } from '../../common/api.ts';
import { reviewSpans, type ReviewOptions, type ReviewSpan } from '../../common/review.ts';
import { countWords } from '../../common/stats.ts';
import { loadEngine } from '../src/load-from-folder.ts';
import { seededRandom as random } from '../../common/random.ts';

const argv = process.argv.slice(2);
const opt = (name: string) => (argv.includes(`--${name}`) ? argv[argv.indexOf(`--${name}`) + 1] : undefined);
const DRAFTS_PER_SOURCE = Number(opt('drafts') ?? 10);
const SOURCES = ['brown', 'sotu', 'moby'];
const ODD = ['giraffe', 'carburetor', 'saxophone', 'volcano', 'pineapple', 'trombone', 'asteroid', 'lasagna', 'kangaroo', 'submarine', 'avocado', 'walrus', 'telescope', 'umbrella', 'marshmallow', 'penguin', 'xylophone', 'tornado', 'spaghetti', 'accordion', 'cactus', 'octopus', 'hamster', 'bulldozer', 'igloo', 'yogurt', 'flamingo', 'broccoli', 'helicopter', 'toaster'];

interface Draft {
  original: string;
  text: string;
  /** Offsets of the planted words in `text`. */
  planted: { start: number; end: number }[];
}

function drafts(): Draft[] {
  const rand = random(24);
  const out: Draft[] = [];
  for (const source of SOURCES) {
    const paragraphs = readFileSync(join(import.meta.dirname, 'heldout', `${source}.txt`), 'utf8').split(/\n\s*\n/).map((p) => p.trim()).filter((p) => countWords(p) >= 5);
    for (let d = 0; d < DRAFTS_PER_SOURCE; d++) {
      let p = Math.floor(((d + rand() * 0.5) / DRAFTS_PER_SOURCE) * paragraphs.length);
      const parts: string[] = [];
      while (countWords(parts.join(' ')) < 250 && p < paragraphs.length) parts.push(paragraphs[p++]!);
      let original = parts.join('\n\n');
      // Moby-Dick's and SOTU's paragraphs run long: cut at the sentence end nearest 250 words.
      if (countWords(original) > 320) {
        const cut = [...original.matchAll(/[.!?]["’”]?\s/g)].map((m) => m.index + m[0].length - 1).find((i) => countWords(original.slice(0, i)) >= 250);
        if (cut) original = original.slice(0, cut);
      }
      const candidates = [...original.matchAll(/(?<=[a-z,;] )[a-z]{3,}(?= [a-z])/g)];
      const chosen: RegExpMatchArray[] = [];
      for (let tries = 0; chosen.length < 3 && tries < 200; tries++) {
        const c = candidates[Math.floor(rand() * candidates.length)]!;
        if (chosen.every((x) => Math.abs(x.index! - c.index!) > 200)) chosen.push(c);
      }
      chosen.sort((a, b) => a.index! - b.index!);
      let text = '';
      let at = 0;
      const planted: Draft['planted'] = [];
      for (const c of chosen) {
        text += original.slice(at, c.index);
        const word = ODD[Math.floor(rand() * ODD.length)]!;
        planted.push({ start: text.length, end: text.length + word.length });
        text += word;
        at = c.index! + c[0].length;
      }
      out.push({ original, text: text + original.slice(at), planted });
    }
  }
  return out;
}

type Ranking = (s: ReviewSpan, tokens: readonly TokenScore[]) => number;
const worst = (s: ReviewSpan, t: readonly TokenScore[]) => t.slice(s.first, s.last).map((x) => -x.logprob).sort((a, b) => b - a);
/** reviewSpans' own order first (the span's most surprising token, then Σ, then position). */
const RANKINGS: [string, Ranking | null][] = [
  ['max −log p (peak; the rule)', null],
  ['Σ −log p', (s) => s.surprisal],
  ['Σ (−log p − entropy)', (s, t) => t.slice(s.first, s.last).reduce((a, x) => a - x.logprob - x.entropy, 0)],
  ['mean −log p', (s) => s.surprisal / (s.last - s.first)],
  ['two worst −log p', (s, t) => worst(s, t).slice(0, 2).reduce((a, b) => a + b, 0)],
];
const RULE = 'µ − 1.5σ';
const RULES: [string, ReviewOptions][] = [
  ['µ − 1σ', { unlikelySpread: 1 }],
  [RULE, {}],
  ['µ − 1.5σ, no bridging', { bridge: false }],
  ['µ − 1.5σ, one word a span', { maxWords: 1 }],
  ['µ − 2σ', { unlikelySpread: 2 }],
  ['µ − 2.5σ', { unlikelySpread: 2.5 }],
  ['rank > 1,000', { unlikelySpread: 1e9, unlikelyRank: 1000 }],
  ['rank > 5,000', { unlikelySpread: 1e9, unlikelyRank: 5000 }],
  ['rank > 10,000', { unlikelySpread: 1e9, unlikelyRank: 10000 }],
];

async function main() {
  const engine = await loadEngine({ modelDir: opt('model'), device: 'cpu' });
  const set = drafts();
  const scored: { draft: Draft; planted: TokenScore[]; original: TokenScore[] }[] = [];
  for (const draft of set) scored.push({ draft, planted: (await engine.score(draft.text)).tokens, original: (await engine.score(draft.original)).tokens });
  await engine.dispose();
  const words = set.reduce((a, d) => a + countWords(d.original), 0);
  const plantedCount = set.reduce((a, d) => a + d.planted.length, 0);
  console.log(`${set.length} drafts (${SOURCES.join(', ')}), ${words} words, ${plantedCount} planted words; model ${engine.info.name}\n`);
  const measure = (rule: ReviewOptions, rank: Ranking | null) => {
    const hits = { any: 0, 3: 0, 5: 0, 10: 0 };
    for (const { draft, planted: tokens } of scored) {
      const list = reviewSpans(draft.text, tokens, rule).surprising.map((s, i) => ({ s, score: rank ? rank(s, tokens) : -i }));
      list.sort((a, b) => b.score - a.score || a.s.start - b.s.start);
      for (const p of draft.planted) {
        const at = list.findIndex(({ s }) => s.start <= p.start && s.end >= p.end);
        if (at < 0) continue;
        hits.any++;
        for (const k of [3, 5, 10] as const) if (at < k) hits[k]++;
      }
    }
    const pct = (k: number) => `${((100 * k) / plantedCount).toFixed(0)} %`;
    return `${pct(hits.any)} | ${pct(hits[3])} | ${pct(hits[5])} | ${pct(hits[10])}`;
  };
  console.log('| rule (ranked by peak) | planted words in a span | in the top 3 | top 5 | top 10 | spans per 1,000 words (unplanted) |');
  console.log('| --- | --- | --- | --- | --- | --- |');
  for (const [name, rule] of RULES) {
    let spans = 0;
    for (const s of scored) spans += reviewSpans(s.draft.original, s.original, rule).surprising.length;
    console.log(`| ${name} | ${measure(rule, null)} | ${((1000 * spans) / words).toFixed(1)} |`);
  }
  console.log(`\n| ranking (rule ${RULE}) | planted words in a span | in the top 3 | top 5 | top 10 |`);
  console.log('| --- | --- | --- | --- | --- |');
  for (const [name, rank] of RANKINGS) console.log(`| ${name} | ${measure({}, rank)} |`);
}

main().catch((e) => {
  console.error(`review-eval: ${(e as Error).message}`);
  process.exit(1);
});
