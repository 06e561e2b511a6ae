// Helpers for browser tests and benchmarks of the web mode: build the renderer (or the static
// build) when its sources are newer than the build, start the real `serve` (engine with the
// embedded model) on a free port, launch Chromium (e2e/chromium.ts), and stop everything reliably.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright';
import { EMBEDDED_MODEL_DIR } from '../models/src/paths.ts';
import { findChromium } from './chromium.ts';
import './page-globals.ts';

export const ROOT = resolve(import.meta.dirname, '..');
export const ARTIFACTS = join(ROOT, 'e2e', 'artifacts');
export const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-sync'];

function newestMtime(dir: string): number {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.name === 'dist' || e.name === 'node_modules' || e.name.endsWith('.test.ts')) continue;
    const p = join(dir, e.name);
    newest = Math.max(newest, e.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return newest;
}

/** Builds renderer/dist if it is missing or older than renderer/ or common/ sources. */
export function ensureRendererBuilt(): void {
  const index = join(ROOT, 'renderer', 'dist', 'index.html');
  const built = existsSync(index) ? statSync(index).mtimeMs : 0;
  if (built > Math.max(newestMtime(join(ROOT, 'renderer')), newestMtime(join(ROOT, 'common')))) return;
  const r = spawnSync('npm', ['run', '--silent', 'build:renderer'], { cwd: ROOT, encoding: 'utf8', timeout: 180_000 });
  if (r.status !== 0) throw new Error(`renderer build failed:\n${r.stdout}\n${r.stderr}`);
}

/**
 * Builds dist/web (`npm run build:web`) if it is missing or older than what goes into it: the
 * renderer, common code, the worker and page (web/), the engine (models/src), the embedded model.
 */
export function ensureWebBuilt(): void {
  const index = join(ROOT, 'dist', 'web', 'index.html');
  const built = existsSync(index) ? statSync(index).mtimeMs : 0;
  const sources = ['renderer', 'common', 'web', join('models', 'src'), join('models', 'embedded')].map((d) => newestMtime(join(ROOT, d)));
  if (built > Math.max(...sources, statSync(join(ROOT, 'models', 'registry.json')).mtimeMs)) return;
  const r = spawnSync('npm', ['run', '--silent', 'build:web'], { cwd: ROOT, encoding: 'utf8', timeout: 300_000 });
  if (r.status !== 0) throw new Error(`static build failed:\n${r.stdout}\n${r.stderr}`);
}

export interface Served {
  url: string;
  port: number;
  proc: ChildProcess;
  /** Everything the server printed (for failure messages). */
  output: () => string;
  stop: () => Promise<void>;
}

/** Starts `tsx server/serve.ts --port 0` and resolves with its URL once it prints it. */
export async function startServe(extraArgs: string[] = [], timeoutMs = 60_000): Promise<Served> {
  const proc = spawn(process.execPath, ['--import', 'tsx', 'server/serve.ts', '--port', '0', ...extraArgs], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, LIKELY_PORT: '' },
  });
  let out = '';
  proc.stdout!.on('data', (d) => (out += String(d)));
  proc.stderr!.on('data', (d) => (out += String(d)));
  const stop = async () => {
    if (proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise<void>((r) => proc.once('exit', () => r()));
    proc.kill('SIGTERM');
    const timer = setTimeout(() => proc.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  };
  try {
    const url = await new Promise<string>((res, rej) => {
      const timer = setTimeout(() => rej(new Error(`serve did not print its URL within ${timeoutMs} ms:\n${out}`)), timeoutMs);
      const check = () => {
        const m = /Likely is running at (http:\/\/127\.0\.0\.1:\d+\/)/.exec(out);
        if (m) {
          clearTimeout(timer);
          res(m[1]!);
        }
      };
      proc.stdout!.on('data', check);
      proc.once('exit', (code) => {
        clearTimeout(timer);
        rej(new Error(`serve exited with ${code}:\n${out}`));
      });
    });
    return { url, port: Number(new URL(url).port), proc, output: () => out, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}

const CHROMIUM = findChromium();

/** A browser test's `skip` option: false where Chromium is installed, else the reason, naming what to install. */
export const NO_CHROMIUM: string | false = 'reason' in CHROMIUM && CHROMIUM.reason;

export function launchChromium(): Promise<Browser> {
  if ('reason' in CHROMIUM) throw new Error(CHROMIUM.reason);
  return chromium.launch({ executablePath: CHROMIUM.path, args: CHROMIUM_ARGS, timeout: 60_000 });
}

/** Collects console errors and page errors (a CSP violation is a console error). */
export function watchErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  page.on('pageerror', (e) => errors.push(e.message));
  return errors;
}

/** Waits until every token of the editor's current text is scored and drawn (none pending). */
export async function waitScored(page: Page, timeout = 60_000, polling: number | 'raf' = 'raf'): Promise<void> {
  await page.waitForFunction(() => window.likelyEditorState!.done && document.querySelectorAll('.ProseMirror .tok.pending').length === 0, null, { timeout, polling });
}

/** What a browser test of the served app works with; filled in by `servedApp`'s before hook. */
export interface ServedApp {
  served: Served;
  browser: Browser;
  /** A private temporary folder (the models folder is `models/` in it), removed after the tests. */
  dir: string;
}

/**
 * Registers the before/after hooks most browser tests share: the renderer built, `serve` with the
 * embedded model and a private models folder, and Chromium; all stopped and removed afterwards.
 * Without Chromium nothing starts (the tests skip with NO_CHROMIUM).
 */
export function servedApp(name: string): ServedApp {
  const app = {} as ServedApp;
  before(async () => {
    if (NO_CHROMIUM) return;
    mkdirSync(ARTIFACTS, { recursive: true });
    app.dir = mkdtempSync(join(tmpdir(), `likely-${name}-`));
    ensureRendererBuilt();
    app.served = await startServe(['--model', EMBEDDED_MODEL_DIR, '--models-dir', join(app.dir, 'models')]);
    app.browser = await launchChromium();
  });
  after(async () => {
    await app.browser?.close();
    await app.served?.stop();
    if (app.dir) rmSync(app.dir, { recursive: true, force: true });
  });
  return app;
}

/** What a test of both browser shells works with: the served app and the static build, one Chromium. */
export interface BothShells {
  served: Served;
  /** The static build on a plain static server (static-server.ts). */
  site: { url: string; close(): Promise<void> };
  browser: Browser;
  dir: string;
  /** The URL of a shell. */
  url(shell: 'served app' | 'static build'): string;
}

/**
 * Registers the hooks of a test that runs the same flow in the served app and in the static build:
 * both built, `serve` with the embedded model, the static build on a plain server, Chromium.
 */
export function bothShells(name: string): BothShells {
  const app = {
    url: (shell: 'served app' | 'static build') => (shell === 'served app' ? app.served.url : app.site.url),
  } as BothShells;
  before(async () => {
    if (NO_CHROMIUM) return;
    app.dir = mkdtempSync(join(tmpdir(), `likely-${name}-`));
    ensureRendererBuilt();
    ensureWebBuilt();
    const { serveStatic } = await import('./static-server.ts');
    app.served = await startServe(['--model', EMBEDDED_MODEL_DIR, '--models-dir', join(app.dir, 'models')]);
    app.site = await serveStatic(join(ROOT, 'dist', 'web'));
    app.browser = await launchChromium();
  });
  after(async () => {
    await app.browser?.close();
    await app.served?.stop();
    await app.site?.close();
    if (app.dir) rmSync(app.dir, { recursive: true, force: true });
  });
  return app;
}
