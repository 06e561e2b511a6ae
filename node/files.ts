/**
 * Reading and writing documents safely: the one reader of the app and the CLI (`likely score`
 * reads through it too), and the one writer. Plain Node (no Electron), so it is tested directly.
 *
 * Writes are atomic: the bytes go to a temp file in the same folder (same file system, so the
 * rename cannot turn into a copy), the temp file is fsynced, renamed over the target, and the
 * folder is fsynced so the rename itself survives a power cut. A crash or kill at any moment
 * leaves the target either entirely old or entirely new, never empty or partial.
 *
 * Reads refuse what the editor cannot show faithfully, with a one-line reason and without
 * touching anything: folders, anything that is not a regular file (a FIFO would block the read
 * forever; checked before opening, and opened non-blocking), files over MAX_DOCUMENT_BYTES, binary
 * data (NUL bytes), text that is not UTF-8 (UTF-16 with a byte-order mark is accepted). Writes
 * refuse targets that are not regular files (a device node is never replaced by a file).
 */
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, constants, fstatSync, openSync, promises as fsp, readSync, statSync, type Stats } from 'node:fs';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { humanSize, MAX_DOCUMENT_BYTES } from '../common/limits.ts';
import type { DocumentFormat } from '../common/shell.ts';
import { applyLineEndings, scanLineEndings, type LineEnding, type MixedLineEndings } from '../common/line-endings.ts';

/**
 * Files up to this size carry a content hash in their stamp, so a change that keeps the size and
 * the mtime (`cp -p`, `touch -r`) is still noticed before an autosave writes over it. Larger files
 * rely on size and mtime (hashing them on every autosave would cost more than it protects).
 */
export const HASHED_BYTES = 2 * 1024 * 1024;

/** Extensions offered by the open and save dialogs. Other files open too when they are UTF-8 text. */
export const MARKDOWN_EXTENSIONS = ['md', 'markdown', 'mdown', 'mkd'];
export const TEXT_EXTENSIONS = ['txt', 'text'];

/** A problem meant for the writer: `message` is one line and names the file. */
export class DocumentError extends Error {
  constructor(
    message: string,
    readonly code?: string,
  ) {
    super(message);
    this.name = 'DocumentError';
  }
}

export function formatForPath(path: string): DocumentFormat {
  return MARKDOWN_EXTENSIONS.includes(extname(path).slice(1).toLowerCase()) ? 'markdown' : 'text';
}

export interface LoadedDocument {
  path: string;
  /** The text with line endings normalized to \n and no byte-order mark. */
  text: string;
  format: DocumentFormat;
  /** How to write it back so that an unedited line stays byte-identical. */
  encoding: FileEncoding;
  /** Size and mtime of what was read, to notice when another program changes the file. */
  stamp: FileStamp;
}

export interface FileEncoding {
  /** The file's most common line ending: what a line with no ending of its own gets. */
  lineEnding: LineEnding;
  bom: boolean;
  /** Set when the file mixes line endings: each line's own, so a write keeps them (line-endings.ts). */
  mixed?: MixedLineEndings;
}

export interface FileStamp {
  size: number;
  mtimeMs: number;
  /** SHA-256 of the content, for files up to HASHED_BYTES. */
  sha256?: string;
}

export const DEFAULT_ENCODING: FileEncoding = { lineEnding: '\n', bom: false };

/** One-line reason for a file-system error, naming the file. */
export function describeFsError(err: unknown, path: string, doing: 'read' | 'save'): string {
  const e = err as NodeJS.ErrnoException;
  const name = basename(path);
  switch (e?.code) {
    case 'ENOENT':
      return doing === 'read' ? `${name} was not found (${path})` : `cannot save ${name}: its folder ${dirname(path)} does not exist`;
    case 'EACCES':
    case 'EPERM':
      return `cannot ${doing} ${name}: permission denied`;
    case 'EROFS':
      return `cannot ${doing} ${name}: the disk is read-only`;
    case 'ENOTDIR':
      return `cannot ${doing} ${name}: a part of its path (${dirname(path)}) is a file, not a folder`;
    case 'EEXIST':
      return `cannot ${doing} ${name}: a file with that name appeared at the same moment; try again`;
    case 'ELOOP':
      return `cannot ${doing} ${name}: its path has a loop of symbolic links`;
    case 'EMFILE':
    case 'ENFILE':
      return `cannot ${doing} ${name}: too many files are open; close some programs and try again`;
    case 'EFBIG':
      return `cannot ${doing} ${name}: the file would be larger than this disk or this account allows`;
    case 'EIO':
      return `cannot ${doing} ${name}: the disk reported an input/output error`;
    case 'ENOSPC':
    case 'EDQUOT':
      return `cannot save ${name}: the disk is full`;
    case 'EISDIR':
      return `${name} is a folder, not a text file`;
    case 'ENAMETOOLONG':
      return `cannot ${doing} ${name}: the path is too long`;
    case 'EBUSY':
      return `cannot ${doing} ${name}: another program is using it`;
    default:
      return `cannot ${doing} ${name}: ${e?.message ?? String(err)}`;
  }
}

/**
 * Decodes file bytes as the editor will show them, or throws a DocumentError saying why not. The
 * one decoding rule of the app and the CLI: UTF-8 (a byte-order mark is dropped) or UTF-16 with a
 * byte-order mark; NUL bytes are binary. CRLF becomes \n unless `keepLineEndings` (the CLI scores
 * the file's own text, so its offsets point into the file).
 */
export function decodeDocument(bytes: Uint8Array, path: string, keepLineEndings = false): { text: string; encoding: FileEncoding } {
  const name = basename(path);
  let text: string;
  let bom = false;
  if (bytes.length >= 2 && ((bytes[0] === 0xff && bytes[1] === 0xfe) || (bytes[0] === 0xfe && bytes[1] === 0xff))) {
    // UTF-16 with a byte-order mark (Windows Notepad's "Unicode"); it is saved back as UTF-8.
    try {
      text = new TextDecoder(bytes[0] === 0xff ? 'utf-16le' : 'utf-16be', { fatal: true }).decode(bytes.subarray(2));
    } catch {
      throw new DocumentError(`${name} is not a text file (it is not valid UTF-16 text)`, 'binary');
    }
    if (text.includes('\0')) throw new DocumentError(`${name} is not a text file (it contains binary data)`, 'binary');
  } else {
    if (bytes.includes(0)) throw new DocumentError(`${name} is not a text file (it contains binary data)`, 'binary');
    try {
      text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
    } catch {
      throw new DocumentError(`${name} is not UTF-8 text; Likely opens UTF-8 text files (.md, .txt)`, 'encoding');
    }
    if (text.charCodeAt(0) === 0xfeff) {
      text = text.slice(1);
      bom = true;
    }
  }
  const lines = scanLineEndings(text);
  const encoding: FileEncoding = { lineEnding: lines.lineEnding, bom, ...(lines.mixed ? { mixed: lines.mixed } : {}) };
  return { text: keepLineEndings ? text : lines.text, encoding };
}

/**
 * The bytes to write for `text` (editor form, \n line endings) in the file's encoding, and the
 * encoding of what they are (the one to write the next version with). Unedited lines keep their
 * own line endings, also in a file that mixes them (line-endings.ts).
 */
export function encodeDocumentFor(text: string, encoding: FileEncoding = DEFAULT_ENCODING): { bytes: Buffer; encoding: FileEncoding } {
  const editorText = text.replace(/\r\n?/g, '\n');
  let body: string;
  let next: FileEncoding = { lineEnding: encoding.lineEnding, bom: encoding.bom };
  if (encoding.mixed) {
    const written = applyLineEndings(editorText, encoding.mixed, encoding.lineEnding);
    body = written.body;
    if (new Set(written.endings).size > 1) next = { ...next, mixed: { base: editorText, endings: written.endings } };
    else if (written.endings.length) next = { ...next, lineEnding: scanLineEndings(body).lineEnding };
  } else {
    body = encoding.lineEnding === '\n' ? editorText : editorText.replace(/\n/g, encoding.lineEnding);
  }
  return { bytes: Buffer.from(encoding.bom ? '\ufeff' + body : body, 'utf8'), encoding: next };
}

/** The bytes to write for `text` (editor form) in the file's encoding (see encodeDocumentFor). */
export function encodeDocument(text: string, encoding: FileEncoding = DEFAULT_ENCODING): Buffer {
  return encodeDocumentFor(text, encoding).bytes;
}

/**
 * Writes a document's text to `path` atomically in its file's encoding (encodeDocumentFor): the
 * one way the app writes a document. Returns the stamp of the written file and the encoding to
 * write its next version with.
 */
export async function writeDocument(path: string, text: string, encoding: FileEncoding = DEFAULT_ENCODING): Promise<{ stamp: FileStamp; encoding: FileEncoding }> {
  const { bytes, encoding: next } = encodeDocumentFor(text, encoding);
  return { stamp: await atomicWriteFile(path, bytes), encoding: next };
}

/** The stamp of a file whose content is `bytes` (hashed when small enough). */
export function stampOf(st: Stats, bytes?: Uint8Array): FileStamp {
  const stamp: FileStamp = { size: st.size, mtimeMs: st.mtimeMs };
  if (bytes && bytes.length === st.size && st.size <= HASHED_BYTES) stamp.sha256 = sha256(bytes);
  return stamp;
}

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/** What a file that is not a regular one is, in words. */
function kindOf(st: Stats): string {
  return st.isDirectory() ? 'a folder' : st.isFIFO() ? 'a named pipe (FIFO)' : st.isSocket() ? 'a socket' : st.isCharacterDevice() || st.isBlockDevice() ? 'a device' : 'not a regular file';
}

/** Refuses a folder or anything else that is not a regular file (checked without opening it: opening a FIFO blocks). */
function checkRegular(st: Stats, path: string, doing: 'read' | 'save'): void {
  const name = basename(path);
  if (st.isDirectory()) throw new DocumentError(doing === 'read' ? `${name} is a folder, not a text file` : `cannot save: ${name} is a folder`, 'EISDIR');
  if (!st.isFile()) throw new DocumentError(doing === 'read' ? `${name} is ${kindOf(st)}, not a text file` : `cannot save over ${name}: it is ${kindOf(st)}, not a regular file`, 'special');
}

/**
 * A file that must not be read as it is: not a regular file (a folder, a FIFO, a device, a
 * socket; `kind` says which, in words: "a named pipe (FIFO)"), or larger than its caller allows.
 */
export class UnreadableFileError extends Error {
  constructor(
    readonly path: string,
    readonly reason: 'not-regular' | 'too-large',
    /** What it is ("a device"), or for 'too-large' its size in bytes as far as it is known. */
    readonly kind: string,
    readonly size?: number,
  ) {
    super(reason === 'not-regular' ? `${path} is ${kind}, not a regular file` : `${path} is larger than allowed`);
    this.name = 'UnreadableFileError';
  }
}

const refuseUnlessRegular = (st: Stats, path: string) => {
  if (!st.isFile()) throw new UnreadableFileError(path, 'not-regular', kindOf(st));
};

/**
 * Opens a regular file for reading without ever blocking: its type is checked before opening (a
 * FIFO blocks open() until a writer comes), it is opened non-blocking (a path swapped for a FIFO
 * meanwhile still returns) and checked again on the open handle. The one way the app opens a file
 * someone else chose (documents, model folders). Throws UnreadableFileError or the fs error.
 */
export async function openRegularFile(path: string): Promise<{ handle: fsp.FileHandle; stats: Stats }> {
  refuseUnlessRegular(await fsp.stat(path), path);
  const handle = await fsp.open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    const stats = await handle.stat();
    refuseUnlessRegular(stats, path);
    return { handle, stats };
  } catch (e) {
    await handle.close();
    throw e;
  }
}

/** Reads an open file whole, at most `maxBytes` (one byte more is read, so a file that grows meanwhile is noticed). */
async function readUpTo(handle: fsp.FileHandle, size: number, maxBytes: number, path: string): Promise<Buffer> {
  if (size > maxBytes) throw new UnreadableFileError(path, 'too-large', '', size);
  const buf = Buffer.alloc(Math.min(size, maxBytes) + 1);
  let length = 0;
  for (;;) {
    const { bytesRead } = await handle.read(buf, length, buf.length - length, length);
    if (bytesRead === 0) break;
    length += bytesRead;
    if (length === buf.length) break;
  }
  if (length > maxBytes) throw new UnreadableFileError(path, 'too-large', '');
  return buf.subarray(0, length);
}

/** A regular file's bytes, at most `maxBytes` (see openRegularFile). Throws UnreadableFileError or the fs error. */
export async function readRegularFile(path: string, maxBytes: number): Promise<{ bytes: Buffer; stats: Stats }> {
  const { handle, stats } = await openRegularFile(path);
  try {
    return { bytes: await readUpTo(handle, stats.size, maxBytes, path), stats };
  } finally {
    await handle.close();
  }
}

/** readRegularFile for the few callers that must stay synchronous (small bookkeeping files the model manager lists). */
export function readRegularFileSync(path: string, maxBytes: number): Buffer {
  refuseUnlessRegular(statSync(path), path);
  const fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    const st = fstatSync(fd);
    refuseUnlessRegular(st, path);
    if (st.size > maxBytes) throw new UnreadableFileError(path, 'too-large', '', st.size);
    const buf = Buffer.alloc(st.size + 1);
    let length = 0;
    for (let n; length < buf.length && (n = readSync(fd, buf, length, buf.length - length, length)) > 0; ) length += n;
    if (length > maxBytes) throw new UnreadableFileError(path, 'too-large', '');
    return buf.subarray(0, length);
  } finally {
    closeSync(fd);
  }
}

/** Reads a document for the editor or the CLI. Throws DocumentError (one line, names the file); changes nothing. */
export async function readDocument(path: string, maxBytes = MAX_DOCUMENT_BYTES, keepLineEndings = false): Promise<LoadedDocument> {
  const name = basename(path);
  try {
    const { bytes, stats } = await readRegularFile(path, maxBytes);
    const { text, encoding } = decodeDocument(bytes, path, keepLineEndings);
    return { path, text, format: formatForPath(path), encoding, stamp: stampOf(stats, bytes) };
  } catch (e) {
    if (e instanceof DocumentError) throw e;
    if (e instanceof UnreadableFileError) {
      if (e.reason === 'not-regular') throw new DocumentError(e.kind === 'a folder' ? `${name} is a folder, not a text file` : `${name} is ${e.kind}, not a text file`, e.kind === 'a folder' ? 'EISDIR' : 'special');
      throw new DocumentError(
        e.size !== undefined ? `${name} is ${humanSize(e.size)}; Likely opens text files up to ${humanSize(maxBytes)}` : `${name} is larger than ${humanSize(maxBytes)}; Likely opens text files up to that size`,
        'too-large',
      );
    }
    throw new DocumentError(describeFsError(e, path, 'read'), (e as NodeJS.ErrnoException).code);
  }
}

const TEMP_SUFFIX = '.likely-tmp';
/** A file name's limit in bytes on Linux, macOS and Windows (NTFS counts UTF-16 units, never more than the UTF-8 bytes). */
const NAME_MAX_BYTES = 255;
/** What a temp name adds around the file's name: ".", ".<pid up to 10 digits>-<8 hex>" and the suffix. */
const TEMP_EXTRA_BYTES = 1 + 1 + 10 + 1 + 8 + TEMP_SUFFIX.length;

/** The longest start of `s` that fits in `bytes` bytes of UTF-8, never cutting a character. */
function utf8Prefix(s: string, bytes: number): string {
  let used = 0;
  let end = 0;
  for (const ch of s) {
    used += Buffer.byteLength(ch, 'utf8');
    if (used > bytes) break;
    end += ch.length;
  }
  return s.slice(0, end);
}

/**
 * The part of a temp name that names its file: the file's name, or for a name too long to take
 * the temp name's additions within NAME_MAX (a 230-character name, 80 CJK characters), its start
 * and a hash of the whole name, so the temp name always fits and stays the same for one file.
 */
function tempStem(name: string): string {
  const room = NAME_MAX_BYTES - TEMP_EXTRA_BYTES;
  if (Buffer.byteLength(name, 'utf8') <= room) return name;
  const hash = createHash('sha256').update(name).digest('hex').slice(0, 8);
  return `${utf8Prefix(name, room - hash.length - 1)}~${hash}`;
}

/** The temp file for a write of `target`: hidden, in the same folder, unique, and a name that fits the file system's limit. */
export function tempPathFor(target: string): string {
  return join(dirname(target), `.${tempStem(basename(target))}.${process.pid}-${randomBytes(4).toString('hex')}${TEMP_SUFFIX}`);
}

async function fsyncDir(dir: string): Promise<void> {
  if (process.platform === 'win32') return; // Windows cannot open a folder for fsync; NTFS journals the rename.
  let handle: fsp.FileHandle | undefined;
  try {
    handle = await fsp.open(dir, constants.O_RDONLY);
    await handle.sync();
  } catch (e) {
    // Some file systems (network shares, FUSE) refuse fsync on a folder; the rename has still happened.
    if (!['EINVAL', 'ENOTSUP', 'EISDIR', 'EPERM', 'EBADF'].includes((e as NodeJS.ErrnoException).code ?? '')) throw e;
  } finally {
    await handle?.close();
  }
}

async function renameWithRetry(from: string, to: string): Promise<void> {
  // On Windows a rename over a file that another program (an indexer, an antivirus) has open
  // fails for a moment with EPERM/EBUSY/EACCES; retry briefly.
  for (let attempt = 0; ; attempt++) {
    try {
      return await fsp.rename(from, to);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code ?? '';
      if (process.platform !== 'win32' || attempt >= 5 || !['EPERM', 'EBUSY', 'EACCES'].includes(code)) throw e;
      await new Promise((r) => setTimeout(r, 20 * 2 ** attempt));
    }
  }
}

/**
 * Where a write of `path` lands: the file itself, or what a symbolic link (a chain of them) points
 * to, also when that does not exist yet (a dangling link is written through, creating its target,
 * never replaced by a file). `stats` of the existing target, or null for a new file.
 */
async function writeTarget(path: string): Promise<{ target: string; stats: Stats | null }> {
  let p = path;
  for (let hops = 0; hops < 40; hops++) {
    try {
      const target = await fsp.realpath(p);
      return { target, stats: await fsp.stat(target) };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    let link: string;
    try {
      link = await fsp.readlink(p);
    } catch (e) {
      // Not a link (EINVAL) or not there at all: a new file at p.
      if (['EINVAL', 'ENOENT', 'UNKNOWN'].includes((e as NodeJS.ErrnoException).code ?? '')) return { target: p, stats: null };
      throw e;
    }
    p = resolve(dirname(p), link);
  }
  throw Object.assign(new Error('too many symbolic links'), { code: 'ELOOP' });
}

/**
 * Checks that `path` could be saved to, without writing anything: refuses a folder, a device
 * node, a FIFO or a socket (or a link to one) with the line a save would give. For commands that
 * check their output before long work (`likely export`). Throws DocumentError.
 */
export async function checkSaveTarget(path: string): Promise<void> {
  try {
    const { stats } = await writeTarget(path);
    if (stats) checkRegular(stats, path, 'save');
  } catch (e) {
    if (e instanceof DocumentError) throw e;
    throw new DocumentError(describeFsError(e, path, 'save'), (e as NodeJS.ErrnoException).code);
  }
}

/**
 * Replaces `path` with `data` atomically (see the top of this file): the one writer of every file
 * the user names (documents, exports, settings). A symbolic link is followed: the file it points
 * to is replaced (or created, for a dangling link) and the link stays. An existing file keeps its
 * permissions. Returns the stamp of the written file. Throws DocumentError; on failure the target
 * is untouched and the temp file is removed.
 */
export async function atomicWriteFile(path: string, data: string | Uint8Array): Promise<FileStamp> {
  let found: Awaited<ReturnType<typeof writeTarget>>;
  try {
    found = await writeTarget(path);
    if (found.stats) checkRegular(found.stats, path, 'save');
  } catch (e) {
    if (e instanceof DocumentError) throw e;
    throw new DocumentError(describeFsError(e, path, 'save'), (e as NodeJS.ErrnoException).code);
  }
  const { target, stats } = found;
  const existed = stats !== null;
  const mode = stats ? stats.mode & 0o7777 : 0o666; // a new file: before the umask, as for any new file
  const temp = tempPathFor(target);
  let handle: fsp.FileHandle | undefined;
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  try {
    handle = await fsp.open(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, mode);
    if (existed && process.platform !== 'win32') await handle.chmod(mode); // the umask must not change an existing file's permissions
    await handle.writeFile(bytes);
    await handle.sync();
    await handle.close();
    handle = undefined;
    await renameWithRetry(temp, target);
  } catch (e) {
    await handle?.close().catch(() => {});
    await fsp.unlink(temp).catch(() => {});
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' && target !== path) throw new DocumentError(`cannot save ${basename(path)}: it is a link to ${target}, whose folder does not exist`, code);
    throw new DocumentError(describeFsError(e, path, 'save'), code);
  }
  await fsyncDir(dirname(target)).catch(() => {});
  return stampOf(await fsp.stat(target), bytes);
}

/**
 * Removes temp files that a killed save left beside `path` (older than `olderThanMs`, so a save in
 * progress elsewhere is not disturbed). Returns how many were removed. Never throws.
 */
export async function removeStaleTemps(path: string, olderThanMs = 60_000): Promise<number> {
  const target = await fsp.realpath(path).catch(() => path); // a save through a link writes beside its target
  const dir = dirname(target);
  const prefix = `.${tempStem(basename(target))}.`;
  let removed = 0;
  try {
    for (const name of await fsp.readdir(dir)) {
      if (!name.startsWith(prefix) || !/^\d+-[0-9a-f]+\.likely-tmp$/.test(name.slice(prefix.length))) continue;
      const full = join(dir, name);
      const st = await fsp.stat(full).catch(() => null);
      if (st && Date.now() - st.mtimeMs >= olderThanMs) {
        await fsp.unlink(full).then(() => removed++, () => {});
      }
    }
  } catch {
    // A folder we cannot list just keeps its leftovers.
  }
  return removed;
}

/**
 * Whether the file at `path` is still what `stamp` describes: size and mtime, and for small files
 * the content too (a same-size copy with the old mtime is a change). 'missing' when it is gone.
 */
export async function fileChanged(path: string, stamp: FileStamp): Promise<'unchanged' | 'changed' | 'missing'> {
  let st: Stats;
  try {
    st = await fsp.stat(path);
  } catch {
    return 'missing';
  }
  if (st.size !== stamp.size || st.mtimeMs !== stamp.mtimeMs || !st.isFile()) return 'changed';
  if (stamp.sha256 === undefined) return 'unchanged';
  try {
    const handle = await fsp.open(path, constants.O_RDONLY | constants.O_NONBLOCK);
    try {
      return sha256(await handle.readFile()) === stamp.sha256 ? 'unchanged' : 'changed';
    } finally {
      await handle.close();
    }
  } catch {
    return 'changed';
  }
}
