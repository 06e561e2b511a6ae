/** likely score FILE [--json] [--model DIR] [--device auto|gpu|cpu] */
import { visibleLine, visibleText } from '../../common/format.ts';
import { Engine } from '../src/engine.ts';
import { loadEngine } from './engine.ts';
import { parseArgs, readTextFile, CliError } from './args.ts';
import { scoreProgress } from './progress.ts';

export async function run(argv: string[]): Promise<void> {
  const args = parseArgs(argv, { values: ['model', 'device'], flags: ['json'] });
  if (args.positional.length !== 1) throw new CliError(args.positional.length ? `expected one FILE, got ${args.positional.length}` : 'missing FILE');
  const text = await readTextFile(args.positional[0]);
  const engine: Engine = await loadEngine(args);
  const { model, perplexity, tokens } = await engine.score(text, { onProgress: scoreProgress() });
  await engine.dispose();
  if (args.flags.has('json')) {
    process.stdout.write(JSON.stringify({ model: model.name, device: model.device, perplexity, tokens }) + '\n');
    return;
  }
  const worst = [...tokens].sort((a, b) => a.logprob - b.logprob).slice(0, 10);
  // Token text as the app shows it (common/format.ts): spaces ␣, newlines ↵, invisible and bidi characters as ⟨U+XXXX⟩.
  const lines = [
    `${visibleLine(args.positional[0]!)}: ${tokens.length} tokens, perplexity ${perplexity.toFixed(2)} (${visibleLine(model.name)}, ${model.device})`,
    'least likely tokens:',
    ...worst.map((t) => `  ${`“${visibleText(t.text)}”`.padEnd(18)} p=${Math.exp(t.logprob).toExponential(2)}  rank ${t.rank}  at ${t.start}`),
  ];
  process.stdout.write(lines.join('\n') + '\n');
}
