/**
 * GPT-2's byte-level BPE, with the UTF-16 span of every token in the text.
 *
 * Spans: a character belongs to the token that holds its first UTF-8 byte. A token made only of
 * continuation bytes (the 2nd..4th byte of a character another token started) gets an empty span
 * at the end of that character. So spans are in order, never overlap, and concatenated they
 * reproduce the text exactly. Text that looks like a special token (`<|endoftext|>`) is plain text.
 */
import { concatBytes } from '../../common/bytes.ts';

export const EOT = 50256;

/** GPT-2's pre-tokenizer: contractions, letter runs, number runs, punctuation runs, white space. */
const PRETOKEN = /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;

export interface Encoding {
  ids: Int32Array;
  /** UTF-16 offsets: token i covers text.slice(starts[i], ends[i]). */
  starts: Int32Array;
  ends: Int32Array;
}

/** GPT-2 maps each byte to a printable character so BPE works on strings. */
function byteToUnicode(): string[] {
  const bs: number[] = [];
  for (let b = 33; b <= 126; b++) bs.push(b);
  for (let b = 161; b <= 172; b++) bs.push(b);
  for (let b = 174; b <= 255; b++) bs.push(b);
  const table: string[] = new Array(256);
  for (const b of bs) table[b] = String.fromCharCode(b);
  let n = 0;
  for (let b = 0; b < 256; b++) if (table[b] === undefined) table[b] = String.fromCharCode(256 + n++);
  return table;
}

const BYTE_TO_CHAR = byteToUnicode();
const CHAR_TO_BYTE = new Map(BYTE_TO_CHAR.map((c, b) => [c, b]));
const utf8 = new TextEncoder();

export class Tokenizer {
  private readonly encoder: Map<string, number>;
  private readonly decoder: string[];
  private readonly ranks: Map<string, number>;
  /** Pretoken (as text) → ids and the byte length of each token. */
  private readonly cache = new Map<string, { ids: number[]; byteLengths: number[] }>();

  constructor(vocab: Record<string, number>, merges: string[]) {
    this.encoder = new Map(Object.entries(vocab));
    this.decoder = [];
    for (const [token, id] of this.encoder) this.decoder[id] = token;
    this.ranks = new Map(merges.map((m, i) => [m, i]));
  }

  /**
   * From a model folder's files: `vocab.json` + `merges.txt`, or `tokenizer.json`. `read` returns a
   * file's text, or undefined when the folder has no such file; `where` names the folder in errors
   * and `pathOf` a file of it. Every problem is one line naming the file and what is wrong with
   * it (not JSON, not a BPE tokenizer, a merge that is not two tokens, a token the vocabulary
   * lacks, too few tokens for GPT-2).
   */
  static fromFiles(read: (name: string) => string | undefined, where: string, pathOf: (name: string) => string = (name) => `${where}/${name}`): Tokenizer {
    let vocab: Record<string, number>;
    let merges: string[];
    let file: string;
    const json = (name: string, text: string): unknown => {
      try {
        return JSON.parse(text);
      } catch (e) {
        throw new Error(`${pathOf(name)} is not valid JSON (${(e as Error).message.split('\n')[0]})`, { cause: e });
      }
    };
    const vocabJson = read('vocab.json');
    const mergesTxt = vocabJson === undefined ? undefined : read('merges.txt');
    if (vocabJson !== undefined && mergesTxt !== undefined) {
      file = pathOf('vocab.json');
      vocab = checkVocab(json('vocab.json', vocabJson), file);
      file = pathOf('merges.txt');
      merges = [];
      mergesTxt.split('\n').forEach((line, i) => {
        const l = line.replace(/\r$/, '');
        if (!l || (i === 0 && l.startsWith('#version'))) return;
        if (!/^[^ ]+ [^ ]+$/.test(l)) throw new Error(`${file} line ${i + 1}: a merge is two tokens separated by one space, got ${JSON.stringify(l.slice(0, 40))}`);
        merges.push(l);
      });
    } else {
      const tokenizerJson = read('tokenizer.json');
      if (tokenizerJson === undefined) throw new Error(`missing model file tokenizer.json (or vocab.json + merges.txt) in ${where}`);
      file = pathOf('tokenizer.json');
      const tj = json('tokenizer.json', tokenizerJson) as { model?: { type?: unknown; vocab?: unknown; merges?: unknown } } | null;
      const model = tj && typeof tj === 'object' ? tj.model : undefined;
      if (!model || typeof model !== 'object') throw new Error(`${file} has no "model" object; it is not a tokenizer.json of the Hugging Face tokenizers library`);
      if (model.type !== undefined && model.type !== 'BPE') throw new Error(`${file}: model.type is ${JSON.stringify(model.type)}; GPT-2's tokenizer is "BPE"`);
      vocab = checkVocab(model.vocab, `${file}: model.vocab`);
      if (!Array.isArray(model.merges)) throw new Error(`${file}: model.merges is ${describe(model.merges)}, not a list of merges`);
      merges = model.merges.map((m: unknown, i: number) => {
        if (typeof m === 'string' && /^[^ ]+ [^ ]+$/.test(m)) return m;
        if (Array.isArray(m) && m.length === 2 && m.every((t) => typeof t === 'string' && t && !t.includes(' '))) return m.join(' ');
        throw new Error(`${file}: model.merges[${i}] is ${describe(m)}, not two tokens ("a b" or ["a", "b"])`);
      });
    }
    const size = Object.keys(vocab).length;
    if (size < 50257 || merges.length < 50000) throw new Error(`tokenizer in ${where} is not GPT-2's (${size} tokens, ${merges.length} merges)`);
    // Every byte and every merge's result must be a token, or encoding would produce no id.
    const missingByte = BYTE_TO_CHAR.find((c) => !Object.hasOwn(vocab, c));
    if (missingByte !== undefined) throw new Error(`${file}: the vocabulary lacks the byte token ${JSON.stringify(missingByte)}; it is not GPT-2's byte-level BPE`);
    const badMerge = merges.find((m) => !Object.hasOwn(vocab, m.replace(' ', '')));
    if (badMerge !== undefined) throw new Error(`${file}: the merge ${JSON.stringify(badMerge)} makes a token the vocabulary lacks`);
    return new Tokenizer(vocab, merges);
  }

  get vocabSize(): number {
    return this.decoder.length;
  }

  /** Whether `text` is one token of the vocabulary as it is (e.g. " word"). */
  isToken(text: string): boolean {
    return this.encoder.has(Array.from(utf8.encode(text), (b) => BYTE_TO_CHAR[b]!).join(''));
  }

  private bpe(pretoken: string): { ids: number[]; byteLengths: number[] } {
    const cached = this.cache.get(pretoken);
    if (cached) return cached;
    const bytes = utf8.encode(pretoken);
    let word = Array.from(bytes, (b) => BYTE_TO_CHAR[b]!);
    while (word.length > 1) {
      let best = -1;
      let bestRank = Infinity;
      for (let i = 0; i < word.length - 1; i++) {
        const r = this.ranks.get(word[i] + ' ' + word[i + 1]);
        if (r !== undefined && r < bestRank) {
          bestRank = r;
          best = i;
        }
      }
      if (best < 0) break;
      const first = word[best]!;
      const second = word[best + 1]!;
      const merged: string[] = [];
      for (let i = 0; i < word.length; i++) {
        if (i < word.length - 1 && word[i] === first && word[i + 1] === second) {
          merged.push(first + second);
          i++;
        } else merged.push(word[i]!);
      }
      word = merged;
    }
    const result = { ids: word.map((t) => this.encoder.get(t)!), byteLengths: word.map((t) => t.length) };
    if (this.cache.size > 100_000) this.cache.clear();
    this.cache.set(pretoken, result);
    return result;
  }

  encode(text: string): Encoding {
    const ids: number[] = [];
    const starts: number[] = [];
    const ends: number[] = [];
    for (const m of text.matchAll(PRETOKEN)) {
      const piece = m[0];
      const { ids: pieceIds, byteLengths } = this.bpe(piece);
      // Walk the characters of the piece, giving each to the token that holds its first byte.
      let byteInPiece = 0; // first byte of the next character
      let charOffset = m.index; // UTF-16 offset of the next character
      let tokenByteEnd = 0;
      for (let t = 0; t < pieceIds.length; t++) {
        tokenByteEnd += byteLengths[t]!;
        const start = charOffset;
        while (byteInPiece < tokenByteEnd && charOffset < m.index + piece.length) {
          const cp = piece.codePointAt(charOffset - m.index)!;
          byteInPiece += cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
          charOffset += cp > 0xffff ? 2 : 1;
        }
        ids.push(pieceIds[t]!);
        starts.push(start);
        ends.push(charOffset);
      }
    }
    return { ids: Int32Array.from(ids), starts: Int32Array.from(starts), ends: Int32Array.from(ends) };
  }

  /** The raw bytes of a token. */
  tokenBytes(id: number): Uint8Array {
    const s = this.decoder[id];
    if (s === undefined) throw new RangeError(`token id ${id} is not in the vocabulary`);
    return Uint8Array.from(s, (c) => CHAR_TO_BYTE.get(c)!);
  }

  /** A token as text; bytes that are not whole UTF-8 characters show as \xNN. */
  tokenText(id: number): string {
    return decodeLenient(this.tokenBytes(id));
  }

  decode(ids: ArrayLike<number>): string {
    const parts: Uint8Array[] = [];
    for (let i = 0; i < ids.length; i++) parts.push(this.tokenBytes(ids[i]!));
    return new TextDecoder().decode(concatBytes(parts));
  }
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'string') return `the string ${JSON.stringify(v.slice(0, 40))}`;
  return typeof v === 'object' ? 'an object' : `${typeof v} ${String(v)}`;
}

/** A vocabulary: an object of token → id, ids non-negative integers. */
function checkVocab(v: unknown, what: string): Record<string, number> {
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw new Error(`${what} is ${describe(v)}, not an object of token → id`);
  for (const [token, id] of Object.entries(v)) {
    if (!Number.isSafeInteger(id) || (id as number) < 0) throw new Error(`${what}: the id of ${JSON.stringify(token.slice(0, 40))} is ${describe(id)}, not a non-negative integer`);
  }
  return v as Record<string, number>;
}

/** UTF-8 decode where invalid or incomplete sequences become \xNN escapes instead of U+FFFD. */
export function decodeLenient(bytes: Uint8Array): string {
  let out = '';
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i]!;
    const len = b < 0x80 ? 1 : b >= 0xf0 && b < 0xf8 ? 4 : b >= 0xe0 ? 3 : b >= 0xc0 ? 2 : 0;
    let ok = len > 0 && i + len <= bytes.length;
    for (let k = 1; ok && k < len; k++) ok = (bytes[i + k]! & 0xc0) === 0x80;
    if (ok) {
      out += new TextDecoder().decode(bytes.subarray(i, i + len));
      i += len;
    } else {
      out += '\\x' + b.toString(16).padStart(2, '0');
      i++;
    }
  }
  return out;
}
