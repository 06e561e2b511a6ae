/**
 * The writing-error set (writing-errors.tsv): common errors in sentences written for this repo,
 * each with the wrong word and its fix, split into a tuning half and a held-out half before
 * anything was tuned on it: within each kind of error, the sentences in the order of a hash of
 * their text, alternately (so both halves hold every kind).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface WritingError {
  kind: string;
  text: string;
  start: number;
  end: number;
  wrong: string;
  /** The fix; '' means the word should go (a doubled word). */
  fix: string;
  split: 'tune' | 'held-out';
}

/** FNV-1a, 32 bits. */
function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

export function loadWritingErrors(file = join(import.meta.dirname, 'writing-errors.tsv')): WritingError[] {
  const out: WritingError[] = [];
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (!line.trim() || line.startsWith('#')) continue;
    const [kind, text, wrong, fix = ''] = line.split('\t') as [string, string, string, string?];
    // A doubled word's error is the occurrence right after the same word.
    const re = new RegExp(`(?<![\\p{L}'’])${wrong.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(?![\\p{L}'’])`, 'giu');
    const hits = [...text.matchAll(re)].filter((m) => m[0] === wrong);
    const repeats = (m: RegExpMatchArray) => new RegExp(`(?<![\\p{L}'’])${wrong}\\s+$`, 'iu').test(text.slice(0, m.index));
    const hit = kind === 'doubled' ? hits.find(repeats) : hits[0];
    if (!hit) throw new Error(`writing-errors.tsv: "${wrong}" not found in "${text}"`);
    out.push({ kind, text, start: hit.index, end: hit.index + wrong.length, wrong, fix, split: 'tune' });
  }
  const kinds = new Set(out.map((e) => e.kind));
  for (const kind of kinds) {
    const ofKind = out.filter((e) => e.kind === kind).sort((a, b) => fnv1a(a.text) - fnv1a(b.text));
    ofKind.forEach((e, i) => (e.split = i % 2 === 0 ? 'tune' : 'held-out'));
  }
  return out;
}
