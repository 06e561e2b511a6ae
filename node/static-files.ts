/**
 * Serving the built renderer, the same way in both shells: which request paths map to which files
 * (under the root only, known types only) and the one Content-Security-Policy its pages get.
 * Electron's app:// protocol (electron/security.ts) and the local web server (server/serve.ts) use
 * it; neither has rules of its own.
 */
import { extname, isAbsolute, join, normalize, relative, sep } from 'node:path';

export const MIME_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.map': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.ttf': 'font/ttf',
  '.txt': 'text/plain; charset=utf-8',
  '.wasm': 'application/wasm',
};

/**
 * Maps a URL path (still percent-encoded) to a file under `root`, or says why not: no `..`, no
 * encoded separators or NUL, nothing outside root, only known file types. A path ending in `/`
 * means its index.html.
 */
export function resolveStaticPath(urlPath: string, root: string): { path: string; mimeType: string } | { status: 403 | 404 } {
  let pathname: string;
  try {
    pathname = decodeURIComponent(urlPath);
  } catch {
    return { status: 404 };
  }
  if (pathname.includes('\0') || pathname.includes('\\')) return { status: 403 };
  if (pathname === '' || pathname.endsWith('/')) pathname += 'index.html';
  const full = normalize(join(root, pathname));
  const rel = relative(root, full);
  if (!rel || rel.startsWith('..') || isAbsolute(rel) || rel.split(sep).includes('..')) return { status: 403 };
  const mimeType = MIME_TYPES[extname(full).toLowerCase()];
  if (!mimeType) return { status: 404 };
  return { path: full, mimeType };
}

/**
 * The Content-Security-Policy of the app's pages: scripts, styles, fonts and images only from the
 * app itself, no inline or eval'd script, no inline style elements (token colors are set through
 * the CSSOM, which CSP allows), no frames, forms or plugins. `connect` adds where the page may
 * open connections beyond its own origin (the web server's WebSocket; Electron has none: IPC).
 */
export function contentSecurityPolicy(connect: string[] = []): string {
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data: blob:",
    "font-src 'self' data:",
    ["connect-src 'self'", ...connect].join(' '),
    "worker-src 'self'",
    "manifest-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-src 'none'",
    "frame-ancestors 'none'",
    "object-src 'none'",
  ].join('; ');
}
