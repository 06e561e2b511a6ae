/**
 * Candidates a language model's own beam search rarely proposes but writers need: the fixes of
 * common writing errors. For the one word a fill-in replaces, these are
 * - the words it is often confused with (homophones: their/there/they're, by/buy, to/too;
 *   "could of" → have; wrong prepositions: in/on/at/of/for…; agreement: is/are, was/were, has/have;
 *   a/an; then/than; affect/effect; …),
 * - spellings one edit away (a letter deleted, added, changed or two swapped) that are words, where
 *   a word is a whole-word token of the model's vocabulary (GPT-2's 50,257 tokens hold ~30,000
 *   common English words with their leading space),
 * - nothing at all, when the word repeats the word before it ("the the").
 * The fill-in ranks them with everything else by the whole sentence's likelihood
 * (infill.ts), so a candidate only shows when the model prefers it. Environment-neutral.
 */
import type { Tokenizer } from './tokenizer.ts';

/** Groups of words writers confuse; every word of a group is a candidate for the others. */
const CONFUSED: readonly string[][] = [
  ['their', 'there', "they're"],
  ['your', "you're"],
  ['its', "it's"],
  ['whose', "who's"],
  ['to', 'too', 'two'],
  ['then', 'than'],
  ['by', 'buy', 'bye'],
  ['of', 'have', 'off'],
  ['were', 'where', "we're", 'wear'],
  ['weather', 'whether'],
  ['hear', 'here'],
  ['know', 'no', 'now'],
  ['new', 'knew'],
  ['right', 'write', 'rite'],
  ['site', 'sight', 'cite'],
  ['peace', 'piece'],
  ['brake', 'break'],
  ['principal', 'principle'],
  ['quite', 'quiet', 'quit'],
  ['loose', 'lose', 'loss'],
  ['accept', 'except'],
  ['affect', 'effect'],
  ['advice', 'advise'],
  ['breath', 'breathe'],
  ['lead', 'led'],
  ['passed', 'past'],
  ['weak', 'week'],
  ['which', 'witch'],
  ['allowed', 'aloud'],
  ['complement', 'compliment'],
  ['stationary', 'stationery'],
  ['desert', 'dessert'],
  ['fewer', 'less'],
  ['threw', 'through', 'thru'],
  ["don't", "doesn't", "didn't"],
  ["isn't", "aren't", "wasn't", "weren't"],
  ["hasn't", "haven't", "hadn't"],
  ['a', 'an'],
  ['is', 'are', 'was', 'were', 'be'],
  ['has', 'have', 'had'],
  ['do', 'does', 'did'],
  ['go', 'goes', 'went', 'gone'],
  ['this', 'these', 'that', 'those'],
  ['in', 'on', 'at', 'of', 'for', 'to', 'with', 'from', 'by', 'about', 'into', 'onto', 'over', 'under', 'since'],
  ['who', 'whom', 'which', 'that'],
  ['good', 'well'],
  ['bad', 'badly'],
  ['me', 'i'],
  ['him', 'he'],
  ['her', 'she'],
  ['them', 'they'],
  ['us', 'we'],
];

const GROUPS = (() => {
  const map = new Map<string, Set<string>>();
  for (const group of CONFUSED) {
    for (const w of group) {
      const set = map.get(w) ?? new Set<string>();
      for (const other of group) if (other !== w) set.add(other);
      map.set(w, set);
    }
  }
  return map;
})();

const LETTERS = 'abcdefghijklmnopqrstuvwxyz';

/** Every string one edit from `w`: a letter deleted, inserted, substituted, or two neighbours swapped. */
function edits1(w: string): Set<string> {
  const out = new Set<string>();
  for (let i = 0; i <= w.length; i++) {
    const a = w.slice(0, i);
    const b = w.slice(i);
    if (b) out.add(a + b.slice(1));
    if (b.length > 1) out.add(a + b[1] + b[0] + b.slice(2));
    for (const c of LETTERS) {
      if (b) out.add(a + c + b.slice(1));
      out.add(a + c + b);
    }
  }
  out.delete(w);
  return out;
}

/** The same capitalization as `like` (Word, WORD, word); the pronoun I is always capitalized. */
function caseLike(word: string, like: string): string {
  if (word === 'i') return 'I';
  if (like.length > 1 && like === like.toUpperCase() && /[A-Z]/.test(like)) return word.toUpperCase();
  if (like[0] && like[0] !== like[0].toLowerCase()) return word[0]!.toUpperCase() + word.slice(1);
  return word;
}

/**
 * The fixes to try for `original` (one word) in `text` before offset `start`: each a replacement
 * text for the span (no leading space; the fill-in adds it). `isWord` says whether a string is a
 * whole-word token of the vocabulary.
 */
export function fixCandidates(original: string, textBefore: string, isWord: (w: string) => boolean): string[] {
  const out = new Set<string>();
  const lower = original.toLowerCase();
  if (!/^[\p{L}'’-]+$/u.test(original)) return [];
  // Most likely first (the fill-in ranks a limited number): "the the", then confused words, then spellings.
  const before = /([\p{L}'’-]+)\s+$/u.exec(textBefore)?.[1];
  if (before && before.toLowerCase() === lower) out.add('');
  for (const w of GROUPS.get(lower) ?? []) out.add(caseLike(w, original));
  if (lower.length >= 3 && /^[a-z]+$/.test(lower)) {
    for (const w of edits1(lower)) if (isWord(w)) out.add(caseLike(w, original));
  }
  out.delete(original);
  return [...out];
}

/** `isWord` for a tokenizer: a word that is, with its leading space, one token of the vocabulary. */
export function vocabularyWords(tokenizer: Tokenizer): (w: string) => boolean {
  return (w) => tokenizer.isToken(' ' + w);
}
