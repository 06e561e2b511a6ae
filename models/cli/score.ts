/** likely score FILE [--json] [--model DIR] [--device auto|gpu|cpu] */
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
  const lines = [
    `${args.positional[0]}: ${tokens.length} tokens, perplexity ${perplexity.toFixed(2)} (${model.name}, ${model.device})`,
    'least likely tokens:',
    ...worst.map((t) => `  ${JSON.stringify(t.text).padEnd(18)} p=${Math.exp(t.logprob).toExponential(2)}  rank ${t.rank}  at ${t.start}`),
  ];
  process.stdout.write(lines.join('\n') + '\n');
}
