/**
 * Downloads a registry model (models/registry.json) from the Hugging Face hub into this browser's
 * storage (model-store.ts), with progress, verified: each file's expected size and checksum come
 * from the registry when it lists them, else from the hub's tree API (the SHA-256 of LFS files;
 * the git blob SHA-1 of small ones), the same facts the desktop downloader trusts
 * (models/manager/README.md). Nothing unverifiable is downloaded: a file with no known size or no
 * checksum (a hub whose listing is empty or lacks them) fails the download before a byte moves.
 * A file is read only up to the size announced (more fails at once), and a hub that stops
 * answering (no headers, or no bytes, for `stallMs`) fails with a line saying so; downloading
 * again resumes. A file that does not match is discarded and the download fails.
 */
import { concatBytes } from '../../common/bytes.ts';
import type { DownloadProgress, ModelErrorInfo, RegistryModel } from '../../common/models-api.ts';
import type { ModelStore } from './model-store.ts';

/** How long the hub may stay silent (no response headers, or no bytes of a file) before the download fails. */
export const STALL_MS = 30_000;


export class DownloadError extends Error {
  constructor(
    readonly info: ModelErrorInfo,
  ) {
    super(info.message);
  }
}

interface Expected {
  bytes: number;
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

const stalled = (what: string, stallMs: number) =>
  new DownloadError({ code: 'network', message: `the hub stopped answering (nothing for ${stallMs / 1000} s while fetching ${what}); downloading again resumes` });

/**
 * Runs `step` (a fetch, a read of the next chunk) and fails when it takes longer than `stallMs`
 * (the stalled step is aborted through `abort`) or when `signal` pauses the download.
 */
async function withinStall<T>(step: Promise<T>, what: string, stallMs: number, abort: () => void): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      reject(stalled(what, stallMs)); // first, so the aborted step's own error does not win the race
      abort();
    }, stallMs);
  });
  try {
    return await Promise.race([step, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

async function hubFetch(url: string, what: string, signal: AbortSignal, stallMs: number): Promise<{ res: Response; abort: AbortController }> {
  // One controller per request: the caller's signal pauses it (its body too), a stall aborts it.
  const abort = new AbortController();
  signal.addEventListener('abort', () => abort.abort(), { once: true, signal: abort.signal });
  let res: Response;
  try {
    res = await withinStall(fetch(url, { signal: abort.signal }), what, stallMs, () => abort.abort());
  } catch (e) {
    if (signal.aborted) throw new DownloadError({ code: 'aborted', message: 'the download was paused' });
    if (e instanceof DownloadError) throw e;
    throw new DownloadError({ code: 'network', message: `the hub could not be reached (${(e as Error).message}); downloading again resumes` });
  }
  if (res.status === 404) throw new DownloadError({ code: 'not-found', message: `${url} was not found on the hub` });
  if (!res.ok) throw new DownloadError({ code: 'http', message: `the hub answered HTTP ${res.status} for ${url}` });
  return { res, abort };
}

/**
 * Each file's expected size and checksums, from the registry or the hub's tree listing. A file
 * whose size or checksum neither gives cannot be verified: the download stops here, before any
 * byte of the model moves (a corrupt model used to be marked installed).
 */
async function expectations(hub: string, entry: RegistryModel, signal: AbortSignal, stallMs: number): Promise<Map<string, Expected>> {
  const out = new Map<string, Expected>();
  const dirs = new Set(entry.files.filter((f) => f.sha256 === null || f.bytes === null).map((f) => f.path.split('/').slice(0, -1).join('/')));
  const tree = new Map<string, TreeEntry>();
  for (const dir of dirs) {
    const { res } = await hubFetch(`${hub}/api/models/${entry.repo}/tree/${entry.revision}${dir ? `/${dir}` : ''}`, `the file list of ${entry.repo}`, signal, stallMs);
    let listing: unknown;
    try {
      listing = await withinStall(res.json(), `the file list of ${entry.repo}`, stallMs, () => void res.body?.cancel().catch(() => {}));
    } catch (e) {
      if (e instanceof DownloadError) throw e;
      throw new DownloadError({ code: 'http', message: `the hub's file list of ${entry.repo} is not JSON (${(e as Error).message})` });
    }
    for (const t of Array.isArray(listing) ? (listing as TreeEntry[]) : []) if (t && typeof t.path === 'string') tree.set(t.path, t);
  }
  for (const f of entry.files) {
    const t = tree.get(f.path);
    const size = f.bytes ?? (isByteCount(t?.lfs?.size) ? t.lfs.size : isByteCount(t?.size) ? t.size : null);
    const sha256 = f.sha256 ?? (typeof t?.lfs?.oid === 'string' && /^[0-9a-f]{64}$/.test(t.lfs.oid) ? t.lfs.oid : null);
    const gitSha1 = t && !t.lfs && typeof t.oid === 'string' && /^[0-9a-f]{40}$/.test(t.oid) ? t.oid : null;
    const missing = [size === null ? 'size' : '', sha256 === null && gitSha1 === null ? 'checksum' : ''].filter(Boolean).join(' or ');
    if (missing) {
      throw new DownloadError({
        code: 'unverifiable',
        message: `the hub lists no ${missing} for ${f.path} of ${entry.repo}${t ? '' : ' (it is not in its file list)'}, so it could not be verified; nothing was downloaded or installed`,
      });
    }
    out.set(f.path, { bytes: size!, sha256, gitSha1 });
  }
  return out;
}

const isByteCount = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;

/** What the downloader needs of the store (model-store.ts; tests give one in memory). */
export type DownloadStore = Pick<ModelStore, 'has' | 'put' | 'markInstalled'>;

export async function downloadToStore(
  hub: string,
  entry: RegistryModel,
  store: DownloadStore,
  signal: AbortSignal,
  onProgress: (p: DownloadProgress) => void,
  opts: { stallMs?: number } = {},
): Promise<void> {
  const stallMs = opts.stallMs ?? STALL_MS;
  const started = Date.now();
  const report = (p: Omit<DownloadProgress, 'id' | 'fileCount' | 'bytesPerSecond' | 'etaSeconds' | 'resumedBytes'> & { resumed: number }) => {
    const seconds = (Date.now() - started) / 1000;
    const speed = seconds > 0.5 ? (p.bytes - p.resumed) / seconds : 0;
    onProgress({ id: entry.id, file: p.file, phase: p.phase, fileIndex: p.fileIndex, fileCount: entry.files.length, bytes: p.bytes, totalBytes: p.totalBytes, resumedBytes: p.resumed, bytesPerSecond: speed, etaSeconds: speed > 0 && p.totalBytes ? (p.totalBytes - p.bytes) / speed : null });
  };
  if (entry.files.length === 0) throw new DownloadError({ code: 'unverifiable', message: `${entry.id} lists no files; nothing was installed` });
  report({ phase: 'connecting', file: entry.files[0]!.path, fileIndex: 0, bytes: 0, totalBytes: 0, resumed: 0 });
  const expected = await expectations(hub, entry, signal, stallMs);
  const totalBytes = entry.files.reduce((n, f) => n + expected.get(f.path)!.bytes, 0);
  let bytes = 0;
  let resumed = 0;
  const record = { id: entry.id, files: [] as { path: string; bytes: number; sha256: string | null }[] };
  for (const [fileIndex, f] of entry.files.entries()) {
    const want = expected.get(f.path)!;
    if (await store.has(entry.id, f.path)) {
      // Completed and verified by an earlier, interrupted download.
      bytes += want.bytes;
      resumed += want.bytes;
      record.files.push({ path: f.path, bytes: want.bytes, sha256: want.sha256 });
      continue;
    }
    // Said at once, so a hub that keeps the next file waiting is not shown as verifying the last one.
    report({ phase: 'downloading', file: f.path, fileIndex, bytes, totalBytes, resumed });
    const { res, abort } = await hubFetch(`${hub}/${entry.repo}/resolve/${entry.revision}/${f.path}`, f.path, signal, stallMs);
    const tooLong = () => new DownloadError({ code: 'checksum', message: `the hub sent more of ${f.path} than the ${want.bytes} bytes it announced; it was discarded, nothing was installed` });
    const announced = Number(res.headers.get('content-length') ?? NaN);
    if (Number.isFinite(announced) && announced > want.bytes) {
      abort.abort();
      throw tooLong();
    }
    if (!res.body) throw new DownloadError({ code: 'network', message: `the hub sent no body for ${f.path}; downloading again resumes` });
    const reader = res.body.getReader();
    const parts: Uint8Array[] = [];
    let fileBytes = 0;
    let last = 0;
    for (;;) {
      let chunk: ReadableStreamReadResult<Uint8Array>;
      try {
        chunk = await withinStall(reader.read(), f.path, stallMs, () => abort.abort());
      } catch (e) {
        if (signal.aborted) throw new DownloadError({ code: 'aborted', message: 'the download was paused; downloading again resumes with this file' });
        if (e instanceof DownloadError) throw e;
        throw new DownloadError({ code: 'network', message: `the connection broke during ${f.path} (${(e as Error).message}); downloading again resumes with this file` });
      }
      if (chunk.done) break;
      fileBytes += chunk.value.length;
      if (fileBytes > want.bytes) {
        // Stop at the announced size: a hub (or proxy) that keeps sending must not fill the tab's memory.
        abort.abort();
        throw tooLong();
      }
      parts.push(chunk.value);
      if (Date.now() - last > 100) {
        last = Date.now();
        report({ phase: 'downloading', file: f.path, fileIndex, bytes: bytes + fileBytes, totalBytes, resumed });
      }
    }
    report({ phase: 'verifying', file: f.path, fileIndex, bytes: bytes + fileBytes, totalBytes, resumed });
    if (fileBytes !== want.bytes) throw new DownloadError({ code: 'checksum', message: `${f.path} is ${fileBytes} bytes, the hub says ${want.bytes}; it was discarded` });
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
