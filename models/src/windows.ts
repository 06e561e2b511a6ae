/**
 * How a document longer than the model's context is split into windows.
 *
 * Token t_k is scored by the model's prediction at position k of s = [EOT, t_0, ..., t_{n-1}].
 * A window scores tokens [a, b) from the input s[c, b), c = max(0, a - CONTEXT_MIN), so every
 * token sees at least CONTEXT_MIN tokens before it (or the whole text before it). The scored
 * ranges [a, b) are content-defined chunks: a boundary falls before token i when a hash of
 * (t_{i-1}, t_i) hits, between CHUNK_MIN and CHUNK_MAX tokens after the previous boundary. An edit
 * therefore moves only the boundaries near it; windows whose input tokens are unchanged are found
 * in the cache by content and not recomputed.
 */

export const CONTEXT_MIN = 512;
export const CHUNK_MIN = 256;
export const CHUNK_MAX = 512;
const HASH_MODULUS = 64;

export interface Window {
  /** Scored tokens [a, b). */
  a: number;
  b: number;
  /** First position of the input s[c, b). */
  c: number;
}

function boundaryHash(prev: number, cur: number): number {
  return (Math.imul(prev + 1, 0x9e3779b1) ^ Math.imul(cur + 1, 0x85ebca6b)) >>> 0;
}

export function planWindows(ids: ArrayLike<number>, contextLength = 1024): Window[] {
  const n = ids.length;
  if (n <= contextLength) return [{ a: 0, b: n, c: 0 }];
  const chunkMax = Math.min(CHUNK_MAX, contextLength - CONTEXT_MIN);
  const windows: Window[] = [];
  let a = 0;
  for (let i = 1; i <= n; i++) {
    const size = i - a;
    const natural = i < n && size >= CHUNK_MIN && boundaryHash(ids[i - 1]!, ids[i]!) % HASH_MODULUS === 0;
    if (i === n || natural || size >= chunkMax) {
      windows.push({ a, b: i, c: Math.max(0, a - CONTEXT_MIN) });
      a = i;
    }
  }
  return windows;
}

/** The input ids s[c, b) of a window. */
export function windowInput(ids: ArrayLike<number>, w: Window, eot: number): Int32Array {
  const out = new Int32Array(w.b - w.c);
  for (let j = w.c; j < w.b; j++) out[j - w.c] = j === 0 ? eot : ids[j - 1]!;
  return out;
}

/**
 * The first token whose window context start c differs between two plans (planWindows of two
 * versions of a document). A token's
 * score depends on the tokens s[c, i] it sees, so a kept score is valid only before this index
 * (and before the first changed id): when a document grows past the context length its single
 * window splits and later tokens lose their earliest context, and when it shrinks back they regain
 * it.
 */
export function firstContextChange(a: readonly Window[], b: readonly Window[]): number {
  let i = 0;
  let j = 0;
  let pos = 0;
  while (i < a.length && j < b.length) {
    if (a[i]!.c !== b[j]!.c) return pos;
    pos = Math.min(a[i]!.b, b[j]!.b);
    if (a[i]!.b === pos) i++;
    if (b[j]!.b === pos) j++;
  }
  return pos;
}
