/** Small, strict argument parsing shared by the CLI commands: unknown options are errors. */
import { readFileSync, statSync } from 'node:fs';

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
      if (value === undefined || (inline === undefined && value.startsWith('--'))) throw new CliError(`option --${name} needs a value`);
      out.values[name] = value;
    } else {
      throw new CliError(`unknown option ${arg}`);
    }
  }
  return out;
}

export function intOption(args: ParsedArgs, name: string, fallback?: number): number {
  const raw = args.values[name];
  if (raw === undefined) {
    if (fallback === undefined) throw new CliError(`missing --${name}`);
    return fallback;
  }
  if (!/^-?\d+$/.test(raw)) throw new CliError(`--${name} must be an integer, got "${raw}"`);
  return Number(raw);
}

/** Largest text file the CLI and the app accept (documented in models/README.md). */
export const MAX_TEXT_BYTES = 8 * 1024 * 1024;

/**
 * Reads a UTF-8 text file or explains why not: missing, a folder, too large, binary (NUL bytes or
 * invalid UTF-8) or empty.
 */
export function readTextFile(path: string | undefined): string {
  if (!path) throw new CliError('missing FILE');
  let size: number;
  try {
    const st = statSync(path);
    if (st.isDirectory()) throw new CliError(`${path} is a folder, not a text file`);
    size = st.size;
  } catch (e) {
    if (e instanceof CliError) throw e;
    throw new CliError(`cannot read ${path}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
  }
  if (size > MAX_TEXT_BYTES) throw new CliError(`${path} is ${(size / 1048576).toFixed(1)} MB; the limit is ${MAX_TEXT_BYTES / 1048576} MB`);
  const bytes = readFileSync(path);
  if (bytes.length === 0) throw new CliError(`${path} is empty`);
  if (bytes.includes(0)) throw new CliError(`${path} looks like a binary file (it contains NUL bytes)`);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new CliError(`${path} is not valid UTF-8 text`);
  }
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  return text;
}
