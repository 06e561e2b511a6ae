/** Small, strict argument parsing shared by the CLI commands: unknown options are errors. */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { MAX_DOCUMENT_BYTES } from '../../common/limits.ts';
import { DocumentError, readDocument } from '../../node/files.ts';
import { visibleLine } from '../../common/format.ts';

export class CliError extends Error {
  constructor(message: string, readonly exitCode = 2) {
    super(message);
  }
}

export interface OptionSpec {
  /** Options that take a value, e.g. ['model', 'from']. */
  values?: string[];
  /** Boolean flags, e.g. ['json']. */
  flags?: string[];
}

export interface ParsedArgs {
  positional: string[];
  values: Record<string, string>;
  flags: Set<string>;
}

export function parseArgs(argv: string[], spec: OptionSpec): ParsedArgs {
  const out: ParsedArgs = { positional: [], values: {}, flags: new Set() };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('--')) {
      out.positional.push(arg);
      continue;
    }
    const [name, inline] = arg.slice(2).split(/=(.*)/s, 2) as [string, string | undefined];
    if (spec.flags?.includes(name)) {
      if (inline !== undefined) throw new CliError(`option --${name} takes no value`);
      out.flags.add(name);
    } else if (spec.values?.includes(name)) {
      const value = inline ?? argv[++i];
      if (value === undefined || value === '' || (inline === undefined && value.startsWith('--'))) throw new CliError(`option --${name} needs a value`);
      out.values[name] = value;
    } else {
      throw new CliError(`unknown option ${arg}`);
    }
  }
  return out;
}

/**
 * A script's options (npm run bench, eval:model, eval:infill, models:random, bench:browser, …),
 * parsed by the CLI's rules (unknown options, and options without their value, are errors) and
 * read by `read`; a problem exits at once with one line, `name: problem`, and status 2.
 */
export function scriptOptions<T>(name: string, spec: OptionSpec, read: (args: ParsedArgs) => T, argv = process.argv.slice(2)): T {
  try {
    return read(parseArgs(argv, spec));
  } catch (e) {
    if (!(e instanceof CliError)) throw e;
    process.stderr.write(`${name}: ${visibleLine(e.message)}\n`);
    process.exit(2);
  }
}

/** Whether `moduleUrl` is the script node was started with (not a module another one imported). */
export function isEntry(moduleUrl: string): boolean {
  return !!process.argv[1] && moduleUrl === pathToFileURL(resolve(process.argv[1])).href;
}

export function intOption(args: ParsedArgs, name: string, fallback?: number, min = -Infinity): number {
  const raw = args.values[name];
  if (raw === undefined) {
    if (fallback === undefined) throw new CliError(`missing --${name}`);
    return fallback;
  }
  if (!/^-?\d+$/.test(raw) || !Number.isSafeInteger(Number(raw))) throw new CliError(`--${name} must be an integer, got "${raw}"`);
  if (Number(raw) < min) throw new CliError(`--${name} must be at least ${min}, got ${raw}`);
  return Number(raw);
}

/**
 * Reads a text file the way the app opens it (node/files.ts: one reader, one decoding rule, one
 * size limit) or explains why not in one line: missing, a folder, a FIFO or device, too large,
 * binary, not UTF-8 / UTF-16 text, or empty.
 */
export async function readTextFile(path: string | undefined): Promise<string> {
  if (!path) throw new CliError('missing FILE');
  let text: string;
  try {
    text = (await readDocument(path, MAX_DOCUMENT_BYTES, true)).text;
  } catch (e) {
    throw e instanceof DocumentError ? new CliError(e.message) : e;
  }
  if (text.length === 0) throw new CliError(`${path} is empty`);
  return text;
}
