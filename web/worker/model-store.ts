/**
 * Models downloaded from the hub, kept in this browser's Cache Storage (one cache, `likely-models`):
 * each file under `/.likely-models/<id>/<path>` of this origin, and `likely-install.json` written
 * last, so a model is installed only when every file is in and verified. A download that stops
 * keeps the files it completed and resumes with the next one (the browser offers no partial writes
 * into a cached response).
 */
import type { FetchedModel } from './embedded-model.ts';
import { inMemoryModel } from './embedded-model.ts';

const CACHE = 'likely-models';
const INSTALLED = 'likely-install.json';

export interface InstallRecord {
  id: string;
  files: { path: string; bytes: number; sha256: string | null }[];
}

const key = (id: string, path: string) => new URL(`/.likely-models/${encodeURIComponent(id)}/${path}`, self.location.origin).href;

export class ModelStore {
  private cache: Promise<Cache> | null = null;

  private open(): Promise<Cache> {
    if (typeof caches === 'undefined') return Promise.reject(new Error('this browser offers no Cache Storage here (it needs https or localhost)'));
    return (this.cache ??= caches.open(CACHE));
  }

  async installed(id: string): Promise<InstallRecord | null> {
    const res = await (await this.open()).match(key(id, INSTALLED));
    return res ? ((await res.json()) as InstallRecord) : null;
  }

  /** Bytes of the files a stopped download already completed. */
  async partialBytes(id: string, paths: readonly string[]): Promise<number> {
    const cache = await this.open();
    let bytes = 0;
    for (const p of paths) {
      const res = await cache.match(key(id, p));
      if (res) bytes += Number(res.headers.get('content-length') ?? 0);
    }
    return bytes;
  }

  async has(id: string, path: string): Promise<boolean> {
    return !!(await (await this.open()).match(key(id, path)));
  }

  async put(id: string, path: string, bytes: Uint8Array): Promise<void> {
    await (await this.open()).put(key(id, path), new Response(bytes as Uint8Array<ArrayBuffer>, { headers: { 'content-length': String(bytes.length) } }));
  }

  async markInstalled(record: InstallRecord): Promise<void> {
    await (await this.open()).put(key(record.id, INSTALLED), new Response(JSON.stringify(record), { headers: { 'content-type': 'application/json' } }));
  }

  async read(id: string): Promise<FetchedModel> {
    const record = await this.installed(id);
    if (!record) throw new Error(`${id} is not installed in this browser`);
    const cache = await this.open();
    const files = new Map<string, Uint8Array>();
    for (const f of record.files) {
      const res = await cache.match(key(id, f.path));
      if (!res) throw new Error(`${id}'s ${f.path} is missing from this browser's storage; download it again`);
      files.set(f.path, new Uint8Array(await res.arrayBuffer()));
    }
    return inMemoryModel(files);
  }

  async remove(id: string): Promise<void> {
    const cache = await this.open();
    const prefix = key(id, '');
    for (const req of await cache.keys()) if (req.url.startsWith(prefix)) await cache.delete(req);
  }
}
