/**
 * Line endings of a file as it was read, kept so that writing it back changes only what was
 * edited. The editor holds text with \n only; a file may end its lines with LF, CRLF or a lone CR
 * (old Mac), and may mix them (a file edited on two systems, a pasted block). A file with one
 * kind only needs that kind; a mixed one keeps its text as last read or written (`base`) and the
 * ending of each of its lines, and a write lines the new text up with `base` (a line diff): every
 * line that is still there keeps its own ending, an edited line keeps the ending of the line it
 * replaced, and a new line takes the ending of the line before it (the file's most common ending
 * where there is none).
 */

export type LineEnding = '\n' | '\r\n' | '\r';

/** A mixed file's lines: `base` in editor form (\n only) and one code per line break of it. */
export interface MixedLineEndings {
  base: string;
  /** The ending of each line of `base` that has one, in order: 'n' LF, 'c' CRLF, 'r' CR. */
  endings: string;
}

const CODE: Record<LineEnding, string> = { '\n': 'n', '\r\n': 'c', '\r': 'r' };
const ENDING: Record<string, LineEnding> = { n: '\n', c: '\r\n', r: '\r' };

/** What a file's text says about its line endings: the most common one, and the layout when it mixes kinds. */
export function scanLineEndings(raw: string): { text: string; lineEnding: LineEnding; mixed?: MixedLineEndings } {
  const counts = { n: 0, c: 0, r: 0 } as Record<string, number>;
  let endings = '';
  for (const m of raw.matchAll(/\r\n|\r|\n/g)) {
    const code = CODE[m[0] as LineEnding];
    counts[code]!++;
    endings += code;
  }
  const kinds = Object.keys(counts).filter((c) => counts[c]! > 0);
  // The most common kind; on a tie the first one the file uses.
  const common = kinds.length ? kinds.reduce((best, c) => (counts[c]! > counts[best]! || (counts[c] === counts[best] && endings.indexOf(c) < endings.indexOf(best)) ? c : best)) : 'n';
  const text = common === 'n' && kinds.length <= 1 ? raw : raw.replace(/\r\n?/g, '\n');
  return { text, lineEnding: ENDING[common]!, ...(kinds.length > 1 ? { mixed: { base: text, endings } } : {}) };
}

/** Beyond this many inserted plus deleted lines the diff gives up and lines up the changed part by position. */
const MAX_EDITS = 500;

/**
 * Pairs [index in a, index in b] of equal lines in a shortest edit script from a to b (Myers'
 * O(ND) diff), in increasing order; null when more than `maxEdits` lines differ.
 */
function matchLines(a: readonly string[], b: readonly string[], maxEdits: number): [number, number][] | null {
  const n = a.length;
  const m = b.length;
  const max = Math.min(n + m, maxEdits);
  const offset = max + 1;
  const v = new Int32Array(2 * max + 3);
  const trace: Int32Array[] = [];
  for (let d = 0; d <= max; d++) {
    trace.push(v.slice(offset - d - 1, offset + d + 2));
    for (let k = -d; k <= d; k += 2) {
      let x = k === -d || (k !== d && v[offset + k - 1]! < v[offset + k + 1]!) ? v[offset + k + 1]! : v[offset + k - 1]! + 1;
      let y = x - k;
      while (x < n && y < m && a[x] === b[y]) {
        x++;
        y++;
      }
      v[offset + k] = x;
      if (x >= n && y >= m) return backtrack(trace, n, m);
    }
  }
  return null;
}

function backtrack(trace: Int32Array[], n: number, m: number): [number, number][] {
  const pairs: [number, number][] = [];
  let x = n;
  let y = m;
  for (let d = trace.length - 1; d >= 0; d--) {
    const v = trace[d]!; // v before step d, indices k + d + 1 for k in [-d - 1, d + 1]
    const at = (k: number) => v[k + d + 1]!;
    const k = x - y;
    const prevK = k === -d || (k !== d && at(k - 1) < at(k + 1)) ? k + 1 : k - 1;
    const prevX = d === 0 ? 0 : at(prevK);
    const prevY = d === 0 ? 0 : prevX - prevK;
    while (x > prevX && y > prevY) {
      x--;
      y--;
      pairs.push([x, y]);
    }
    x = prevX;
    y = prevY;
  }
  return pairs.reverse();
}

/**
 * The file body for `text` (editor form) written over a file whose lines were `mixed`, and the
 * layout of what is written. `fallback` is the ending of a line with nothing to inherit from.
 */
export function applyLineEndings(text: string, mixed: MixedLineEndings, fallback: LineEnding): { body: string; endings: string } {
  const oldLines = mixed.base.split('\n');
  const newLines = text.split('\n');
  const oldEnding = (j: number): string | undefined => (j >= 0 && j < oldLines.length - 1 ? mixed.endings[j] : undefined);

  // Equal lines at the start and the end cost nothing to line up; the diff runs on the rest.
  let head = 0;
  while (head < oldLines.length && head < newLines.length && oldLines[head] === newLines[head]) head++;
  let tail = 0;
  while (tail < oldLines.length - head && tail < newLines.length - head && oldLines[oldLines.length - 1 - tail] === newLines[newLines.length - 1 - tail]) tail++;
  const middle = matchLines(oldLines.slice(head, oldLines.length - tail), newLines.slice(head, newLines.length - tail), MAX_EDITS) ?? [];
  const pairs: [number, number][] = [];
  for (let i = 0; i < head; i++) pairs.push([i, i]);
  for (const [a, b] of middle) pairs.push([a + head, b + head]);
  for (let i = tail; i > 0; i--) pairs.push([oldLines.length - i, newLines.length - i]);
  pairs.push([oldLines.length, newLines.length]); // a sentinel after the last lines

  const codes: string[] = new Array(Math.max(0, newLines.length - 1));
  const kept = new Uint8Array(newLines.length);
  let prevOld = -1;
  let prevNew = -1;
  let inherited = CODE[fallback];
  for (const [a, b] of pairs) {
    // Old lines (prevOld, a) were replaced by new lines (prevNew, b): by position, then the last replaced line's, then the one before.
    for (let i = prevNew + 1; i < b && i < codes.length; i++) {
      const j = prevOld + 1 + (i - prevNew - 1);
      const own = j < a ? oldEnding(j) : oldEnding(a - 1) !== undefined && a - 1 > prevOld ? oldEnding(a - 1) : undefined;
      codes[i] = own ?? inherited;
      inherited = codes[i]!;
    }
    if (b < newLines.length) kept[b] = 1;
    if (b < codes.length) {
      codes[b] = oldEnding(a) ?? inherited;
      inherited = codes[b]!;
    }
    prevOld = a;
    prevNew = b;
  }
  // A CR followed by an empty LF line would read back as one CRLF (a line lost): the line that
  // was not kept as it was gives way (the CR line becomes CRLF, or else the empty line ends in CR).
  for (let i = 0; i + 1 < codes.length; i++) {
    if (codes[i] === 'r' && newLines[i + 1] === '' && codes[i + 1] === 'n') {
      if (!kept[i]) codes[i] = 'c';
      else codes[i + 1] = 'r';
    }
  }
  let body = '';
  for (let i = 0; i < newLines.length; i++) body += i < codes.length ? newLines[i] + ENDING[codes[i]!]! : newLines[i];
  return { body, endings: codes.join('') };
}
