/**
 * The security decisions of the main process as pure functions (no Electron), so each one is
 * unit-tested: which pages are ours, which IPC senders are trusted, which messages are well
 * formed, which links may open in the browser, which permissions are granted (none but one), and
 * which files the app:// protocol serves. main.ts and window.ts apply them (see README.md).
 */
import { isAbsolute } from 'node:path';
import { MAX_SAVE_CHARS } from '../common/limits.ts';
import { CallError, isPlainObject } from '../common/rpc.ts';
import { APP_HOST, APP_ORIGIN, APP_SCHEME, SHELL_COMMAND_KINDS, THEME_SOURCES, type ExportReply, type ShellCommand } from '../common/shell.ts';
import { contentSecurityPolicy, resolveStaticPath } from '../node/static-files.ts';

/** The app's Content-Security-Policy, sent with every app:// response: no network at all (the engine is reached over IPC). */
export const CONTENT_SECURITY_POLICY = contentSecurityPolicy();

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


const isIndex = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;

export function validateShellCommand(cmd: unknown): ShellCommand {
  if (!isPlainObject(cmd) || !(SHELL_COMMAND_KINDS as readonly unknown[]).includes(cmd.kind)) throw new CallError('unknown shell command');
  if (cmd.kind === 'set-theme') {
    if (!THEME_SOURCES.includes(cmd.theme as never)) throw new CallError('invalid theme');
    return { kind: 'set-theme', theme: cmd.theme as ShellCommand & { kind: 'set-theme' } extends { theme: infer T } ? T : never };
  }
  return { kind: cmd.kind } as ShellCommand;
}

export function validateContentReply(requestId: unknown, text: unknown): { requestId: number; text: string } {
  if (!isIndex(requestId) || typeof text !== 'string' || text.length > MAX_SAVE_CHARS) throw new CallError('invalid content reply');
  return { requestId, text };
}

/** Largest annotated HTML accepted from the renderer (about 200 bytes per token of the largest document, with room). */
export const MAX_EXPORT_CHARS = 512 * 1024 * 1024;

export function validateExportReply(requestId: unknown, reply: unknown): { requestId: number; reply: ExportReply } {
  if (!isIndex(requestId) || !isPlainObject(reply)) throw new CallError('invalid export reply');
  if (typeof reply.html === 'string' && reply.html.length <= MAX_EXPORT_CHARS) return { requestId, reply: { html: reply.html } };
  if (typeof reply.error === 'string') return { requestId, reply: { error: reply.error.slice(0, 500) } };
  throw new CallError('invalid export reply');
}

/** A dropped file's path from the preload: absolute, no NUL. */
export function validateDroppedPath(path: unknown): string {
  if (typeof path !== 'string' || !path || path.length > 4096 || path.includes('\0') || !isAbsolute(path)) throw new CallError('invalid file path');
  return path;
}

/**
 * Maps an app:// request to a file under `root` (the built renderer), or says why not: only our
 * host, and only what node/static-files.ts serves.
 */
export function resolveAppRequest(url: string, root: string): { path: string; mimeType: string } | { status: 403 | 404 } {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return { status: 404 };
  }
  if (u.protocol !== `${APP_SCHEME}:` || u.host !== APP_HOST) return { status: 403 };
  return resolveStaticPath(u.pathname, root);
}
