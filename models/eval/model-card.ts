/**
 * npm run eval:model [-- --model DIR] [--json] [--max-tokens N]
 *
 * A model card from held-out text (models/eval/heldout/, written by models/training/data.py and never
 * trained on): perplexity and top-1/top-10 accuracy by domain, hard-wrapped vs unwrapped prose, Markdown
 * vs the same text without markup, copying (a passage repeated once: how likely the second copy is), and
 * induction heads (in that second copy, how often a head looks at the token after the first copy's match).
 * Works on any model folder, so a downloaded GPT-2 can be compared with the embedded model.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TokenScore } from '../../common/api.ts';
import type { Engine } from '../src/engine.ts';
import { loadEngine } from '../src/load-from-folder.ts';
import { CliError, intOption, isEntry, scriptOptions } from '../cli/args.ts';
import { visibleLine } from '../../common/format.ts';

const HELDOUT = join(dirname(fileURLToPath(import.meta.url)), 'heldout');
const DOC_SEPARATOR = '\n\n\f\n\n';

/** Held-out documents of one domain, cut to about maxChars characters (whole paragraphs). */
export function heldout(domain: string, maxChars = Infinity): string[] {
  const docs = readFileSync(join(HELDOUT, `${domain}.txt`), 'utf8').split(DOC_SEPARATOR);
  const out: string[] = [];
  let n = 0;
  for (const doc of docs) {
    if (n >= maxChars) break;
    const cut = doc.length + n > maxChars ? doc.slice(0, doc.lastIndexOf('\n\n', maxChars - n) + 1 || maxChars - n) : doc;
    out.push(cut);
    n += cut.length;
  }
  return out;
}

/** Hard-wraps every paragraph at `width` columns, as a mail client or a README does. */
export function hardWrap(text: string, width = 70): string {
  return text
    .split('\n\n')
    .map((para) => {
      const lines: string[] = [];
      let line = '';
      for (const word of para.split(/\s+/).filter(Boolean)) {
        if (line && line.length + 1 + word.length > width) {
          lines.push(line);
          line = word;
        } else line = line ? `${line} ${word}` : word;
      }
      if (line) lines.push(line);
      return lines.join('\n');
    })
    .join('\n\n');
}

/** The same text without Markdown markup: headings, emphasis, list bullets, link targets, code fences. */
export function stripMarkdown(text: string): string {
  return text
    .replace(/^```.*$/gm, '')
    .replace(/^#{1,6} +/gm, '')
    .replace(/^[ \t]*[-*+] +/gm, '')
    .replace(/^[ \t]*\d+\. +/gm, '')
    .replace(/\*\*([^*]+)\*\*/g, '$1')
    .replace(/\*([^*\n]+)\*/g, '$1')
    .replace(/`([^`\n]+)`/g, '$1')
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/\n{3,}/g, '\n\n');
}

interface DomainStats {
  tokens: number;
  perplexity: number;
  top1: number;
  top10: number;
}

function stats(scores: TokenScore[][]): DomainStats {
  const all = scores.flat();
  const sum = all.reduce((s, t) => s + t.logprob, 0);
  return {
    tokens: all.length,
    perplexity: Math.exp(-sum / all.length),
    top1: all.filter((t) => t.rank === 1).length / all.length,
    top10: all.filter((t) => t.rank <= 10).length / all.length,
  };
}

// Copying probes: each passage is scored as `passage + sep + passage`; tokens starting at or after the
// second copy's fifth token are compared with the same tokens of the first copy.
const COPY_SKIP = 4;
const NONSENSE_WORDS = (
  'lantern quarrel velvet ninety orbit pickle saddle marble hollow cactus fiddle tunnel ember walrus ' +
  'crescent pebble saffron gravel beacon thimble mosaic tundra kettle prism lobster anvil meadow quiver ' +
  'blossom harbor granite ripple falcon turnip copper sonnet bramble glacier'
).split(' ');

function nonsense(seed: number, n: number): string {
  let s = seed;
  const next = () => ((s = (s * 1103515245 + 12345) % 2 ** 31), s / 2 ** 31);
  return Array.from({ length: n }, () => NONSENSE_WORDS[Math.floor(next() * NONSENSE_WORDS.length)]!).join(' ');
}

function copyProbes(): Record<string, { text: string; sep: string }[]> {
  const sentences = heldout('moby', 40_000).join(' ').split(/(?<=[.!?])\s+/).filter((s) => s.length > 120 && s.length < 300);
  const codeLines = heldout('python', 60_000)
    .concat(heldout('js', 60_000))
    .join('\n')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.length > 50 && l.length < 120 && /[(=]/.test(l) && !l.startsWith('#') && !l.startsWith('//') && !l.startsWith('*'));
  const pick = <T>(xs: T[], n: number) => Array.from({ length: n }, (_, i) => xs[Math.floor(((i + 0.5) * xs.length) / n)]!);
  return {
    prose: pick(sentences, 5).map((text) => ({ text, sep: ' ' })),
    nonsense: [1, 2, 3, 4, 5].map((seed) => ({ text: nonsense(seed, 24), sep: '. ' })),
    code: pick(codeLines, 5).map((text) => ({ text, sep: '\n' })),
  };
}

/** Mean log-prob of each probe passage's first and second copy, by kind (prose, nonsense, code). */
export async function copying(engine: Engine) {
  const out: Record<string, { first: number; second: number }> = {};
  for (const [kind, probes] of Object.entries(copyProbes())) {
    let first = 0;
    let second = 0;
    for (const { text, sep } of probes) {
      const { tokens } = await engine.score(text + sep + text);
      const secondStart = text.length + sep.length;
      const a = tokens.filter((t) => t.start < text.length).slice(COPY_SKIP);
      const b = tokens.filter((t) => t.start >= secondStart).slice(COPY_SKIP);
      first += a.reduce((s, t) => s + t.logprob, 0) / a.length;
      second += b.reduce((s, t) => s + t.logprob, 0) / b.length;
    }
    out[kind] = { first: first / probes.length, second: second / probes.length };
  }
  return out;
}

/**
 * Held-out Brown passages for the induction check: from each of `count` documents spread over the set,
 * its first paragraphs joined until the passage reaches `chars` characters.
 */
export function inductionPassages(count = 8, chars = 500): string[] {
  const docs = heldout('brown');
  return Array.from({ length: count }, (_, n) => {
    const paragraphs = docs[Math.floor(((n + 0.5) * docs.length) / count)]!.split('\n\n');
    let passage = '';
    for (const p of paragraphs) {
      if (passage.length >= chars) break;
      passage = passage ? `${passage}\n\n${p}` : p;
    }
    return passage;
  });
}

/**
 * Induction heads, seen through the engine's attention view (models/src/attention.ts): each passage is
 * scored pasted twice (`passage + "\n\n" + passage`), and for every token of the second copy whose token
 * before it is in the second copy too, the query that predicted it (that token before) is asked where it
 * looks. A hit is a top source that is the token after the matching token of the first copy, i.e. the
 * first copy of the token being predicted. Shares per layer: the best head's and the heads averaged.
 */
export async function induction(engine: Engine, passages = inductionPassages()) {
  const { layers, heads } = engine.info;
  const headHits = Array.from({ length: layers }, () => new Array<number>(heads).fill(0));
  const summedHits = new Array<number>(layers).fill(0);
  let tokens = 0;
  let unavailable: string | undefined;
  await engine.idle();
  let version = Math.max(0, engine.current?.version ?? 0);
  for (const passage of passages) {
    const text = `${passage}\n\n${passage}`;
    engine.update(++version, text);
    await engine.idle();
    const { ids, starts } = engine.current!.enc;
    const offset = passage.length + 2;
    const firstCopy = new Map<number, number>();
    for (let i = 0; i < ids.length && starts[i]! < passage.length; i++) firstCopy.set(starts[i]!, i);
    for (let i = 1; i < ids.length; i++) {
      if (starts[i - 1]! < offset) continue;
      const j = firstCopy.get(starts[i]! - offset);
      if (j === undefined || j < 1 || ids[j] !== ids[i] || firstCopy.get(starts[i - 1]! - offset) !== j - 1 || ids[j - 1] !== ids[i - 1]) continue;
      const r = await engine.attention({ version, index: i, k: 1 });
      if (r.unavailable) {
        unavailable = r.unavailable;
        break;
      }
      tokens++;
      r.layers.forEach((layer, l) => {
        layer.heads.forEach((h, k) => (headHits[l]![k]! += h.top[0]!.index === j ? 1 : 0));
        summedHits[l]! += layer.summed[0]!.index === j ? 1 : 0;
      });
    }
    if (unavailable) break;
  }
  const byLayer = headHits.map((hits, l) => {
    const best = hits.indexOf(Math.max(...hits));
    return { bestHead: best, bestHeadShare: hits[best]! / tokens, summedShare: summedHits[l]! / tokens, headShares: hits.map((h) => h / tokens) };
  });
  return { tokens, passages: passages.length, unavailable, layers: unavailable ? [] : byLayer };
}

async function main() {
  const options = scriptOptions('eval:model', { values: ['model', 'max-tokens'], flags: ['json'] }, (args) => {
    if (args.positional.length) throw new CliError(`unexpected argument ${args.positional[0]}`);
    return { model: args.values.model, json: args.flags.has('json'), maxTokens: intOption(args, 'max-tokens', 20_000, 1) };
  });
  const MAX_TOKENS = options.maxTokens;
  const modelDir = options.model;
  const engine = await loadEngine(modelDir ? { modelDir } : {});
  const chars = MAX_TOKENS * 4;
  const scoreAll = async (docs: string[]) => Promise.all(docs.filter((d) => d.trim()).map(async (d) => (await engine.score(d)).tokens));
  const domains: Record<string, DomainStats> = {};
  for (const [name, domain, maxChars] of [
    ['prose: Brown', 'brown', Infinity],
    ['prose: State of the Union', 'sotu', chars],
    ['prose: Moby-Dick', 'moby', chars],
    ['code: Python', 'python', chars],
    ['code: JavaScript/TypeScript', 'js', chars],
    ['Markdown: READMEs', 'markdown', chars],
    ['Markdown: World Factbook', 'factbook', chars],
  ] as const) {
    domains[name] = stats(await scoreAll(heldout(domain, maxChars)));
  }
  const brownSample = heldout('brown', chars).map((d) => d.replace(/\n\n/g, '\n\n').replace(/[ \t]*\n(?!\n)/g, ' '));
  const markdown = heldout('markdown', chars);
  const wrapping = {
    unwrapped: stats(await scoreAll(brownSample)).perplexity,
    wrapped70: stats(await scoreAll(brownSample.map((d) => hardWrap(d, 70)))).perplexity,
  };
  const markup = {
    markdown: stats(await scoreAll(markdown)).perplexity,
    plain: stats(await scoreAll(markdown.map(stripMarkdown))).perplexity,
  };
  const copy = await copying(engine);
  const heads = await induction(engine);
  const info = engine.info;
  await engine.dispose();

  if (options.json) {
    console.log(JSON.stringify({ model: info, domains, wrapping, markup, copying: copy, induction: heads }, null, 1));
    return;
  }
  const f1 = (x: number) => x.toFixed(1);
  const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
  const lines = [
    `### ${info.name}`,
    '',
    '| held-out text | tokens | perplexity | top-1 | top-10 |',
    '| --- | --- | --- | --- | --- |',
    ...Object.entries(domains).map(([name, s]) => `| ${name} | ${s.tokens.toLocaleString('en-US')} | ${f1(s.perplexity)} | ${pct(s.top1)} | ${pct(s.top10)} |`),
    '',
    '| check | figure | target |',
    '| --- | --- | --- |',
    `| Brown hard-wrapped at 70 columns vs unwrapped | ${f1(wrapping.wrapped70)} vs ${f1(wrapping.unwrapped)} (${(wrapping.wrapped70 / wrapping.unwrapped).toFixed(2)}×) | ≤ 1.2× |`,
    `| READMEs as Markdown vs markup stripped | ${f1(markup.markdown)} vs ${f1(markup.plain)} (${(markup.markdown / markup.plain).toFixed(2)}×) | ≤ 1.2× |`,
    ...Object.entries(copy).map(
      ([kind, c]) => `| copying, ${kind}: mean log-prob of the 2nd copy vs the 1st | ${c.second.toFixed(2)} vs ${c.first.toFixed(2)} (+${(c.second - c.first).toFixed(2)}) | ≥ −1.5 and ≥ +3 |`,
    ),
    ...inductionRows(heads),
  ];
  console.log(lines.join('\n'));
}

/** The card's induction rows: layer 1 (where the embedded model's circuit is) and the layer whose best head copies most. */
function inductionRows(r: Awaited<ReturnType<typeof induction>>): string[] {
  const what = `induction heads: the 2nd copy's tokens (${r.tokens} in ${r.passages} held-out Brown passages pasted twice) whose top source is the 1st copy's token after the match`;
  if (r.unavailable) return [`| ${what} | ${r.unavailable} | |`];
  const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
  const row = (l: number) => `layer ${l}: head ${r.layers[l]!.bestHead} ${pct(r.layers[l]!.bestHeadShare)}, heads averaged ${pct(r.layers[l]!.summedShare)}`;
  const strongest = r.layers.reduce((best, layer, l) => (layer.bestHeadShare > r.layers[best]!.bestHeadShare ? l : best), 0);
  return [`| ${what} | ${[1, strongest].filter((l, i, a) => l < r.layers.length && a.indexOf(l) === i).map(row).join('; ')} | most |`];
}

if (isEntry(import.meta.url)) {
  main().catch((err: Error) => {
    console.error(`eval:model: ${visibleLine(err.message.split('\n')[0]!)}`);
    process.exit(1);
  });
}
