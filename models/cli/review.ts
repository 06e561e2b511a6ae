/**
 * likely review FILE [--json] [--rewrites] [--k 3] [--top N] [--model DIR] [--device auto|gpu|cpu]
 *
 * The Review panel's lists for a file: its surprising spans (most surprising first), predictable
 * runs and repeats, from common/review.ts over the file's scores (the raw text, as `likely score`
 * scores it, Markdown included). --rewrites adds the engine's fill-in-the-blank rewrites for each
 * surprising span (the best --k, default 3), with the original's score under the same ranking.
 */
import type { InfillResult, ModelInfo } from '../../common/api.ts';
import { formatProbability, thousands, visibleText } from '../../common/format.ts';
import { reviewSpans, type Review, type ReviewSpan } from '../../common/review.ts';
import { countWords } from '../../common/stats.ts';
import { InfillError } from '../src/infill.ts';
import { CliError, intOption, parseArgs, readTextFile } from './args.ts';
import { loadEngine } from './engine.ts';
import { scoreProgress } from './progress.ts';

interface Rewrites {
  rewrites: { text: string; score: number }[];
  original: { score: number };
}

/** 1-based line and column (in characters, not UTF-16 units) of each offset; lines end at "\n". */
function lineColumns(text: string): (offset: number) => { line: number; column: number } {
  const starts = [0];
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) starts.push(i + 1);
  return (offset) => {
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (starts[mid]! <= offset) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo + 1, column: Array.from(text.slice(starts[lo], offset)).length + 1 };
  };
}

/** Span text for a terminal: visibleText's rules, but the spaces between words stay spaces. */
function shown(text: string, max = 60): string {
  const out = text.split(' ').map((w) => visibleText(w, Infinity)).join(' ');
  const chars = Array.from(out);
  return chars.length > max ? chars.slice(0, max).join('') + '…' : out;
}

export async function run(argv: string[]): Promise<void> {
  const args = parseArgs(argv, { values: ['k', 'top', 'model', 'device'], flags: ['json', 'rewrites'] });
  if (args.positional.length !== 1) throw new CliError(args.positional.length ? `expected one FILE, got ${args.positional.length}` : 'missing FILE');
  const k = intOption(args, 'k', 3);
  if (k < 1 || k > 50) throw new CliError('--k must be between 1 and 50');
  const top = args.values.top === undefined ? Infinity : intOption(args, 'top');
  if (top < 1) throw new CliError('--top must be at least 1');
  const file = args.positional[0]!;
  const text = await readTextFile(file);

  const engine = await loadEngine(args);
  const rewrites = new Map<ReviewSpan, Rewrites>();
  let scored: { model: ModelInfo; tokenCount: number; review: Review };
  try {
    const { model, tokens } = await engine.score(text, { onProgress: scoreProgress() });
    const review = reviewSpans(text, tokens);
    review.surprising = review.surprising.slice(0, top);
    scored = { model, tokenCount: tokens.length, review };
    if (args.flags.has('rewrites')) {
      for (const span of review.surprising) {
        let result: InfillResult;
        try {
          result = await engine.infillText(text, span.start, span.end, { k });
        } catch (e) {
          if (e instanceof InfillError) throw new CliError(`rewrites for ${JSON.stringify(span.text)} at ${span.start}..${span.end}: ${e.message}`, 1);
          throw e;
        }
        rewrites.set(span, { rewrites: result.suggestions.map((s) => ({ text: s.text, score: s.score })), original: { score: result.original.score } });
      }
    }
  } finally {
    await engine.dispose();
  }
  const { model, tokenCount, review } = scored;

  const at = lineColumns(text);
  const entry = (s: ReviewSpan) => ({ ...s, ...at(s.start), ...rewrites.get(s) });
  if (args.flags.has('json')) {
    const out = {
      model: model.name,
      device: model.device,
      tokens: tokenCount,
      words: countWords(text),
      cutoff: review.cutoff,
      surprising: review.surprising.map(entry),
      predictable: review.predictable.map(entry),
      repeats: review.repeats.map((s) => ({ ...entry(s), source: { ...s.source, ...at(s.source.start) } })),
    };
    process.stdout.write(JSON.stringify(out) + '\n');
    return;
  }

  const where = (offset: number) => {
    const { line, column } = at(offset);
    return `${line}:${column}`;
  };
  const lines = [
    `${file}: ${thousands(countWords(text))} words, ${thousands(tokenCount)} tokens (${model.name}, ${model.device}); a token is unlikely below ln p ${review.cutoff.logprob.toFixed(2)} (p ${formatProbability(review.cutoff.logprob)})`,
    `surprising: ${review.surprising.length}${review.surprising.length ? ', most surprising first' : ''}`,
  ];
  review.surprising.forEach((s, i) => {
    lines.push(`${String(i + 1).padStart(5)}  ${where(s.start).padEnd(9)} “${shown(s.text)}”  p ${formatProbability(-s.surprisal)}, worst token ${s.peak.toFixed(1)} nats`);
    const r = rewrites.get(s);
    if (r) lines.push(`${' '.repeat(18)}${r.rewrites.length ? r.rewrites.map((w) => `→ “${shown(w.text, 30)}” ${w.score.toFixed(2)}`).join('  ') : '→ no rewrite found'}  (original ${r.original.score.toFixed(2)})`);
  });
  lines.push(`predictable: ${review.predictable.length}`);
  for (const s of review.predictable) lines.push(`       ${where(s.start).padEnd(9)} “${shown(s.text)}”  p ${formatProbability(-s.surprisal)}, ${s.last - s.first} tokens`);
  lines.push(`repeats: ${review.repeats.length}`);
  for (const s of review.repeats) lines.push(`       ${where(s.start).padEnd(9)} “${shown(s.text)}”  copies ${where(s.source.start)}, ${s.last - s.first} tokens`);
  process.stdout.write(lines.join('\n') + '\n');
}
