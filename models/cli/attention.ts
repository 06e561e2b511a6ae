/**
 * likely attention FILE --at OFFSET [--json] [--full] [--k N] [--model DIR] [--device auto|gpu|cpu]
 *
 * What the model attended to when it predicted the token at UTF-16 offset OFFSET of FILE: the attention
 * of the query before it (the prediction that is the token's probability) over the earlier tokens of
 * the window it was scored in, per layer and head (top N sources, default 5; all with --full), each
 * layer averaged over its heads, and where it was copied from (models/src/attention.ts). The file is
 * scored as the app scores a document (the same windows and caches), then one step answers.
 */
import type { AttendedToken, AttentionResult } from '../../common/api.ts';
import { MAX_ATTENTION_K } from '../../common/api.ts';
import { visibleText } from '../../common/format.ts';
import { COPY_MIN_SHARE, DEFAULT_ATTENTION_K } from '../src/attention.ts';
import { CliError, intOption, parseArgs, readTextFile } from './args.ts';
import { loadEngine } from './engine.ts';

export async function run(argv: string[]): Promise<void> {
  const args = parseArgs(argv, { values: ['at', 'k', 'model', 'device'], flags: ['json', 'full'] });
  if (args.positional.length !== 1) throw new CliError(args.positional.length ? `expected one FILE, got ${args.positional.length}` : 'missing FILE');
  const at = intOption(args, 'at');
  const full = args.flags.has('full');
  if (full && args.values.k !== undefined) throw new CliError('--full and --k are exclusive (--full lists every source)');
  const k = full ? MAX_ATTENTION_K : intOption(args, 'k', DEFAULT_ATTENTION_K);
  if (k < 1 || k > MAX_ATTENTION_K) throw new CliError(`--k must be between 1 and ${MAX_ATTENTION_K}`);
  const text = await readTextFile(args.positional[0]);
  if (at < 0 || at >= text.length) throw new CliError(`--at ${at} is outside the text (0..${text.length - 1})`);
  const engine = await loadEngine(args);
  let result: AttentionResult;
  try {
    engine.update(1, text);
    await engine.idle();
    const enc = engine.current!.enc;
    // The token holding the character at `at` (a character split over tokens belongs to its first).
    let index = 0;
    while (index + 1 < enc.ids.length && enc.ends[index]! <= at) index++;
    result = await engine.attention({ version: 1, index, k });
  } finally {
    await engine.dispose();
  }
  process.stdout.write((args.flags.has('json') ? JSON.stringify(result) : describe(result)) + '\n');
}

const quoted = (t: { index: number; text: string }) => (t.index < 0 ? '⟨start of text⟩' : `“${visibleText(t.text)}”`);
const sourceText = (s: AttendedToken) => `${s.weight.toFixed(2)} ${quoted(s)}${s.index < 0 ? '' : ` ${s.start}`}`;

/** The result for people: the token and its query, where it was copied from, then a line per layer's average and per head. */
export function describe(r: AttentionResult): string {
  const lines = [
    `${quoted(r.token)} at ${r.token.start}..${r.token.end} (token ${r.token.index}), predicted at ${quoted(r.query)}; window ${r.window.start}..${r.window.end}, ${r.sources} sources`,
  ];
  if (r.unavailable) return [...lines, r.unavailable].join('\n');
  lines.push(r.copiedFrom ? `copied from ${quoted(r.copiedFrom)} at ${r.copiedFrom.start}..${r.copiedFrom.end} (token ${r.copiedFrom.index}): layer ${r.copiedFrom.layer} head ${r.copiedFrom.head}, weight ${r.copiedFrom.weight.toFixed(2)}` : 'copied from: nothing (no head copies)');
  r.layers.forEach((layer, l) => {
    lines.push(`layer ${l}  heads averaged: ${layer.summed.map(sourceText).join(' · ')}`);
    layer.heads.forEach((h, i) => lines.push(`  head ${String(i).padEnd(3)} focus ${h.focus.toFixed(2)}${h.copyWeight >= COPY_MIN_SHARE ? ' copies' : '       '}  ${h.top.map(sourceText).join(' · ')}`));
  });
  return lines.join('\n');
}
