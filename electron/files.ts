/**
 * Reading and writing documents safely. Plain Node (no Electron), so it is tested directly.
 *
 * Writes are atomic: the bytes go to a temp file in the same folder (same file system, so the
 * rename cannot turn into a copy), the temp file is fsynced, renamed over the target, and the
 * folder is fsynced so the rename itself survives a power cut. A crash or kill at any moment
 * leaves the target either entirely old or entirely new, never empty or partial.
 *
 * Reads refuse what the editor cannot show faithfully, with a one-line reason and without
 * touching anything: folders, files over MAX_DOCUMENT_BYTES, binary data (NUL bytes), text that is
 * not UTF-8 (UTF-16 with a byte-order mark is accepted).
 */
import { randomBytes } from 'node:crypto';
import { constants, promises as fsp, type Stats } from 'node:fs';
import { basename, dirname, extname, join } from 'node:path';
import type { DocumentFormat } from '../common/shell.ts';
import { MAX_TEXT_BYTES } from '../models/cli/args.ts';

/** Largest file the app opens: the CLI's limit (8 MiB, about 1.5 million GPT-2 tokens of prose). */
export const MAX_DOCUMENT_BYTES = MAX_TEXT_BYTES;

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
}

export const DEFAULT_ENCODING: FileEncoding = { lineEnding: '\n', bom: false };

function humanSize(bytes: number): string {
  return bytes >= 1024 * 1024 ? `${(bytes / (1024 * 1024)).toFixed(1)} MB` : `${Math.ceil(bytes / 1024)} KB`;
}

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
      return `cannot save ${name}: the disk is read-only`;
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

/** Decodes file bytes as the editor will show them, or throws a DocumentError saying why not. */
export function decodeDocument(bytes: Uint8Array, path: string): { text: string; encoding: FileEncoding } {
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
  if (lineEnding === '\r\n') text = text.replace(/\r\n/g, '\n');
  return { text, encoding: { lineEnding, bom } };
}

/** The bytes to write for `text` (editor form, \n line endings) in the file's original encoding. */
export function encodeDocument(text: string, encoding: FileEncoding = DEFAULT_ENCODING): Buffer {
  const body = encoding.lineEnding === '\r\n' ? text.replace(/\r?\n/g, '\r\n') : text;
  return Buffer.from(encoding.bom ? '\ufeff' + body : body, 'utf8');
}

export function stampOf(st: Stats): FileStamp {
  return { size: st.size, mtimeMs: st.mtimeMs };
}

/** Reads a document for the editor. Throws DocumentError (one line, names the file); changes nothing. */
export async function readDocument(path: string, maxBytes = MAX_DOCUMENT_BYTES): Promise<LoadedDocument> {
  const name = basename(path);
  let handle: fsp.FileHandle;
  try {
    handle = await fsp.open(path, constants.O_RDONLY);
  } catch (e) {
    throw new DocumentError(describeFsError(e, path, 'read'), (e as NodeJS.ErrnoException).code);
  }
  try {
    const st = await handle.stat();
    if (st.isDirectory()) throw new DocumentError(`${name} is a folder, not a text file`, 'EISDIR');
    if (!st.isFile()) throw new DocumentError(`${name} is not a regular file`, 'special');
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
    const { text, encoding } = decodeDocument(buf.subarray(0, length), path);
    return { path, text, format: formatForPath(path), encoding, stamp: stampOf(st) };
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
    if (st.isDirectory()) throw new DocumentError(`cannot save: ${basename(path)} is a folder`, 'EISDIR');
    mode = st.mode & 0o7777;
    existed = true;
  } catch (e) {
    if (e instanceof DocumentError) throw e;
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw new DocumentError(describeFsError(e, path, 'save'), (e as NodeJS.ErrnoException).code);
  }
  const temp = tempPathFor(target);
  let handle: fsp.FileHandle | undefined;
  try {
    handle = await fsp.open(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, mode);
    if (existed && process.platform !== 'win32') await handle.chmod(mode); // the umask must not change an existing file's permissions
    const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
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
  return stampOf(await fsp.stat(target));
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

/** Size and mtime of `path` now, or null when it does not exist. */
export async function currentStamp(path: string): Promise<FileStamp | null> {
  try {
    return stampOf(await fsp.stat(path));
  } catch {
    return null;
  }
}

export function sameStamp(a: FileStamp | null | undefined, b: FileStamp | null | undefined): boolean {
  return !!a && !!b && a.size === b.size && a.mtimeMs === b.mtimeMs;
}
