/**
 * likely infill FILE --from S --to E [--json] [--k 10] [--prefix-only] [--all] [--model DIR]
 *
 * The rewrites the editor's popover offers for text[S, E): by default only those that beat the
 * original (models/src/infill.ts: fixes of common errors and the model's own fill-ins, each with
 * its cost), `--all` every candidate the search tried, best first.
 */
import { visibleText } from '../../common/format.ts';
import { InfillError } from '../src/infill.ts';
import { CliError, intOption, parseArgs, readTextFile } from './args.ts';
import { loadEngine } from './engine.ts';

export async function run(argv: string[]): Promise<void> {
  const args = parseArgs(argv, { values: ['from', 'to', 'k', 'model', 'device'], flags: ['json', 'prefix-only', 'all'] });
  if (args.positional.length !== 1) throw new CliError(args.positional.length ? `expected one FILE, got ${args.positional.length}` : 'missing FILE');
  const text = await readTextFile(args.positional[0]);
  const from = intOption(args, 'from');
  const to = intOption(args, 'to');
  const k = intOption(args, 'k', 10);
  if (k < 1 || k > 100) throw new CliError('--k must be between 1 and 100');
  const engine = await loadEngine(args);
  let result;
  try {
    result = await engine.infillText(text, from, to, { k, prefixOnly: args.flags.has('prefix-only'), includeWorse: args.flags.has('all') });
  } catch (e) {
    if (e instanceof InfillError) throw new CliError(e.message);
    throw e;
  } finally {
    await engine.dispose();
  }
  if (args.flags.has('json')) {
    process.stdout.write(JSON.stringify({ span: result.span, suggestions: result.suggestions.map((s) => ({ text: s.text, score: s.score })), original: { score: result.original.score }, hidden: result.hidden ?? 0 }) + '\n');
    return;
  }
  // Text as the app shows it (common/format.ts): spaces ␣, newlines ↵, invisible and bidi characters as ⟨U+XXXX⟩.
  const lines = [`“${visibleText(result.span.text, 80)}” at ${from}..${to} (original scores ${result.original.score.toFixed(2)}):`];
  for (const s of result.suggestions) lines.push(`  ${s.score.toFixed(2).padStart(8)}  “${visibleText(s.text, 80)}”`);
  if (!result.suggestions.length) lines.push('  no rewrite makes the sentence more likely');
  if (result.hidden) lines.push(`  (${result.hidden} more with --all)`);
  process.stdout.write(lines.join('\n') + '\n');
}
