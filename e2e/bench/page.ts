/**
 * Shared by the browser benchmark and the screenshot script: the real `serve` (engine process with
 * the embedded model, a private models folder) and Chromium (e2e/chromium.ts), a page of the editor, a text
 * of about N GPT-2 tokens, and the page-side timing helpers.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Browser, Page } from 'playwright';
import { brownProse } from '../../models/bench/corpus.ts';
import { EMBEDDED_MODEL_DIR } from '../../models/src/paths.ts';
import { loadTokenizer } from '../../models/src/model-folder.ts';
import type { Tokenizer } from '../../models/src/tokenizer.ts';
import '../page-globals.ts';
import { ensureRendererBuilt, launchChromium, startServe, waitScored as waitScoredInHarness, watchErrors, type Served } from '../web-harness.ts';

export interface Session {
  served: Served;
  browser: Browser;
  stop: () => Promise<void>;
}

/** Builds the renderer if needed, starts `serve --model models/embedded` and Chromium. */
export async function startSession(): Promise<Session> {
  ensureRendererBuilt();
  const modelsDir = mkdtempSync(join(tmpdir(), 'likely-bench-models-'));
  const served = await startServe(['--model', EMBEDDED_MODEL_DIR, '--models-dir', modelsDir]);
  let browser: Browser;
  try {
    browser = await launchChromium();
  } catch (e) {
    await served.stop();
    throw e;
  }
  return {
    served,
    browser,
    stop: async () => {
      await browser.close().catch(() => {});
      await served.stop();
      rmSync(modelsDir, { recursive: true, force: true });
    },
  };
}

/** Opens the editor in a new page (fresh storage) and waits for the model; errors collects console errors. */
export async function openEditor(s: Session, viewport = { width: 1280, height: 800 }): Promise<{ page: Page; errors: string[]; close: () => Promise<void> }> {
  const context = await s.browser.newContext({ viewport, deviceScaleFactor: 1 });
  context.setDefaultTimeout(120_000);
  const page = await context.newPage();
  // tsx keeps function names with a helper the page does not have; functions passed to evaluate may use it.
  await page.addInitScript({ content: 'window.__name = (f) => f;' });
  // Measured and pictured as a returning user: without the first-run note (FirstRunNote.svelte).
  await page.addInitScript({ content: "localStorage.setItem('likely:first-run-note-dismissed', '1');" });
  const errors = watchErrors(page);
  await page.goto(s.served.url);
  await page.waitForSelector('.ProseMirror', { timeout: 60_000 });
  await page.waitForFunction(() => window.likelyEditorState?.model !== null, null, { timeout: 120_000 });
  return { page, errors, close: () => context.close() };
}

// Loaded once, before any page runs (the loader is asynchronous; proseOfTokens is not).
const tokenizer: Tokenizer = await loadTokenizer(EMBEDDED_MODEL_DIR);

/** Brown-corpus prose cut at a paragraph end near `tokens` GPT-2 tokens; returns the exact count too. */
export function proseOfTokens(tokens: number, firstFile = 0): { text: string; tokens: number } {
  const paragraphs = brownProse(tokens * 6, firstFile).split('\n\n');
  let text = '';
  let count = 0;
  for (const p of paragraphs) {
    const next = text ? `${text}\n\n${p}` : p;
    const n = tokenizer.encode(next).ids.length;
    if (n > tokens && count > 0 && Math.abs(n - tokens) > Math.abs(count - tokens)) break;
    text = next;
    count = n;
    if (n >= tokens) break;
  }
  return { text, tokens: count };
}

/** Resolves after the page's next frame has been rendered (a task posted from requestAnimationFrame). */
export function afterNextFrame(page: Page): Promise<void> {
  return page.evaluate(() => new Promise<void>((resolve) => requestAnimationFrame(() => setTimeout(resolve, 0))));
}

/** Waits until every token of the current text is scored and none is drawn as pending. */
/** waitScored with a long timeout, polling every 100 ms so waiting does not load the page's frames. */
export const waitScored = (page: Page, timeout = 600_000): Promise<void> => waitScoredInHarness(page, timeout, 100);

export function quantile(xs: readonly number[], q: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const k = Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1));
  return s[k]!;
}

export const round = (x: number, digits = 2): number => Math.round(x * 10 ** digits) / 10 ** digits;

/** Runs `main` when `moduleUrl` is the script node was started with (a bench file is also imported by another). */
export function runWhenEntry(moduleUrl: string, main: () => Promise<void>): void {
  if (moduleUrl !== pathToFileURL(process.argv[1]!).href) return;
  main().then(
    () => process.exit(0),
    (e: unknown) => {
      console.error(e instanceof Error ? e.stack : e);
      process.exit(1);
    },
  );
}
