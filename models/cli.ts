/**
 * likely — the command line. `npm run --silent likely -- <command> ...`
 * Each command lives in models/cli/<command>.ts and exports `run(argv): Promise<void>`.
 * Errors are one line on stderr and a non-zero exit, never a stack trace.
 */
import { visibleLine } from '../common/format.ts';
import { CliError } from './cli/args.ts';

const COMMANDS: Record<string, string> = {
  score: 'score FILE [--json] [--model DIR]            per-token log-probs of a text file',
  infill: 'infill FILE --from S --to E [--json] [--k 10] [--prefix-only] [--model DIR]   rewrites for a span',
  review: 'review FILE [--json] [--rewrites] [--k 3] [--top N] [--model DIR]   surprising spans, predictable runs, repeats',
  export: 'export FILE --html OUT [--mode logprob|rank|entropy] [--model DIR]   annotated HTML',
  attention: 'attention FILE --at OFFSET [--json] [--full] [--k 5] [--model DIR]   what the model looked at for a token',
  models: 'models list|download ID|import DIR|remove ID   manage GPT-2 models',
};

function usage(): string {
  return 'usage: likely <command> ...\n' + Object.values(COMMANDS).map((c) => '  likely ' + c).join('\n');
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || command === '--help' || command === '-h') {
    console.log(usage());
    return command ? 0 : 2;
  }
  if (!(command in COMMANDS)) throw new CliError(`unknown command "${command}" (try: ${Object.keys(COMMANDS).join(', ')})`);
  const mod = (await import(`./cli/${command}.ts`)) as { run(argv: string[]): Promise<void> };
  await mod.run(rest);
  return 0;
}

/**
 * Exits once stdout and stderr have flushed: the engine's native handles keep the process alive, so
 * it must exit explicitly, but stdout to a pipe is asynchronous and an early exit cuts it at 64 KiB.
 */
async function exitAfterFlush(code: number): Promise<never> {
  const flushed = (stream: NodeJS.WriteStream) => new Promise<void>((resolve) => stream.write('', () => resolve()));
  await Promise.all([flushed(process.stdout), flushed(process.stderr)]);
  process.exit(code);
}

main(process.argv.slice(2)).then(
  (code) => exitAfterFlush(code),
  (err: unknown) => {
    const message = err instanceof Error ? err.message : String(err);
    process.stderr.write(`likely: ${visibleLine(message.split('\n')[0]!)}\n`);
    if (process.env.LIKELY_DEBUG && err instanceof Error) process.stderr.write(String(err.stack) + '\n');
    return exitAfterFlush(err instanceof CliError ? err.exitCode : 1);
  },
);
