/**
 * The Review panel's cost: `reviewSpans` (common/review.ts) over a 20,000-token draft scored by the
 * embedded model (held-out prose and Markdown, so the spans are what a real draft gets), against
 * one 60 Hz frame. The panel reruns it after every score update, so this is what each update costs.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TokenScore } from '../../common/api.ts';
import { reviewSpans } from '../../common/review.ts';
import { loadEngine } from '../src/load-from-folder.ts';

const FRAME_MS = 1000 / 60;
const TOKENS = 20_000;

/** Held-out text of at least `tokens` tokens: Moby-Dick, Brown, then READMEs. */
function draft(tokenCount: (text: string) => number, tokens: number): string {
  const heldout = (name: string) => readFileSync(join(import.meta.dirname, '..', 'eval', 'heldout', `${name}.txt`), 'utf8');
  const source = [heldout('moby'), heldout('brown'), heldout('markdown')].join('\n\n');
  let chars = tokens * 4;
  while (tokenCount(source.slice(0, chars)) < tokens) chars = Math.round(chars * 1.1);
  return source.slice(0, chars);
}

export async function benchReview(log: (...a: unknown[]) => void): Promise<Record<string, number>> {
  const engine = await loadEngine({ device: 'cpu' });
  const tok = engine.model.tokenizer;
  const text = draft((t) => tok.encode(t).ids.length, TOKENS);
  const { tokens: scored } = await engine.score(text);
  await engine.dispose();
  const end = scored[TOKENS - 1]!.end;
  const tokens: TokenScore[] = scored.slice(0, TOKENS);
  const doc = text.slice(0, end);
  for (let i = 0; i < 20; i++) reviewSpans(doc, tokens);
  const times: number[] = [];
  for (let i = 0; i < 100; i++) {
    const t = performance.now();
    reviewSpans(doc, tokens);
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  const median = times[50]!;
  const p95 = times[95]!;
  // CPU time per call as well: on a shared machine the wall time measures the neighbours too.
  const cpu = process.cpuUsage();
  for (let i = 0; i < 100; i++) reviewSpans(doc, tokens);
  const used = process.cpuUsage(cpu);
  const cpuMs = (used.user + used.system) / 1000 / 100;
  const review = reviewSpans(doc, tokens);
  log(
    `review: reviewSpans over ${TOKENS.toLocaleString('en')} scored tokens: median ${median.toFixed(2)} ms, p95 ${p95.toFixed(2)} ms, fastest ${times[0]!.toFixed(2)} ms, CPU ${cpuMs.toFixed(2)} ms a call ` +
      `(${(median / FRAME_MS).toFixed(3)} of a 16.7 ms frame; ${review.surprising.length} surprising, ${review.predictable.length} predictable, ${review.repeats.length} repeats)`,
  );
  return { review_20k_ms: median, review_20k_p95_ms: p95, review_20k_cpu_ms: cpuMs, review_20k_over_frame: median / FRAME_MS };
}
