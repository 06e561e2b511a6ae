/**
 * Downloads a registry model (models/registry.json) from the Hugging Face hub into this browser's
 * storage (model-store.ts), with progress, verified: each file's expected size and checksum come
 * from the registry when it lists them, else from the hub's tree API (the SHA-256 of LFS files;
 * the git blob SHA-1 of small ones), the same facts the desktop downloader trusts
 * (models/manager/README.md). A file that does not match is discarded and the download fails.
 */
import { concatBytes } from '../../common/bytes.ts';
import type { DownloadProgress, ModelErrorInfo, RegistryModel } from '../../common/models-api.ts';
import type { ModelStore } from './model-store.ts';


export class DownloadError extends Error {
  constructor(
    readonly info: ModelErrorInfo,
  ) {
    super(info.message);
  }
}

interface Expected {
  bytes: number | null;
  sha256: string | null;
  gitSha1: string | null;
}

interface TreeEntry {
  type: string;
  path: string;
  size: number;
  oid: string;
  lfs?: { oid: string; size: number };
}

const hex = (buf: ArrayBuffer) => Array.from(new Uint8Array(buf), (b) => b.toString(16).padStart(2, '0')).join('');

async function digest(algorithm: 'SHA-256' | 'SHA-1', parts: Uint8Array[]): Promise<string> {
  const all = parts.length === 1 ? parts[0]! : concatBytes(parts);
  return hex(await crypto.subtle.digest(algorithm, all as Uint8Array<ArrayBuffer>));
}

async function hubFetch(url: string, signal: AbortSignal): Promise<Response> {
  let res: Response;
  try {
    res = await fetch(url, { signal });
  } catch (e) {
    if (signal.aborted) throw new DownloadError({ code: 'aborted', message: 'the download was paused' });
    throw new DownloadError({ code: 'network', message: `the hub could not be reached (${(e as Error).message}); downloading again resumes` });
  }
  if (res.status === 404) throw new DownloadError({ code: 'not-found', message: `${url} was not found on the hub` });
  if (!res.ok) throw new DownloadError({ code: 'http', message: `the hub answered HTTP ${res.status} for ${url}` });
  return res;
}

/** Each file's expected size and checksums, from the registry or the hub's tree listing. */
async function expectations(hub: string, entry: RegistryModel, signal: AbortSignal): Promise<Map<string, Expected>> {
  const out = new Map<string, Expected>();
  const dirs = new Set(entry.files.filter((f) => f.sha256 === null || f.bytes === null).map((f) => f.path.split('/').slice(0, -1).join('/')));
  const tree = new Map<string, TreeEntry>();
  for (const dir of dirs) {
    const res = await hubFetch(`${hub}/api/models/${entry.repo}/tree/${entry.revision}${dir ? `/${dir}` : ''}`, signal);
    for (const t of (await res.json()) as TreeEntry[]) tree.set(t.path, t);
  }
  for (const f of entry.files) {
    const t = tree.get(f.path);
    out.set(f.path, { bytes: f.bytes ?? t?.lfs?.size ?? t?.size ?? null, sha256: f.sha256 ?? t?.lfs?.oid ?? null, gitSha1: t && !t.lfs ? t.oid : null });
  }
  return out;
}

export async function downloadToStore(
  hub: string,
  entry: RegistryModel,
  store: ModelStore,
  signal: AbortSignal,
  onProgress: (p: DownloadProgress) => void,
): Promise<void> {
  const started = Date.now();
  const report = (p: Omit<DownloadProgress, 'id' | 'fileCount' | 'bytesPerSecond' | 'etaSeconds' | 'resumedBytes'> & { resumed: number }) => {
    const seconds = (Date.now() - started) / 1000;
    const speed = seconds > 0.5 ? (p.bytes - p.resumed) / seconds : 0;
    onProgress({ id: entry.id, file: p.file, phase: p.phase, fileIndex: p.fileIndex, fileCount: entry.files.length, bytes: p.bytes, totalBytes: p.totalBytes, resumedBytes: p.resumed, bytesPerSecond: speed, etaSeconds: speed > 0 && p.totalBytes ? (p.totalBytes - p.bytes) / speed : null });
  };
  report({ phase: 'connecting', file: entry.files[0]!.path, fileIndex: 0, bytes: 0, totalBytes: 0, resumed: 0 });
  const expected = await expectations(hub, entry, signal);
  const totalBytes = entry.files.reduce((n, f) => n + (expected.get(f.path)?.bytes ?? f.approxBytes), 0);
  let bytes = 0;
  let resumed = 0;
  const record = { id: entry.id, files: [] as { path: string; bytes: number; sha256: string | null }[] };
  for (const [fileIndex, f] of entry.files.entries()) {
    const want = expected.get(f.path)!;
    if (await store.has(entry.id, f.path)) {
      // Completed and verified by an earlier, interrupted download.
      const size = want.bytes ?? 0;
      bytes += size;
      resumed += size;
      record.files.push({ path: f.path, bytes: size, sha256: want.sha256 });
      continue;
    }
    const res = await hubFetch(`${hub}/${entry.repo}/resolve/${entry.revision}/${f.path}`, signal);
    const reader = res.body!.getReader();
    const parts: Uint8Array[] = [];
    let fileBytes = 0;
    let last = 0;
    for (;;) {
      let chunk: ReadableStreamReadResult<Uint8Array>;
      try {
        chunk = await reader.read();
      } catch (e) {
        if (signal.aborted) throw new DownloadError({ code: 'aborted', message: 'the download was paused; downloading again resumes with this file' });
        throw new DownloadError({ code: 'network', message: `the connection broke during ${f.path} (${(e as Error).message}); downloading again resumes with this file` });
      }
      if (chunk.done) break;
      parts.push(chunk.value);
      fileBytes += chunk.value.length;
      if (Date.now() - last > 100) {
        last = Date.now();
        report({ phase: 'downloading', file: f.path, fileIndex, bytes: bytes + fileBytes, totalBytes, resumed });
      }
    }
    report({ phase: 'verifying', file: f.path, fileIndex, bytes: bytes + fileBytes, totalBytes, resumed });
    if (want.bytes !== null && fileBytes !== want.bytes) throw new DownloadError({ code: 'checksum', message: `${f.path} is ${fileBytes} bytes, the hub says ${want.bytes}; it was discarded` });
    const data = concatBytes(parts);
    parts.length = 0;
    if (want.sha256 && (await digest('SHA-256', [data])) !== want.sha256) throw new DownloadError({ code: 'checksum', message: `${f.path} does not match its SHA-256; it was discarded` });
    if (!want.sha256 && want.gitSha1 && (await digest('SHA-1', [new TextEncoder().encode(`blob ${data.length}\0`), data])) !== want.gitSha1) {
      throw new DownloadError({ code: 'checksum', message: `${f.path} does not match the hub's checksum; it was discarded` });
    }
    try {
      await store.put(entry.id, f.path, data);
    } catch (e) {
      throw new DownloadError({ code: 'disk-full', message: `this browser would not store ${f.path} (${(e as Error).message}): free some space for this site and download again` });
    }
    bytes += fileBytes;
    record.files.push({ path: f.path, bytes: fileBytes, sha256: want.sha256 });
  }
  report({ phase: 'installing', file: entry.files.at(-1)!.path, fileIndex: entry.files.length - 1, bytes, totalBytes, resumed });
  await store.markInstalled(record);
  report({ phase: 'done', file: entry.files.at(-1)!.path, fileIndex: entry.files.length - 1, bytes, totalBytes, resumed });
}
