/**
 * The little HTTP the downloader needs, on node's http/https: HEAD for a file's metadata and GET
 * with a Range, following redirects (the hub answers large files with a redirect to its CDN).
 * Neither @huggingface/transformers nor @huggingface/hub resumes a download with Range, so this
 * stays here, small and tested against a local server (download.test.ts).
 */
import { request as httpRequest, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { ModelManagerError } from './errors.ts';

export interface HttpResponse {
  status: number;
  headers: IncomingHttpHeaders;
  /** The URL that answered, after redirects. */
  url: string;
  /** Headers of the first response of the chain (the hub puts X-Linked-Etag/X-Linked-Size on its redirect). */
  firstHeaders: IncomingHttpHeaders;
  body: IncomingMessage;
}

export interface RequestOptions {
  method?: 'GET' | 'HEAD';
  headers?: Record<string, string>;
  signal?: AbortSignal;
  /** Stop at a redirect that carries X-Linked-Etag (HEAD: that response has the metadata). */
  stopAtLinkedRedirect?: boolean;
  /** Idle socket timeout: how long the server may send nothing (no headers, no bytes); default 30 s, which a slow but live connection never reaches. */
  timeoutMs?: number;
}

const MAX_REDIRECTS = 8;
/** Headers never forwarded to another origin (a CDN must not see the hub token or our If-Range). */
const ORIGIN_BOUND = ['authorization', 'if-range'];

export function request(url: string, opts: RequestOptions = {}): Promise<HttpResponse> {
  return follow(url, opts, { ...opts.headers }, 0, null);
}

async function follow(url: string, opts: RequestOptions, headers: Record<string, string>, hops: number, first: IncomingHttpHeaders | null): Promise<HttpResponse> {
  const res = await once(url, opts, headers);
  const firstHeaders = first ?? res.headers;
  const status = res.statusCode ?? 0;
  const location = res.headers.location;
  if (status >= 300 && status < 400 && location) {
    if (opts.stopAtLinkedRedirect && res.headers['x-linked-etag']) {
      return { status, headers: res.headers, url, firstHeaders, body: res };
    }
    res.resume();
    if (hops >= MAX_REDIRECTS) throw new ModelManagerError('http', `too many redirects for ${url}`);
    const next = new URL(location, url);
    const nextHeaders = { ...headers };
    if (next.origin !== new URL(url).origin) for (const h of Object.keys(nextHeaders)) if (ORIGIN_BOUND.includes(h.toLowerCase())) delete nextHeaders[h];
    return follow(next.href, opts, nextHeaders, hops + 1, firstHeaders);
  }
  return { status, headers: res.headers, url, firstHeaders, body: res };
}

function once(url: string, opts: RequestOptions, headers: Record<string, string>): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      reject(new ModelManagerError('http', `bad URL ${url}`));
      return;
    }
    const send = parsed.protocol === 'https:' ? httpsRequest : parsed.protocol === 'http:' ? httpRequest : null;
    if (!send) {
      reject(new ModelManagerError('http', `unsupported URL scheme in ${url}`));
      return;
    }
    const req = send(parsed, {
      method: opts.method ?? 'GET',
      headers: { 'user-agent': 'likely-model-manager/1', 'accept-encoding': 'identity', ...headers },
      signal: opts.signal,
    });
    // An idle socket (no headers yet, or no bytes of the body) fails the request, and the body the
    // caller may be reading gets the same error, so it says the server went silent, not "reset".
    let response: IncomingMessage | null = null;
    const idleMs = opts.timeoutMs ?? 30_000;
    req.setTimeout(idleMs, () => {
      const err = Object.assign(new Error(`no data from ${parsed.host} for ${idleMs / 1000} s`), { code: 'ETIMEDOUT' });
      response?.destroy(err);
      req.destroy(err);
    });
    req.once('response', (res) => {
      response = res;
      resolve(res);
    });
    req.once('error', reject);
    req.end();
  });
}

/** ETag without quotes or the weak prefix. */
export function normalizeEtag(etag: string | string[] | undefined): string | null {
  const value = Array.isArray(etag) ? etag[0] : etag;
  if (!value) return null;
  return value.replace(/^W\//, '').replace(/^"(.*)"$/, '$1');
}

export function headerNumber(value: string | string[] | undefined): number | null {
  const v = Array.isArray(value) ? value[0] : value;
  if (v === undefined || !/^\d+$/.test(v.trim())) return null;
  return Number(v);
}

/** Parses "bytes START-END/TOTAL". */
export function parseContentRange(value: string | undefined): { start: number; end: number; total: number | null } | null {
  const m = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(value?.trim() ?? '');
  if (!m) return null;
  return { start: Number(m[1]), end: Number(m[2]), total: m[3] === '*' ? null : Number(m[3]) };
}
