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
import { constants, promises as fsp, type Stats } from 'node:fs';
import { basename, dirname, extname, join } from 'node:path';
import { humanSize, MAX_DOCUMENT_BYTES } from '../common/limits.ts';
import type { DocumentFormat } from '../common/shell.ts';

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
  lineEnding: '\n' | '\r\n';
  bom: boolean;
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
  const crlf = text.indexOf('\r\n');
  const lf = text.indexOf('\n');
  const lineEnding = crlf >= 0 && crlf + 1 === lf ? '\r\n' : '\n';
  if (lineEnding === '\r\n' && !keepLineEndings) text = text.replace(/\r\n/g, '\n');
  return { text, encoding: { lineEnding, bom } };
}

/** The bytes to write for `text` (editor form, \n line endings) in the file's original encoding. */
export function encodeDocument(text: string, encoding: FileEncoding = DEFAULT_ENCODING): Buffer {
  const body = encoding.lineEnding === '\r\n' ? text.replace(/\r?\n/g, '\r\n') : text;
  return Buffer.from(encoding.bom ? '\ufeff' + body : body, 'utf8');
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
  return st.isFIFO() ? 'a named pipe (FIFO)' : st.isSocket() ? 'a socket' : st.isCharacterDevice() || st.isBlockDevice() ? 'a device' : 'not a regular file';
}

/** Refuses a folder or anything else that is not a regular file (checked without opening it: opening a FIFO blocks). */
function checkRegular(st: Stats, path: string, doing: 'read' | 'save'): void {
  const name = basename(path);
  if (st.isDirectory()) throw new DocumentError(doing === 'read' ? `${name} is a folder, not a text file` : `cannot save: ${name} is a folder`, 'EISDIR');
  if (!st.isFile()) throw new DocumentError(doing === 'read' ? `${name} is ${kindOf(st)}, not a text file` : `cannot save over ${name}: it is ${kindOf(st)}, not a regular file`, 'special');
}

/** Reads a document for the editor or the CLI. Throws DocumentError (one line, names the file); changes nothing. */
export async function readDocument(path: string, maxBytes = MAX_DOCUMENT_BYTES, keepLineEndings = false): Promise<LoadedDocument> {
  const name = basename(path);
  let handle: fsp.FileHandle;
  try {
    checkRegular(await fsp.stat(path), path, 'read');
    // Non-blocking: if the path is swapped for a FIFO after the check, the open still returns.
    handle = await fsp.open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (e) {
    if (e instanceof DocumentError) throw e;
    throw new DocumentError(describeFsError(e, path, 'read'), (e as NodeJS.ErrnoException).code);
  }
  try {
    const st = await handle.stat();
    checkRegular(st, path, 'read');
    if (st.size > maxBytes) {
      throw new DocumentError(`${name} is ${humanSize(st.size)}; Likely opens text files up to ${humanSize(maxBytes)}`, 'too-large');
    }
    // Read at most one byte past the limit, so a file that grows while we read is still refused.
    const buf = Buffer.alloc(Math.min(st.size, maxBytes) + 1);
    let length = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buf, length, buf.length - length, length);
      if (bytesRead === 0) break;
      length += bytesRead;
      if (length === buf.length) break;
    }
    if (length > maxBytes) throw new DocumentError(`${name} is larger than ${humanSize(maxBytes)}; Likely opens text files up to that size`, 'too-large');
    const bytes = buf.subarray(0, length);
    const { text, encoding } = decodeDocument(bytes, path, keepLineEndings);
    return { path, text, format: formatForPath(path), encoding, stamp: stampOf(st, bytes) };
  } catch (e) {
    if (e instanceof DocumentError) throw e;
    throw new DocumentError(describeFsError(e, path, 'read'), (e as NodeJS.ErrnoException).code);
  } finally {
    await handle.close();
  }
}

const TEMP_SUFFIX = '.likely-tmp';

/** The temp file for a write of `target`: hidden, in the same folder, unique. */
export function tempPathFor(target: string): string {
  return join(dirname(target), `.${basename(target)}.${process.pid}-${randomBytes(4).toString('hex')}${TEMP_SUFFIX}`);
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
 * Replaces `path` with `data` atomically (see the top of this file). A symbolic link is followed:
 * the file it points to is replaced and the link stays. An existing file keeps its permissions.
 * Returns the stamp of the written file. Throws DocumentError; on failure the target is untouched
 * and the temp file is removed.
 */
export async function atomicWriteFile(path: string, data: string | Uint8Array): Promise<FileStamp> {
  let target = path;
  let mode = 0o666; // before the umask, as for any new file
  let existed = false;
  try {
    target = await fsp.realpath(path);
    const st = await fsp.stat(target);
    checkRegular(st, path, 'save');
    mode = st.mode & 0o7777;
    existed = true;
  } catch (e) {
    if (e instanceof DocumentError) throw e;
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw new DocumentError(describeFsError(e, path, 'save'), (e as NodeJS.ErrnoException).code);
  }
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
    throw new DocumentError(describeFsError(e, path, 'save'), (e as NodeJS.ErrnoException).code);
  }
  await fsyncDir(dirname(target)).catch(() => {});
  return stampOf(await fsp.stat(target), bytes);
}

/**
 * Removes temp files that a killed save left beside `path` (older than `olderThanMs`, so a save in
 * progress elsewhere is not disturbed). Returns how many were removed. Never throws.
 */
export async function removeStaleTemps(path: string, olderThanMs = 60_000): Promise<number> {
  const dir = dirname(path);
  const prefix = `.${basename(path)}.`;
  let removed = 0;
  try {
    for (const name of await fsp.readdir(dir)) {
      if (!name.startsWith(prefix) || !name.endsWith(TEMP_SUFFIX)) continue;
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
