/**
 * The security decisions of the main process as pure functions (no Electron), so each one is
 * unit-tested: which pages are ours, which IPC senders are trusted, which messages are well
 * formed, which links may open in the browser, which permissions are granted (none but one), and
 * which files the app:// protocol serves. main.ts and window.ts apply them (see README.md).
 */
import { extname, isAbsolute, join, normalize, relative, sep } from 'node:path';
import type { MethodName } from '../common/api.ts';
import { APP_HOST, APP_ORIGIN, APP_SCHEME, SHELL_COMMAND_KINDS, THEME_SOURCES, type ExportReply, type ShellCommand } from '../common/shell.ts';
import { MAX_DOCUMENT_BYTES } from './files.ts';

/**
 * The app's Content-Security-Policy, sent with every app:// response. Scripts only from the app
 * itself; no network at all (the engine is reached over IPC); inline styles are allowed because
 * ProseMirror and Svelte set `style` attributes (token colors).
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "worker-src 'self'",
  "manifest-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-src 'none'",
  "frame-ancestors 'none'",
  "object-src 'none'",
].join('; ');

export const APP_INDEX_URL = `${APP_ORIGIN}/index.html`;

/** True for a URL of our own pages: app://likely/… (and nothing else: not file://, not http://). */
export function isAppUrl(url: string | undefined | null): boolean {
  if (!url) return false;
  try {
    const u = new URL(url);
    return u.protocol === `${APP_SCHEME}:` && u.host === APP_HOST && !u.username && !u.password;
  } catch {
    return false;
  }
}

/** Hosts whose https links the app opens in the system browser (model pages, the project). */
export const EXTERNAL_HOSTS = ['huggingface.co', 'github.com'];

export function isAllowedExternalUrl(url: string): boolean {
  try {
    const u = new URL(url);
    return u.protocol === 'https:' && !u.username && !u.password && u.port === '' && EXTERNAL_HOSTS.includes(u.hostname);
  } catch {
    return false;
  }
}

/** The one permission the app's own pages get: writing plain text to the clipboard (a "copy" button). Everything else is denied. */
export function isPermissionAllowed(permission: string, requestingUrl: string | undefined): boolean {
  return permission === 'clipboard-sanitized-write' && isAppUrl(requestingUrl);
}

export interface SenderInfo {
  /** URL of the frame that sent the message (event.senderFrame.url). */
  frameUrl: string | undefined;
  /** The sending frame is the top frame of its page (not an iframe). */
  isMainFrame: boolean;
  /** The sending page belongs to a window this app created. */
  knownWindow: boolean;
}

/** Every IPC handler runs only for our own top-level page in one of our windows. */
export function isTrustedSender(s: SenderInfo): boolean {
  return s.knownWindow && s.isMainFrame && isAppUrl(s.frameUrl);
}

export class IpcValidationError extends Error {}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isIndex = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;

/** Largest text an `update` may carry: the largest document (UTF-16 code units, generous for any UTF-8 file of MAX_DOCUMENT_BYTES). */
export const MAX_UPDATE_CHARS = MAX_DOCUMENT_BYTES * 2;

const ENGINE_PARAMS: Record<MethodName, (p: Record<string, unknown>) => boolean> = {
  update: (p) => isIndex(p.version) && typeof p.text === 'string' && p.text.length <= MAX_UPDATE_CHARS,
  topK: (p) => isIndex(p.version) && isIndex(p.index) && Number.isSafeInteger(p.k) && (p.k as number) >= 1 && (p.k as number) <= 100,
  predictions: (p) =>
    isIndex(p.version) && isIndex(p.from) && isIndex(p.to) && (p.to as number) >= (p.from as number) && Number.isSafeInteger(p.k) && (p.k as number) >= 1 && (p.k as number) <= 10,
  suggestSpan: (p) => isIndex(p.version) && isIndex(p.index),
  infill: (p) =>
    isIndex(p.version) &&
    isIndex(p.start) &&
    isIndex(p.end) &&
    (p.end as number) >= (p.start as number) &&
    (p.k === undefined || (Number.isSafeInteger(p.k) && (p.k as number) >= 1 && (p.k as number) <= 50)) &&
    (p.prefixOnly === undefined || typeof p.prefixOnly === 'boolean'),
  modelInfo: () => true,
};

/** Checks an engine call from the renderer before it reaches the engine process. Throws IpcValidationError. */
export function validateEngineCall(method: unknown, params: unknown): { method: MethodName; params: Record<string, unknown> } {
  if (typeof method !== 'string' || !Object.hasOwn(ENGINE_PARAMS, method)) throw new IpcValidationError(`unknown engine method ${JSON.stringify(method)}`);
  const m = method as MethodName;
  if (!isObject(params) || !ENGINE_PARAMS[m](params)) throw new IpcValidationError(`invalid parameters for ${m}`);
  return { method: m, params };
}

export function validateShellCommand(cmd: unknown): ShellCommand {
  if (!isObject(cmd) || !(SHELL_COMMAND_KINDS as readonly unknown[]).includes(cmd.kind)) throw new IpcValidationError('unknown shell command');
  if (cmd.kind === 'set-theme') {
    if (!THEME_SOURCES.includes(cmd.theme as never)) throw new IpcValidationError('invalid theme');
    return { kind: 'set-theme', theme: cmd.theme as ShellCommand & { kind: 'set-theme' } extends { theme: infer T } ? T : never };
  }
  return { kind: cmd.kind } as ShellCommand;
}

export function validateContentReply(requestId: unknown, text: unknown): { requestId: number; text: string } {
  if (!isIndex(requestId) || typeof text !== 'string' || text.length > MAX_UPDATE_CHARS) throw new IpcValidationError('invalid content reply');
  return { requestId, text };
}

/** Largest annotated HTML accepted from the renderer (about 200 bytes per token of the largest document, with room). */
export const MAX_EXPORT_CHARS = 512 * 1024 * 1024;

export function validateExportReply(requestId: unknown, reply: unknown): { requestId: number; reply: ExportReply } {
  if (!isIndex(requestId) || !isObject(reply)) throw new IpcValidationError('invalid export reply');
  if (typeof reply.html === 'string' && reply.html.length <= MAX_EXPORT_CHARS) return { requestId, reply: { html: reply.html } };
  if (typeof reply.error === 'string') return { requestId, reply: { error: reply.error.slice(0, 500) } };
  if (reply.unsupported === true) return { requestId, reply: { unsupported: true } };
  throw new IpcValidationError('invalid export reply');
}

/** A dropped file's path from the preload: absolute, no NUL. */
export function validateDroppedPath(path: unknown): string {
  if (typeof path !== 'string' || !path || path.length > 4096 || path.includes('\0') || !isAbsolute(path)) throw new IpcValidationError('invalid file path');
  return path;
}

const MIME_TYPES: Record<string, string> = {
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
 * Maps an app:// request to a file under `root` (the built renderer), or says why not. Only our
 * host, only GET-able files under root (no `..`, no absolute paths, no encoded separators), and
 * only known file types.
 */
export function resolveAppRequest(url: string, root: string): { path: string; mimeType: string } | { status: 403 | 404 } {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return { status: 404 };
  }
  if (u.protocol !== `${APP_SCHEME}:` || u.host !== APP_HOST) return { status: 403 };
  let pathname: string;
  try {
    pathname = decodeURIComponent(u.pathname);
  } catch {
    return { status: 404 };
  }
  if (pathname.includes('\0') || pathname.includes('\\')) return { status: 403 };
  if (pathname === '/' || pathname === '') pathname = '/index.html';
  const full = normalize(join(root, pathname));
  const rel = relative(root, full);
  if (!rel || rel.startsWith('..') || isAbsolute(rel) || rel.split(sep).includes('..')) return { status: 403 };
  const mimeType = MIME_TYPES[extname(full).toLowerCase()];
  if (!mimeType) return { status: 404 };
  return { path: full, mimeType };
}
