// The static build (`npm run build:web` → dist/web) in Debian's Chromium, served by a plain static
// file server (static-server.ts, not serve.ts) with every request to another origin blocked: the
// engine runs in the page's Web Worker on onnxruntime-web, with the embedded model fetched from
// the same origin. Typed text gets the same colors and labels as `likely score --json` (also in
// rank mode and the dark theme); an edit
// re-scores from the edit on; the popover's rewrites equal `likely infill --json --k 8`; the HTML
// export downloads; Save writes Markdown through the File System Access API; a reload keeps the
// draft (browser storage) and colors it again. Also without cross-origin isolation
// (one WebAssembly thread): the model loads and scores, and its attention view (onnxruntime-web
// running the same patched graph) equals `likely attention --json --full`.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright';
import type { AttentionResult } from '../common/api.ts';
import './page-globals.ts';
import { serveStatic, type StaticServer } from './static-server.ts';
import { assertMatchesCli, type ScoreJson } from './token-checks.ts';
import { ensureWebBuilt, launchChromium, NO_CHROMIUM, ROOT, waitScored, watchErrors } from './web-harness.ts';

const WAIT = { timeout: 90_000 };
const WEB = join(ROOT, 'dist', 'web');
let browser: Browser;
let isolated: StaticServer;
let dir: string;

before(async () => {
  if (NO_CHROMIUM) return;
  dir = mkdtempSync(join(tmpdir(), 'likely-static-web-'));
  ensureWebBuilt();
  isolated = await serveStatic(WEB, { isolated: true });
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await isolated?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function likely(args: string[], text: string): unknown {
  const file = join(dir, `doc-${Math.random().toString(36).slice(2)}.txt`);
  writeFileSync(file, text);
  const r = spawnSync('npm', ['run', '--silent', 'likely', '--', args[0]!, file, ...args.slice(1), '--json'], { cwd: ROOT, encoding: 'utf8', maxBuffer: 1 << 26, timeout: 120_000 });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout);
}

interface Opened {
  context: BrowserContext;
  page: Page;
  errors: string[];
  /** Requests to other origins, all aborted. */
  blocked: string[];
}

/** A new browser profile on `server`, every request to another origin aborted and recorded. */
async function open(server: StaticServer): Promise<Opened> {
  const context = await browser.newContext({ viewport: { width: 1200, height: 760 } });
  context.setDefaultTimeout(60_000);
  const blocked: string[] = [];
  await context.route('**/*', (route) => {
    const url = route.request().url();
    if (new URL(url).origin === server.origin) return route.continue();
    blocked.push(url);
    return route.abort('blockedbyclient');
  });
  // tsx names inner functions with a helper the page lacks; functions passed to evaluate may use it.
  await context.addInitScript({ content: 'window.__name = (f) => f;' });
  const page = await context.newPage();
  const errors = watchErrors(page);
  await load(page, server.url);
  return { context, page, errors, blocked };
}

async function load(page: Page, url?: string): Promise<void> {
  if (url) await page.goto(url);
  else await page.reload();
  await page.waitForSelector('.ProseMirror', WAIT);
  await page.waitForFunction(() => window.likelyEditorState?.model !== null, null, WAIT);
  // The page runs under its own strict policy (web/index.html); a violation is a console error, which close() fails on.
  const csp = await page.getAttribute('meta[http-equiv="Content-Security-Policy"]', 'content');
  assert.match(csp ?? '', /(^|; )script-src 'self'(;|$)/);
  assert.match(csp ?? '', /(^|; )connect-src 'self'(;|$)/);
}

async function close(o: Opened): Promise<void> {
  await o.context.close();
  assert.deepEqual(o.errors, [], 'no console errors');
  assert.deepEqual(o.blocked, [], 'nothing was requested from another origin');
}

const DRAFT = ['The quick brown fox jumps over the lazy dog and recieved a bone.', 'A café serves 日本語 tea 🍵 to the people who walk by every morning.'];

test('static build: colors equal `likely score`, an edit re-scores from the edit on, rewrites equal `likely infill`, a reload keeps the draft', { skip: NO_CHROMIUM, timeout: 240_000 }, async () => {
  const o = await open(isolated);
  const { page } = o;
  const model = await page.evaluate(() => window.likelyEditorState!.model!);
  assert.equal(model.id, 'embedded');
  assert.equal(model.device, 'wasm', 'headless Chromium without a GPU runs WebAssembly');
  assert.equal(await page.evaluate(() => crossOriginIsolated), true, 'the server sends COOP/COEP, so threads are available');
  assert.ok(isolated.requests.includes('/model/onnx/model.onnx'), 'the model came from the page\'s own origin');
  // The first visit says what the built-in model is, and where the real one is.
  assert.match(await page.locator('[data-note="first-run"]').innerText({ timeout: 30_000 }), /small stand-in for GPT-2/);

  // Typed text: every token drawn once in the CLI's color, with its numbers.
  await page.click('.ProseMirror');
  for (let i = 0; i < DRAFT.length; i++) {
    if (i > 0) await page.keyboard.press('Enter');
    await page.keyboard.type(DRAFT[i]!);
  }
  await waitScored(page, 90_000);
  const text = await page.evaluate(() => window.likelyEditor!.getPlainText());
  assert.equal(text, DRAFT.join('\n\n'));
  const cli = likely(['score'], text) as ScoreJson;
  assert.equal(cli.model, model.name, 'the same model on both sides');
  await assertMatchesCli(page, cli);
  assert.equal(await page.locator('[data-status="device"]').innerText(), 'CPU (WebAssembly)');
  // Other modes and the dark theme color the same scores.
  const view = async (item: string) => {
    await page.click('#view-menu');
    await page.click(`[data-menu-item="${item}"]`);
  };
  await page.click('[data-mode="rank"]');
  await view('dark');
  await assertMatchesCli(page, cli, 'rank', 'dark');
  await page.click('[data-mode="logprob"]');
  await view('dark');

  // An edit in the second paragraph: the chunks that come back start at the edit.
  await page.evaluate(() => {
    const w = window as unknown as { __chunks: { firstChanged: number; from: number; tokens: unknown[]; version: number }[]; likelyEditorState: { engine: { on: (e: string, f: (d: never) => void) => void } } };
    w.__chunks = [];
    w.likelyEditorState.engine.on('scores', (d) => w.__chunks.push(d));
  });
  // Caret at the end of the first paragraph, through ProseMirror (the toolbar had the focus).
  await page.evaluate(() => {
    type Sel = { create(doc: unknown, pos: number): unknown };
    const view = window.likelyEditorState!.view as unknown as { state: { doc: { firstChild: { content: { size: number } } }; selection: { constructor: Sel }; tr: { setSelection(s: unknown): unknown } }; dispatch(tr: unknown): void; focus(): void };
    const { state } = view;
    view.dispatch(state.tr.setSelection(state.selection.constructor.create(state.doc, 1 + state.doc.firstChild.content.size)));
    view.focus();
  });
  await page.keyboard.type(' Then it rests.');
  await waitScored(page, 90_000);
  const edited = await page.evaluate(() => window.likelyEditor!.getPlainText());
  assert.equal(edited, `${DRAFT[0]} Then it rests.\n\n${DRAFT[1]}`);
  const cliEdited = likely(['score'], edited) as ScoreJson;
  await assertMatchesCli(page, cliEdited);
  const tokensBefore = cliEdited.tokens.filter((t) => t.end <= DRAFT[0]!.length).length;
  const chunks = await page.evaluate(() => (window as unknown as { __chunks: { firstChanged: number; from: number; tokens: unknown[]; version: number }[] }).__chunks.map((c) => ({ firstChanged: c.firstChanged, from: c.from, count: c.tokens.length, version: c.version })));
  assert.ok(chunks.length > 0, 'scores came back');
  for (const c of chunks) assert.ok(c.firstChanged >= tokensBefore - 1 && c.from >= c.firstChanged, `re-scored from token ${c.firstChanged}; the edit is after token ${tokensBefore}`);
  const last = chunks.at(-1)!.version;
  const resent = chunks.filter((c) => c.version === last).reduce((n, c) => n + c.count, 0);
  assert.ok(resent <= cliEdited.tokens.length - tokensBefore + 1, `only tokens from the edit on were sent again (${resent} of ${cliEdited.tokens.length})`);

  // Rewrites for the misspelled word (Alt+click): the same texts in the same order as the CLI.
  const idx = await page.evaluate(() => window.likelyEditorState!.scores()!.mirror.tokens.findIndex((t) => t.text === ' rec'));
  assert.ok(idx > 0, 'a word to click');
  await page.locator(`.ProseMirror [data-i="${idx}"]`).first().click({ modifiers: ['Alt'] });
  await page.waitForSelector('.popover .suggestions button', WAIT);
  const shown = await page.$eval('.popover .suggestions', (ol) => ({
    start: Number((ol as HTMLElement).dataset.start),
    end: Number((ol as HTMLElement).dataset.end),
    texts: [...ol.querySelectorAll<HTMLButtonElement>('button')].map((b) => b.dataset.text!),
  }));
  const infill = likely(['infill', '--from', String(shown.start), '--to', String(shown.end), '--k', '8'], edited) as { suggestions: { text: string }[] };
  assert.ok(infill.suggestions.length > 0, 'the CLI proposes rewrites');
  assert.deepEqual(shown.texts, infill.suggestions.map((s) => s.text), 'the popover lists the CLI\'s rewrites in its order');
  await page.keyboard.press('Escape');

  // Export: a self-contained annotated HTML file, downloaded.
  const download = page.waitForEvent('download');
  await page.click('#file-menu');
  await page.click('[data-menu-item="export-html"]');
  const html = readFileSync((await (await download).path())!, 'utf8');
  assert.match(html, /^<!doctype html>/i);
  assert.ok(html.includes('quick') && html.includes(model.name), 'the export holds the draft and names the model');
  assert.doesNotMatch(html, /<script[^>]+src=|<link[^>]+href="http/i, 'nothing loaded from elsewhere');

  // Save through the File System Access API (its picker stood in for): Markdown written to the
  // picked file, and the next save writes there again without asking.
  await page.evaluate(() => {
    const w = window as unknown as { __writes: string[]; __asked: number; showSaveFilePicker: () => Promise<unknown> };
    w.__writes = [];
    w.__asked = 0;
    w.showSaveFilePicker = async () => {
      w.__asked++;
      return { name: 'draft.md', getFile: async () => new File([], 'draft.md'), createWritable: async () => ({ write: async (d: string) => void w.__writes.push(d), close: async () => {} }) };
    };
  });
  await page.click('#file-menu');
  await page.click('[data-menu-item="save"]');
  await page.keyboard.press('Control+s');
  await page.waitForFunction(() => (window as unknown as { __writes: string[] }).__writes.length === 2);
  const saved = await page.evaluate(() => {
    const w = window as unknown as { __writes: string[]; __asked: number };
    return { writes: w.__writes, asked: w.__asked, markdown: window.likelyEditor!.getMarkdown() };
  });
  assert.equal(saved.asked, 1, 'asked for a file once');
  assert.deepEqual(saved.writes, [saved.markdown, saved.markdown]);
  assert.equal(saved.markdown, `${edited}\n`);

  // A reload right after a keystroke (within the save's debounce) keeps the draft, colored again.
  await page.focus('.ProseMirror');
  await page.keyboard.press('Control+End');
  await page.keyboard.type('!');
  await load(page);
  const reloaded = await page.evaluate(() => window.likelyEditor!.getPlainText());
  assert.equal(reloaded, `${edited}!`, 'the draft survived the reload');
  await waitScored(page, 90_000);
  await assertMatchesCli(page, likely(['score'], reloaded) as ScoreJson);
  await close(o);
});

test('static build without cross-origin isolation: one WebAssembly thread, the model loads and scores; a new text sharing a prefix is scored whole; attention equals `likely attention`', { skip: NO_CHROMIUM, timeout: 180_000 }, async () => {
  const plain = await serveStatic(WEB);
  try {
    const o = await open(plain);
    assert.equal(await o.page.evaluate(() => crossOriginIsolated), false);
    await o.page.evaluate(() => window.likelyEditor!.setPlainText('In 1961, the Department of Agriculture reported that'));
    await waitScored(o.page, 90_000);
    const tokens = await o.page.evaluate(() => window.likelyEditorState!.scores()!.mirror.tokens.length);
    assert.ok(tokens > 5, `scored ${tokens} tokens`);
    // A new text that starts like the old one (a file opened again after an edit at its end): the
    // new editor state holds no scores, so every token must come again, not only those after the
    // shared prefix (they were lost before `fresh` was sent).
    await o.page.evaluate(() => window.likelyEditor!.setPlainText('In 1961, the Department of Agriculture reported that prices rose.'));
    await waitScored(o.page, 30_000);
    const again = await o.page.evaluate(() => window.likelyEditorState!.scores()!.mirror.tokens.length);
    assert.ok(again > tokens, `every token of the new text is scored (${again})`);

    // What the model looked at for a token of a passage's second copy, through the page's engine client.
    const passage = 'Seven purple kites drifted over the quiet harbor while old Mr. Abernathy counted gulls.';
    const repeated = `${passage} ${passage}`;
    await o.page.evaluate((t) => window.likelyEditor!.setPlainText(t), repeated);
    await waitScored(o.page, 30_000);
    const at = repeated.lastIndexOf(' kites');
    const inPage = await o.page.evaluate(async (offset) => {
      const s = window.likelyEditorState!.scores()!;
      const index = s.mirror.tokens.findIndex((t) => t.start <= offset && offset < t.end);
      const engine = window.likelyEditorState!.engine as unknown as { call: (m: string, p: unknown) => Promise<unknown> };
      return (await engine.call('attention', { version: s.mirror.version, index, k: 1024 })) as AttentionResult;
    }, at);
    const cliAttention = likely(['attention', '--at', String(at), '--full'], repeated) as AttentionResult;
    assert.deepEqual(inPage.token, cliAttention.token);
    assert.deepEqual(inPage.window, cliAttention.window);
    assert.equal(inPage.copiedFrom?.start, passage.indexOf(' kites'), 'copied from the first copy');
    assert.deepEqual({ ...inPage.copiedFrom, weight: 0 }, { ...cliAttention.copiedFrom, weight: 0 });
    let worst = 0;
    inPage.layers.forEach((layer, l) =>
      layer.heads.forEach((head, h) => {
        const want = new Map(cliAttention.layers[l]!.heads[h]!.top.map((t) => [t.index, t.weight]));
        assert.equal(head.top.length, want.size);
        for (const t of head.top) worst = Math.max(worst, Math.abs(t.weight - want.get(t.index)!));
      }),
    );
    assert.ok(worst < 1e-4, `onnxruntime-web vs onnxruntime-node: max |Δ attention weight| ${worst}`);
    await close(o);
  } finally {
    await plain.close();
  }
});
