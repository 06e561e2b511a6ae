/**
 * For tests: a Hugging Face hub on 127.0.0.1 that serves real files the way huggingface.co does.
 *   HEAD/GET /<owner>/<name>/resolve/<revision>/<path>
 *     small files: 200, ETag "<git blob sha1>", X-Repo-Commit
 *     LFS files (*.onnx, *.onnx_data): 302 to a CDN on another port, X-Linked-Etag "<sha256>",
 *     X-Linked-Size, X-Repo-Commit
 *   CDN GET /<sha256>: the bytes, with Range (206 + Content-Range) and If-Range like S3 (its own ETag).
 *   GET /api/models/<owner>/<name>/tree/<revision>[/<dir>]: the folder's entries as the hub lists
 *     them (path, size, git blob oid; lfs { oid: sha256, size } for LFS files), for the browser's
 *     downloader (web/worker/hub-download.ts), which cannot read headers of a redirect.
 *   Every response allows any origin (CORS), as huggingface.co and its CDN do, so a page can fetch.
 * Hooks make it misbehave the ways a real network does: cut a transfer after N bytes, stall one
 * (stop sending, or never answer at all), serve corrupt bytes under the right checksum, answer 404,
 * change a file, or list fewer files (or none) in its tree API.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, relative } from 'node:path';

export const COMMIT = 'c0ffee0000000000000000000000000000000042';

export interface LoggedRequest {
  server: 'hub' | 'cdn';
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
}

interface Entry {
  data: Buffer;
  sha256: string;
  gitSha1: string;
}

export class LocalHub {
  readonly log: LoggedRequest[] = [];
  private readonly repos = new Map<string, Map<string, Entry>>();
  private readonly byHash = new Map<string, Entry>();
  /** Destroy the socket after sending this many body bytes of the file, on its next GET (once). */
  cutAfter = new Map<string, number>();
  /** Serve these files with one byte flipped (checksums still announce the true content). */
  corrupt = new Set<string>();
  /** Every CDN response is sent in chunks of this size with a pause between them (ms). */
  chunkDelayMs = 0;
  /** Stop sending the file after this many body bytes on its next GET (once), keeping the connection open: a hub that stalls. */
  stallAfter = new Map<string, number>();
  /** Requests for these files ("config.json"), or for the tree API ("api/tree"), get no answer at all (no headers), until removed. */
  silent = new Set<string>();
  /** CDN responses without Content-Length (chunked), as a proxy may send them. */
  chunked = false;
  /** Body bytes the CDN has written, by file path (what a client made it send before it stopped reading). */
  readonly sent = new Map<string, number>();
  /** A mirror that sends no checksums (no ETag, no X-Linked-Etag) or no sizes (no Content-Length, no X-Linked-Size) on the hub's answers. */
  noChecksums = false;
  noSizes = false;
  /** The tree API lists only these entries of each folder (null: all); [] is a hub whose file list is empty. */
  treeFilter: ((entry: { path: string; size?: number; oid?: string; lfs?: { oid: string; size: number } }) => object | null) | null = null;
  private hub!: Server;
  private cdn!: Server;
  endpoint = '';
  private cdnBase = '';

  /** Serves every file under `dir` as repo `repo`. */
  addRepo(repo: string, dir: string): void {
    const files = new Map<string, Entry>();
    const walk = (d: string) => {
      for (const e of readdirSync(d, { withFileTypes: true })) {
        const p = join(d, e.name);
        if (e.isDirectory()) walk(p);
        else if (statSync(p).isFile() && !e.name.startsWith('.')) files.set(relative(dir, p).split('\\').join('/'), entry(readFileSync(p)));
      }
    };
    walk(dir);
    this.repos.set(repo, files);
    for (const f of files.values()) this.byHash.set(f.sha256, f);
  }

  /** Replaces (or adds) one file's content, as a push to the repo would. */
  setFile(repo: string, path: string, data: Buffer): void {
    const e = entry(data);
    this.repos.get(repo)!.set(path, e);
    this.byHash.set(e.sha256, e);
  }

  /** Where the hub redirects LFS files (its own origin, like the hub's CDN). */
  get cdnEndpoint(): string {
    return this.cdnBase;
  }

  file(repo: string, path: string): Entry {
    return this.repos.get(repo)!.get(path)!;
  }

  async start(): Promise<this> {
    this.cdn = createServer((req, res) => {
      this.log.push({ server: 'cdn', method: req.method ?? '', url: req.url ?? '', headers: req.headers });
      allowCors(res);
      const [hash, name] = (req.url ?? '').slice(1).split('?name=');
      const e = this.byHash.get(hash ?? '');
      if (!e) {
        res.writeHead(404).end();
        return;
      }
      const path = decodeURIComponent(name ?? '');
      const cdnEtag = `"cdn-${e.sha256.slice(0, 16)}"`;
      let body = e.data;
      if (this.corrupt.has(path)) {
        body = Buffer.from(body);
        body[body.length >> 1]! ^= 0xff;
      }
      let start = 0;
      const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
      const ifRange = req.headers['if-range'];
      let status = 200;
      const headers: Record<string, string | number> = { etag: cdnEtag, 'accept-ranges': 'bytes' };
      if (range && (!ifRange || ifRange === cdnEtag)) {
        start = Number(range[1]);
        if (start >= body.length) {
          res.writeHead(416, { 'content-range': `bytes */${body.length}` }).end();
          return;
        }
        status = 206;
        headers['content-range'] = `bytes ${start}-${body.length - 1}/${body.length}`;
      }
      if (!this.chunked) headers['content-length'] = body.length - start;
      res.writeHead(status, headers);
      if (req.method === 'HEAD') {
        res.end();
        return;
      }
      const cut = this.cutAfter.get(path);
      if (cut !== undefined) this.cutAfter.delete(path);
      const stall = this.stallAfter.get(path);
      if (stall !== undefined) this.stallAfter.delete(path);
      this.send(res, body.subarray(start), cut, stall, (n) => this.sent.set(path, (this.sent.get(path) ?? 0) + n));
    });
    this.hub = createServer((req, res) => {
      this.log.push({ server: 'hub', method: req.method ?? '', url: req.url ?? '', headers: req.headers });
      allowCors(res);
      const tree = /^\/api\/models\/([^/]+\/[^/]+)\/tree\/([^/]+)(?:\/(.*))?$/.exec(req.url ?? '');
      if (tree && this.silent.has('api/tree')) return;
      if (tree) {
        const files = this.repos.get(tree[1]!);
        const dir = tree[3] ? decodeURIComponent(tree[3]).replace(/\/$/, '') : '';
        if (!files) {
          res.writeHead(404, { 'x-error-code': 'RepoNotFound' }).end();
          return;
        }
        const listing = [...files]
          .filter(([path]) => path.split('/').slice(0, -1).join('/') === dir)
          .map(([path, e]) => ({ type: 'file', path, size: e.data.length, oid: e.gitSha1, ...(isLfs(path) ? { lfs: { oid: e.sha256, size: e.data.length } } : {}) }))
          .map((entry) => (this.treeFilter ? this.treeFilter(entry) : entry))
          .filter(Boolean);
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(listing));
        return;
      }
      const m = /^\/([^/]+\/[^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(req.url ?? '');
      const files = m ? this.repos.get(m[1]!) : undefined;
      const path = m ? decodeURIComponent(m[3]!) : '';
      if (this.silent.has(path)) return; // the socket stays open with no answer
      const e = files?.get(path);
      if (!e) {
        res.writeHead(404, { 'x-error-code': files ? 'EntryNotFound' : 'RepoNotFound' }).end('Entry not found');
        return;
      }
      const common = { 'x-repo-commit': COMMIT };
      const facts = (h: Record<string, string | number>) => {
        for (const k of Object.keys(h)) if ((this.noChecksums && /etag/.test(k)) || (this.noSizes && /size|length/.test(k))) delete h[k];
        return h;
      };
      if (isLfs(path)) {
        res.writeHead(
          302,
          facts({
            ...common,
            location: `${this.cdnBase}/${e.sha256}?name=${encodeURIComponent(path)}`,
            'x-linked-etag': `"${e.sha256}"`,
            'x-linked-size': e.data.length,
            etag: `"${e.sha256}"`,
          }),
        );
        res.end();
        return;
      }
      res.writeHead(200, facts({ ...common, etag: `"${e.gitSha1}"`, 'content-length': e.data.length }));
      if (req.method === 'HEAD') res.end();
      else res.end(this.corrupt.has(path) ? Buffer.concat([e.data.subarray(0, -1), Buffer.from([e.data.at(-1)! ^ 1])]) : e.data);
    });
    const listen = (s: Server) => new Promise<number>((resolve) => s.listen(0, '127.0.0.1', () => resolve((s.address() as AddressInfo).port)));
    this.endpoint = `http://127.0.0.1:${await listen(this.hub)}`;
    this.cdnBase = `http://127.0.0.1:${await listen(this.cdn)}`;
    return this;
  }

  private send(res: import('node:http').ServerResponse, body: Buffer, cutAfter?: number, stallAfter?: number, onSent?: (n: number) => void): void {
    const chunk = 256 * 1024;
    let pos = 0;
    const limit = Math.min(cutAfter ?? body.length, stallAfter ?? body.length);
    const next = () => {
      if (pos >= limit && stallAfter !== undefined) return; // silent from here on, the connection left open
      if (pos >= limit) {
        if (cutAfter !== undefined) {
          // Let the bytes reach the client, then drop the connection mid-body.
          const socket = res.socket!;
          const drop = () => setTimeout(() => socket.destroy(), 50);
          if (socket.writableLength === 0) drop();
          else socket.once('drain', drop);
        } else res.end();
        return;
      }
      if (res.destroyed) return; // the client went away
      const end = Math.min(limit, pos + chunk);
      onSent?.(end - pos);
      const ok = res.write(body.subarray(pos, end));
      pos = end;
      const go = () => (this.chunkDelayMs ? setTimeout(next, this.chunkDelayMs) : setImmediate(next));
      if (ok) go();
      else res.once('drain', go);
    };
    next();
  }

  /** Requests for one file on either server, in order. */
  requestsFor(path: string): LoggedRequest[] {
    const e = [...this.repos.values()].map((files) => files.get(path)).find(Boolean);
    return this.log.filter((r) => r.url.endsWith('/' + path.split('/').map(encodeURIComponent).join('/')) || (e && r.url.startsWith(`/${e.sha256}`)));
  }

  async close(): Promise<void> {
    for (const s of [this.hub, this.cdn]) {
      s.closeAllConnections();
      await new Promise((r) => s.close(r));
    }
  }
}

const isLfs = (path: string) => /\.onnx(_data)?$/.test(path);

function allowCors(res: import('node:http').ServerResponse): void {
  res.setHeader('access-control-allow-origin', '*');
  res.setHeader('access-control-expose-headers', 'ETag, X-Repo-Commit, X-Linked-Etag, X-Linked-Size, Content-Range, Accept-Ranges');
  // A cross-origin-isolated page (COEP require-corp) may load what the response says it may.
  res.setHeader('cross-origin-resource-policy', 'cross-origin');
}

function entry(data: Buffer): Entry {
  return {
    data,
    sha256: createHash('sha256').update(data).digest('hex'),
    gitSha1: createHash('sha1').update(`blob ${data.length}\0`).update(data).digest('hex'),
  };
}
