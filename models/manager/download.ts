/**
 * Downloads one file safely: into `<dest>.partial` (with `<dest>.partial.json` remembering the
 * server's ETag and size), resuming with `Range: bytes=N-` after a pause, a dropped connection or a
 * restart of the app; restarting the file when the server's copy changed (ETag, size or
 * Content-Range total differ); then verifying the whole file before it gets its final name.
 *
 * Checksums, strongest first: the SHA-256 in the registry; else the hub's X-Linked-Etag, which
 * for LFS/Xet files is the file's SHA-256; else the hub's ETag, which for small git files is the
 * git blob SHA-1 (sha1("blob <size>\0" + content)). With none of these only the size is checked.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { asManagerError, ModelManagerError } from './errors.ts';
import { headerNumber, normalizeEtag, parseContentRange, request } from './http.ts';

export interface RemoteFile {
  url: string;
  /** ETag of the content (the hub's X-Linked-Etag for LFS files), normalized; null when the server sends none. */
  etag: string | null;
  size: number | null;
  /** The hub's X-Repo-Commit: the revision to pin the rest of the download to. */
  commit: string | null;
}

export interface FileExpectation {
  /** Name shown in messages, e.g. "onnx/model.onnx". */
  name: string;
  sha256: string | null;
  bytes: number | null;
}

export type VerifiedBy = 'sha256' | 'git-sha1' | 'size';

export interface DownloadedFile {
  sha256: string;
  bytes: number;
  verifiedBy: VerifiedBy;
}

export interface FileDownloadOptions {
  signal?: AbortSignal;
  headers?: Record<string, string>;
  /** Called with each chunk's length as it is written. */
  onBytes?: (n: number) => void;
  /** Called when bytes counted before are dropped (the file restarts): the new count on disk. */
  onReset?: (bytesOnDisk: number, reason: string) => void;
  /** How long the server may send nothing (no headers, no bytes) before the download fails; default STALL_MS. */
  stallMs?: number;
}

const SHA256 = /^[0-9a-f]{64}$/;
const GIT_SHA1 = /^[0-9a-f]{40}$/;

const short = (h: string) => h.slice(0, 12) + '…';

function httpError(status: number, url: string, name: string): ModelManagerError {
  if (status === 404) return new ModelManagerError('not-found', `${name} was not found on the server (404 for ${url})`);
  if (status === 401 || status === 403) return new ModelManagerError('http', `the server refused ${name} (HTTP ${status}; a gated or private repo needs HF_TOKEN)`);
  return new ModelManagerError('http', `the server answered HTTP ${status} for ${name} (${url})`);
}

/** HEAD of a hub file: its content ETag, size and commit, from the redirect when the hub answers with one. */
/** How long the hub may stay silent (no response, or no bytes of a file) before a request fails. */
export const STALL_MS = 30_000;

export async function headRemote(url: string, name: string, opts: { signal?: AbortSignal; headers?: Record<string, string>; stallMs?: number } = {}): Promise<RemoteFile> {
  let res;
  try {
    res = await request(url, { method: 'HEAD', signal: opts.signal, headers: opts.headers, stopAtLinkedRedirect: true, timeoutMs: opts.stallMs ?? STALL_MS });
  } catch (e) {
    throw asManagerError(e, name);
  }
  res.body.resume();
  if (res.status >= 400) throw httpError(res.status, url, name);
  const h = res.headers;
  const f = res.firstHeaders;
  const etag = normalizeEtag(h['x-linked-etag'] ?? f['x-linked-etag'] ?? h.etag);
  const size = headerNumber(h['x-linked-size'] ?? f['x-linked-size']) ?? (res.status === 200 ? headerNumber(h['content-length']) : null);
  const commit = ((h['x-repo-commit'] ?? f['x-repo-commit']) as string | undefined) ?? null;
  return { url, etag, size, commit };
}

interface PartialInfo {
  url: string;
  etag: string | null;
  size: number | null;
}

async function readPartialInfo(path: string): Promise<PartialInfo | null> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as PartialInfo;
  } catch {
    return null;
  }
}

async function sizeOf(path: string): Promise<number | null> {
  try {
    return (await stat(path)).size;
  } catch {
    return null;
  }
}

/** SHA-256 and git blob SHA-1 of a file, streamed. */
export async function hashFile(path: string, size: number): Promise<{ sha256: string; gitSha1: string }> {
  const sha256 = createHash('sha256');
  const sha1 = createHash('sha1').update(`blob ${size}\0`);
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) {
    sha256.update(chunk as Buffer);
    sha1.update(chunk as Buffer);
  }
  return { sha256: sha256.digest('hex'), gitSha1: sha1.digest('hex') };
}

/** The checksum a file must have: the registry's, else what the server's ETag says. */
export function expectedChecksum(expect: FileExpectation, remote: RemoteFile): { kind: 'sha256' | 'git-sha1'; value: string } | null {
  if (expect.sha256) return { kind: 'sha256', value: expect.sha256.toLowerCase() };
  const etag = remote.etag?.toLowerCase();
  if (etag && SHA256.test(etag)) return { kind: 'sha256', value: etag };
  if (etag && GIT_SHA1.test(etag)) return { kind: 'git-sha1', value: etag };
  return null;
}

/**
 * Checks the server's metadata against the registry before any byte moves, so a file updated on
 * the hub fails in a second rather than after gigabytes.
 */
export function checkRemoteAgainstRegistry(expect: FileExpectation, remote: RemoteFile): void {
  const etag = remote.etag?.toLowerCase();
  if (expect.sha256 && etag && SHA256.test(etag) && etag !== expect.sha256.toLowerCase()) {
    throw new ModelManagerError(
      'checksum',
      `${expect.name} on the hub (sha256 ${short(etag)}) is not the file in the registry (sha256 ${short(expect.sha256)}); the hub copy was updated, so models/registry.json needs the new checksum`,
    );
  }
  if (expect.bytes !== null && remote.size !== null && expect.bytes !== remote.size) {
    throw new ModelManagerError('checksum', `${expect.name} on the hub is ${remote.size} bytes, the registry says ${expect.bytes}; the hub copy was updated, so models/registry.json needs updating`);
  }
}

/**
 * Downloads `remote` to `dest` (resuming `<dest>.partial`), verifies it and renames it into place.
 * On a checksum failure the partial file is deleted; on any other failure it is kept for resuming.
 */
export async function downloadFile(remote: RemoteFile, dest: string, expect: FileExpectation, opts: FileDownloadOptions = {}): Promise<DownloadedFile> {
  const partial = `${dest}.partial`;
  const infoPath = `${dest}.partial.json`;
  const size = expect.bytes ?? remote.size;

  // Resume only what was downloaded from this same server content.
  let offset = (await sizeOf(partial)) ?? 0;
  if (offset > 0) {
    const info = await readPartialInfo(infoPath);
    const sameContent = info !== null && info.etag === remote.etag && info.size === remote.size;
    if (!sameContent || (size !== null && offset > size)) {
      await rm(partial, { force: true });
      opts.onReset?.(0, info && info.etag !== remote.etag ? `${expect.name} changed on the server; restarting it` : `the partial ${expect.name} does not match the server's file; restarting it`);
      offset = 0;
    }
  }
  try {
    await writeFile(infoPath, JSON.stringify({ url: remote.url, etag: remote.etag, size: remote.size } satisfies PartialInfo));
  } catch (e) {
    throw asManagerError(e, infoPath);
  }

  // At most one restart per call: a second change in the middle of one call is reported.
  for (let attempt = 0; size === null || offset < size; attempt++) {
    const headers: Record<string, string> = { ...opts.headers };
    if (offset > 0) {
      headers.range = `bytes=${offset}-`;
      // Only a strong ETag can guard a range; the http layer drops If-Range on a cross-origin redirect.
      if (remote.etag) headers['if-range'] = `"${remote.etag}"`;
    }
    let res;
    try {
      res = await request(remote.url, { headers, signal: opts.signal, timeoutMs: opts.stallMs ?? STALL_MS });
    } catch (e) {
      throw asManagerError(e, expect.name);
    }
    let append = false;
    if (res.status === 206) {
      const range = parseContentRange(res.headers['content-range']);
      const total = range?.total ?? null;
      if (!range || range.start !== offset || (size !== null && total !== null && total !== size)) {
        res.body.destroy();
        if (attempt > 0) throw new ModelManagerError('changed', `${expect.name} keeps changing on the server; try again later`);
        await rm(partial, { force: true });
        opts.onReset?.(0, `${expect.name} changed on the server (its size is now ${total ?? 'unknown'}); restarting it`);
        offset = 0;
        continue;
      }
      append = true;
    } else if (res.status === 200) {
      const length = headerNumber(res.headers['content-length']);
      if (offset > 0) opts.onReset?.(0, `the server sent ${expect.name} from the start (it changed, or ignores Range)`);
      offset = 0;
      if (size !== null && length !== null && length !== size) {
        res.body.destroy();
        throw new ModelManagerError('changed', `${expect.name} on the server is ${length} bytes, expected ${size}; the file changed on the server`);
      }
    } else if (res.status === 416) {
      res.body.resume();
      await rm(partial, { force: true });
      opts.onReset?.(0, `the partial ${expect.name} is longer than the server's file; restarting it`);
      offset = 0;
      if (attempt > 0) throw new ModelManagerError('changed', `${expect.name}: the server rejects every range; try again later`);
      continue;
    } else {
      res.body.resume();
      throw httpError(res.status, res.url, expect.name);
    }

    let written = offset;
    const counter = new Transform({
      transform(chunk: Buffer, _enc, done) {
        written += chunk.length;
        if (size !== null && written > size) {
          done(new ModelManagerError('changed', `${expect.name} on the server is longer than ${size} bytes; the file changed on the server`));
          return;
        }
        opts.onBytes?.(chunk.length);
        done(null, chunk);
      },
    });
    try {
      await pipeline(res.body, counter, createWriteStream(partial, { flags: append ? 'a' : 'w' }), { signal: opts.signal });
    } catch (e) {
      if (opts.signal?.aborted) throw new ModelManagerError('aborted', `download paused at ${written} bytes of ${expect.name}`);
      if (e instanceof ModelManagerError) throw e;
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOSPC' || code === 'EDQUOT' || code === 'EACCES' || code === 'EROFS') throw asManagerError(e, partial);
      if (code === 'ETIMEDOUT') throw new ModelManagerError('network', `the server stopped sending ${expect.name} after ${written} of ${size ?? '?'} bytes (${(e as Error).message}); retry to resume`);
      throw new ModelManagerError('network', `the connection broke after ${written} of ${size ?? '?'} bytes of ${expect.name} (${code ?? (e as Error).message}); retry to resume`);
    }
    offset = written;
    if (size === null) break;
    if (offset < size) throw new ModelManagerError('network', `the server closed the connection after ${offset} of ${size} bytes of ${expect.name}; retry to resume`);
  }

  const bytes = (await sizeOf(partial)) ?? 0;
  if (size !== null && bytes !== size) throw new ModelManagerError('network', `${expect.name} is ${bytes} bytes on disk, expected ${size}; retry to resume`);
  const { sha256, gitSha1 } = await hashFile(partial, bytes);
  const want = expectedChecksum(expect, remote);
  const got = want?.kind === 'git-sha1' ? gitSha1 : sha256;
  if (want && got !== want.value) {
    await rm(partial, { force: true });
    await rm(infoPath, { force: true });
    throw new ModelManagerError('checksum', `${expect.name} failed its checksum (${want.kind} expected ${short(want.value)}, got ${short(got)}); it was deleted, retry to download it again`);
  }
  try {
    await rename(partial, dest);
    await rm(infoPath, { force: true });
  } catch (e) {
    throw asManagerError(e, dest);
  }
  return { sha256, bytes, verifiedBy: want?.kind ?? 'size' };
}
