// The editor in Debian's Chromium against the real `serve` (engine process, embedded model):
// typed text gets one colored span per token whose colors equal `likely score --json` through
// colorScale; an edit in the middle re-scores from the edit only; a click places the caret and
// opens nothing, hover shows the numbers, the popover (asked for) shows the token's numbers and
// the top-10 beside its token; modes, palettes, underline marks, the threshold, dark theme and
// coloring off switch (View menu); undo restores text and
// colors; the stats panel matches common/stats.ts and highlights; foreign origins are refused.
// Screenshots go to e2e/artifacts/.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createServer, get, type Server } from 'node:http';
import { join } from 'node:path';
import { test } from 'node:test';
import type { BrowserContext, Page } from 'playwright';
import WebSocket from 'ws';
import { formatProbability } from '../common/format.ts';
import { rankBucketCounts } from '../common/stats.ts';
import './page-globals.ts';
import { assertMatchesCli, type ScoreJson } from './token-checks.ts';
import { ARTIFACTS, NO_CHROMIUM, ROOT, servedApp, waitScored, watchErrors } from './web-harness.ts';

const WAIT = { timeout: 60_000 };
const app = servedApp('editor');

function score(text: string): ScoreJson {
  const file = join(app.dir, `doc-${Math.random().toString(36).slice(2)}.txt`);
  writeFileSync(file, text);
  const r = spawnSync('npm', ['run', '--silent', 'likely', '--', 'score', file, '--json'], { cwd: ROOT, encoding: 'utf8', maxBuffer: 1 << 26, timeout: 120_000 });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as ScoreJson;
}

interface Opened {
  context: BrowserContext;
  page: Page;
  errors: string[];
}

async function open(): Promise<Opened> {
  const context = await app.browser.newContext({ viewport: { width: 1200, height: 760 } });
  context.setDefaultTimeout(30_000);
  const page = await context.newPage();
  const errors = watchErrors(page);
  await page.goto(app.served.url);
  await page.waitForSelector('.ProseMirror', WAIT);
  await page.waitForFunction(() => window.likelyEditorState?.model !== null, null, WAIT);
  return { context, page, errors };
}

async function close(o: Opened): Promise<void> {
  await o.context.close();
  assert.deepEqual(o.errors, [], 'no console errors (CSP violations included)');
}


async function typeDraft(page: Page, paragraphs: string[]): Promise<string> {
  await page.click('.ProseMirror');
  for (let i = 0; i < paragraphs.length; i++) {
    if (i > 0) await page.keyboard.press('Enter');
    await page.keyboard.type(paragraphs[i]!);
  }
  await waitScored(page);
  return page.evaluate(() => window.likelyEditor!.getPlainText());
}

const DRAFT = ['The quick brown fox jumps over the lazy dog near the river bank.', 'A café serves 日本語 tea 🍵 to the people who walk by every morning.'];

test('typing colors every token exactly like `likely score`, with the numbers in labels and the status bar', { skip: NO_CHROMIUM, timeout: 240_000 }, async () => {
  const o = await open();
  const text = await typeDraft(o.page, DRAFT);
  assert.equal(text, DRAFT.join('\n\n'));
  const cli = score(text);
  assert.ok(cli.tokens.some((t) => t.text === ''), 'the draft has a token that is part of a character');
  await assertMatchesCli(o.page, cli);
  const status = await o.page.locator('.statusbar').innerText();
  assert.match(status, new RegExp(`${cli.tokens.length} tokens`));
  assert.match(status, /\d+ words/);
  assert.ok(status.includes(cli.model), `model name in status: ${status}`);
  assert.ok(status.includes(cli.device === 'cpu' ? 'CPU' : 'GPU'), 'device in status');
  const ppl = Number((/perplexity ([\d,.]+)/.exec(status)?.[1] ?? 'NaN').replace(/,/g, ''));
  assert.ok(Math.abs(ppl - cli.perplexity) / cli.perplexity < 0.01, `perplexity ${ppl} vs ${cli.perplexity}`);
  // The Markdown of the typed draft round-trips to the same text.
  const md = await o.page.evaluate(() => window.likelyEditor!.getMarkdown());
  assert.equal(md, DRAFT.join('\n\n') + '\n');
  await o.page.screenshot({ path: join(ARTIFACTS, 'editor-main.png') });
  await close(o);
});

test('an edit in the middle re-scores from the edit on: tokens before it are never touched', { skip: NO_CHROMIUM, timeout: 240_000 }, async () => {
  const o = await open();
  // Rank colors do not depend on the rest of the document, so an untouched token keeps its element and attributes.
  await o.page.click('[data-mode="rank"]');
  const paragraphs = ['First paragraph stays exactly as it was.', 'Second paragraph gets a new word here.', 'Third paragraph follows the edit.'];
  await typeDraft(o.page, paragraphs);
  const chunks: { version: number; firstChanged: number; from: number; count: number; tokenCount: number }[] = [];
  const watched = await o.page.evaluate(() => {
    // Watch every change of the first paragraph's token elements, and which texts turn pending.
    const w = window as unknown as { __mutated: Set<string>; __pending: Set<string> };
    w.__mutated = new Set();
    w.__pending = new Set();
    const firstPara = document.querySelector('.ProseMirror > p')!;
    for (const el of firstPara.querySelectorAll<HTMLElement>('[data-i]')) (el as HTMLElement & { __orig?: string }).__orig = el.dataset.i;
    new MutationObserver((records) => {
      for (const r of records) {
        const el = r.target as HTMLElement & { __orig?: string };
        if (el.__orig !== undefined || firstPara.contains(el)) w.__mutated.add(el.__orig ?? el.nodeName);
        if (el.classList?.contains('pending')) w.__pending.add(el.textContent ?? '');
      }
    }).observe(document.querySelector('.ProseMirror')!, { attributes: true, subtree: true, childList: true, characterData: true });
    return firstPara.querySelectorAll('[data-i]').length;
  });
  assert.ok(watched > 5);
  // The chunks of scores the page receives for the edit.
  await o.page.evaluate(() => {
    const w = window as unknown as { __chunks: unknown[]; likelyEditorState: { engine: { on: (e: string, f: (d: unknown) => void) => void } } };
    w.__chunks = [];
    w.likelyEditorState.engine.on('scores', (d) => w.__chunks.push(d));
  });
  // Click right after "new" in the second paragraph and type a word.
  const target = await o.page.evaluateHandle(() => {
    const p = document.querySelectorAll('.ProseMirror > p')[1]!;
    const walker = document.createTreeWalker(p, NodeFilter.SHOW_TEXT);
    for (let n = walker.nextNode(); n; n = walker.nextNode()) {
      const k = n.textContent!.indexOf('new');
      if (k >= 0) return { node: n, offset: k + 3 };
    }
    throw new Error('no "new" in the second paragraph');
  });
  await o.page.evaluate((t) => {
    const { node, offset } = t as unknown as { node: Text; offset: number };
    const sel = window.getSelection()!;
    sel.collapse(node, offset);
  }, target);
  await o.page.keyboard.type(' shiny');
  await waitScored(o.page);
  const text = await o.page.evaluate(() => window.likelyEditor!.getPlainText());
  assert.equal(text, [paragraphs[0], 'Second paragraph gets a new shiny word here.', paragraphs[2]].join('\n\n'));
  const cli = score(text);
  await assertMatchesCli(o.page, cli, 'rank');
  const editAt = text.indexOf(' shiny');
  const tokensBeforeEdit = cli.tokens.filter((t) => t.end < editAt).length;
  const result = await o.page.evaluate(() => {
    const w = window as unknown as { __mutated: Set<string>; __pending: Set<string>; __chunks: { version: number; firstChanged: number; from: number; tokens: unknown[]; tokenCount: number }[] };
    return { mutated: [...w.__mutated], pending: [...w.__pending], chunks: w.__chunks.map((c) => ({ version: c.version, firstChanged: c.firstChanged, from: c.from, count: c.tokens.length, tokenCount: c.tokenCount })) };
  });
  chunks.push(...result.chunks);
  assert.deepEqual(result.mutated, [], 'no token element of the first paragraph changed');
  assert.ok(result.pending.some((t) => t.includes('paragraph') || t.includes('follows') || t.includes('word')), `tokens after the edit were shown pending: ${result.pending.join('|')}`);
  assert.ok(chunks.length > 0);
  for (const c of chunks) {
    assert.ok(c.firstChanged >= tokensBeforeEdit - 1, `version ${c.version} re-scored from token ${c.firstChanged}, the edit is after token ${tokensBeforeEdit}`);
    assert.ok(c.from >= c.firstChanged);
  }
  const rescored = chunks.filter((c) => c.version === chunks[chunks.length - 1]!.version).reduce((n, c) => n + c.count, 0);
  assert.ok(rescored < cli.tokens.length - tokensBeforeEdit + 2, `only the tokens from the edit on were sent again (${rescored} of ${cli.tokens.length})`);
  await close(o);
});

test('a click places the caret and opens nothing; hover shows the numbers; Alt+click, Details or Alt+Enter open the popover beside the token', { skip: NO_CHROMIUM, timeout: 240_000 }, async () => {
  const o = await open();
  const text = await typeDraft(o.page, ['She opened the door and looked outside at the garden.']);
  const cli = score(text);
  const idx = cli.tokens.findIndex((t) => t.text === ' door');
  const t = cli.tokens[idx]!;
  const door = o.page.locator(`.ProseMirror [data-i="${idx}"]`).last();
  // Five clicks to place the caret, a double-click to select a word: no popover.
  for (let k = 0; k < 5; k++) await o.page.locator(`.ProseMirror [data-i="${k * 2}"]`).click();
  await door.dblclick();
  await o.page.waitForTimeout(400);
  assert.equal(await o.page.locator('.popover').count(), 0, 'clicks that place the caret open nothing');
  assert.equal(await o.page.evaluate(() => window.getSelection()!.toString()), 'door', 'the double-click selected the word');
  // Hover: a light tooltip with the numbers, and its Details button.
  await o.page.mouse.move(0, 0);
  await door.hover();
  const tip = o.page.locator('.token-tooltip');
  await tip.waitFor(WAIT);
  assert.match(await tip.innerText(), new RegExp(`door\\s+${formatProbability(t.logprob).replace('.', '\\.')}\\s+rank ${t.rank.toLocaleString('en-US')}`));
  await tip.locator('[data-action="details"]').click();
  await o.page.waitForSelector('.popover .predictions li code', WAIT);
  await o.page.keyboard.press('Escape');
  await o.page.waitForSelector('.popover', { state: 'detached', ...WAIT });
  // Alt+click: the popover with the numbers and the top-10.
  await door.click({ modifiers: ['Alt'] });
  await o.page.waitForSelector('.popover .predictions li code', WAIT);
  const pop = o.page.locator('.popover');
  assert.equal(await pop.locator('.token').innerText(), '␣door');
  assert.equal(await pop.locator('[data-field="probability"]').innerText(), formatProbability(t.logprob));
  assert.equal(await pop.locator('[data-field="rank"]').innerText(), t.rank.toLocaleString('en-US'));
  assert.equal(await pop.locator('[data-field="entropy"]').innerText(), t.entropy.toFixed(2));
  const preds = await pop.locator('.predictions li:has(code)').evaluateAll((lis) => lis.map((li) => ({ text: li.querySelector('code')!.textContent!, p: li.querySelector('.p')!.textContent!, actual: li.classList.contains('actual') })));
  assert.equal(preds.length, 10);
  const pct = (s: string) => Number(s.replace('%', ''));
  for (let k = 1; k < preds.length; k++) assert.ok(pct(preds[k - 1]!.p) >= pct(preds[k]!.p), 'predictions in order of probability');
  if (t.rank <= 10) {
    assert.equal(preds.findIndex((p) => p.actual), t.rank - 1, 'the actual token is at its rank');
    assert.equal(preds[t.rank - 1]!.p, formatProbability(t.logprob));
  } else {
    assert.ok(preds.every((p) => !p.actual));
    assert.ok(pct(preds[9]!.p) >= pct(formatProbability(t.logprob)), 'the tenth prediction is at least as likely as the token (rank > 10)');
  }
  // Beside its token: not over the token's line, inside the editor's scroller (never over the toolbar); its size holds while rewrites load.
  const before = await pop.boundingBox();
  await o.page.waitForFunction(() => !/Searching/.test(document.querySelector('.popover [data-rewrites-status]')?.textContent ?? ''), null, WAIT);
  const box = (await pop.boundingBox())!;
  assert.equal(Math.round(box.height), Math.round(before!.height), 'the popover keeps its size when the rewrites arrive');
  const tok = (await door.boundingBox())!;
  assert.ok(box.y >= tok.y + tok.height || box.y + box.height <= tok.y, `the popover (${box.y}–${box.y + box.height}) leaves the token's line (${tok.y}–${tok.y + tok.height}) free`);
  const scroller = (await o.page.locator('.editor-scroll').boundingBox())!;
  assert.ok(box.y >= scroller.y && box.y + box.height <= scroller.y + scroller.height, 'inside the editor, below the toolbar');
  await o.page.screenshot({ path: join(ARTIFACTS, 'editor-popover.png') });
  await o.page.keyboard.press('Escape');
  await o.page.waitForSelector('.popover', { state: 'detached', ...WAIT });
  // Keyboard: caret into " garden" and Alt+Enter; focus moves into the popover; Escape returns it.
  const g = cli.tokens.findIndex((x) => x.text === ' garden');
  await o.page.evaluate((i) => {
    const el = document.querySelector(`.ProseMirror [data-i="${i}"]`)!.firstChild!;
    window.getSelection()!.collapse(el, 3);
  }, g);
  await o.page.keyboard.press('Alt+Enter');
  await o.page.waitForSelector('.popover .predictions li code', WAIT);
  assert.equal(await o.page.locator('.popover .token').innerText(), '␣garden');
  assert.ok(await o.page.evaluate(() => document.activeElement?.classList.contains('popover')), 'focus is in the popover');
  await o.page.keyboard.press('Escape');
  await o.page.waitForSelector('.popover', { state: 'detached', ...WAIT });
  assert.ok(await o.page.evaluate(() => document.activeElement?.classList.contains('ProseMirror')), 'focus back in the editor');
  // Arrow keys move the caret; resting there shows the tooltip for the token at the caret.
  await o.page.keyboard.press('ArrowLeft');
  await o.page.locator('.token-tooltip[data-tooltip="caret"]').waitFor(WAIT);
  await o.page.keyboard.type('x');
  await o.page.locator('.token-tooltip').waitFor({ state: 'detached', ...WAIT });
  await close(o);
});

test('the popover follows its token when the text scrolls', { skip: NO_CHROMIUM, timeout: 240_000 }, async () => {
  const o = await open();
  const paragraphs = Array.from({ length: 14 }, (_, i) => `Paragraph ${i + 1} talks about the river, the bridge and the old mill by the water.`);
  await o.page.evaluate((t) => window.likelyEditor!.setPlainText(t), paragraphs.join('\n\n'));
  await waitScored(o.page);
  const tok = o.page.locator('.ProseMirror p:nth-child(6) .tok').nth(3);
  await tok.click({ modifiers: ['Alt'] });
  const pop = o.page.locator('.popover');
  await pop.waitFor(WAIT);
  const gap = async () => (await pop.boundingBox())!.y - (await tok.boundingBox())!.y;
  const first = await gap();
  await o.page.locator('.editor-scroll').evaluate((el) => el.scrollBy(0, 120));
  await o.page.waitForTimeout(200);
  assert.ok(Math.abs((await gap()) - first) < 1.5, 'the popover moved with the text');
  await close(o);
});

test('View menu: modes, palettes (color-blind safe), underline marks, show only p < 1%, dark theme and colors off; the legend follows', { skip: NO_CHROMIUM, timeout: 240_000 }, async () => {
  const o = await open();
  const text = await typeDraft(o.page, ['Colors change with the mode you pick in the toolbar.', 'Rank buckets, entropy and log-probability each tell something.']);
  const cli = score(text);
  for (const mode of ['rank', 'entropy', 'logprob'] as const) {
    await o.page.click(`[data-mode="${mode}"]`);
    await assertMatchesCli(o.page, cli, mode);
    const legend = await o.page.locator('.legend').innerText();
    assert.ok(mode === 'rank' ? legend.includes('top 1,000') : mode === 'entropy' ? legend.includes('unsure') : /surprising[\s\S]*expected/.test(legend), `legend for ${mode}: ${legend}`);
    if (mode === 'rank') await o.page.screenshot({ path: join(ARTIFACTS, 'editor-rank.png') });
  }
  const view = async (item: string) => {
    await o.page.click('#view-menu');
    await o.page.click(`[data-menu-item="${item}"]`);
  };
  await view('palette-blue-orange');
  await assertMatchesCli(o.page, cli, 'logprob', 'light', { palette: 'blue-orange' });
  await view('style-underline');
  await assertMatchesCli(o.page, cli, 'logprob', 'light', { palette: 'blue-orange', style: 'underline' });
  await o.page.screenshot({ path: join(ARTIFACTS, 'editor-underline-blue-orange.png') });
  await view('threshold-0.01');
  await assertMatchesCli(o.page, cli, 'logprob', 'light', { palette: 'blue-orange', style: 'underline', threshold: 0.01 });
  assert.match(await o.page.locator('[data-legend="threshold"]').innerText(), /only p < 1%/);
  // Remembered: a reload shows the same choices.
  await o.page.reload();
  await waitScored(o.page);
  await assertMatchesCli(o.page, cli, 'logprob', 'light', { palette: 'blue-orange', style: 'underline', threshold: 0.01 });
  await view('threshold-all');
  await view('style-background');
  await view('palette-red-green');
  await view('dark');
  await assertMatchesCli(o.page, cli, 'logprob', 'dark');
  await o.page.screenshot({ path: join(ARTIFACTS, 'editor-dark.png') });
  await view('dark');
  await view('colors');
  assert.equal(await o.page.locator('.ProseMirror .tok').count(), 0);
  assert.match(await o.page.locator('.legend').innerText(), /Colors are off/);
  await view('colors');
  await assertMatchesCli(o.page, cli);
  // Keyboard only: the menu opens with ↓, moves with ↓, picks with Enter, and gives the focus back.
  await o.page.focus('#view-menu');
  await o.page.keyboard.press('ArrowDown');
  await o.page.keyboard.press('ArrowDown');
  await o.page.keyboard.press('Enter');
  await assertMatchesCli(o.page, cli, 'logprob', 'light', { palette: 'red-green' });
  await close(o);
});

test('undo restores the text and its colors; redo brings the edit back', { skip: NO_CHROMIUM, timeout: 240_000 }, async () => {
  const o = await open();
  const original = await typeDraft(o.page, ['Undo is the most important command in any editor.']);
  const cli = score(original);
  const colors = (await assertMatchesCli(o.page, cli)).map((d) => d.color);
  await o.page.keyboard.press('End');
  await o.page.waitForTimeout(600); // a new undo group
  await o.page.keyboard.type(' Really surprising words: zebra quantum marmalade.');
  await waitScored(o.page);
  const edited = await o.page.evaluate(() => window.likelyEditor!.getPlainText());
  assert.notEqual(edited, original);
  for (let k = 0; k < 10 && (await o.page.evaluate(() => window.likelyEditor!.getPlainText())) !== original; k++) await o.page.keyboard.press('Control+z');
  assert.equal(await o.page.evaluate(() => window.likelyEditor!.getPlainText()), original);
  await waitScored(o.page);
  const back = await assertMatchesCli(o.page, cli);
  assert.deepEqual(
    back.map((d) => d.color),
    colors,
  );
  await o.page.keyboard.press('Control+Shift+z');
  await waitScored(o.page);
  const redone = await o.page.evaluate(() => window.likelyEditor!.getPlainText());
  assert.equal(redone, edited);
  await assertMatchesCli(o.page, score(redone));
  await close(o);
});

test('stats panel: rank buckets match common/stats.ts; clicking a bar highlights exactly its tokens', { skip: NO_CHROMIUM, timeout: 240_000 }, async () => {
  const o = await open();
  const text = await typeDraft(o.page, ['Statistics show how the draft is distributed across ranks and log-probabilities.', 'Each paragraph gets its own perplexity in the panel.']);
  const cli = score(text);
  await o.page.click('button:has-text("Stats")');
  await o.page.waitForSelector('.stats .bucket', WAIT);
  const counts = await o.page.locator('.stats .bucket .n').allInnerTexts();
  const want = rankBucketCounts(cli.tokens);
  assert.deepEqual(counts, want.map((b) => b.count.toLocaleString('en-US')));
  assert.equal(await o.page.locator('.stats .paragraphs li').count(), 2);
  const top = want.findIndex((b) => b.count > 0);
  await o.page.click(`.stats .bucket[data-bucket="${top}"]`);
  const highlighted = await o.page.$$eval('.ProseMirror .tok.hl[data-i]', (els) => [...new Set(els.map((e) => Number((e as HTMLElement).dataset.i)))].sort((a, b) => a - b));
  assert.deepEqual(highlighted, want[top]!.tokens.filter((i) => cli.tokens[i]!.text !== ''));
  await o.page.screenshot({ path: join(ARTIFACTS, 'editor-stats.png') });
  await o.page.click(`.stats .bucket[data-bucket="${top}"]`);
  assert.equal(await o.page.locator('.ProseMirror .tok.hl').count(), 0);
  await close(o);
});

test('the engine WebSocket refuses foreign origins (a page from another origin and a bare client)', { skip: NO_CHROMIUM, timeout: 120_000 }, async () => {
  const engineUrl = `ws://127.0.0.1:${app.served.port}/engine`;
  const attempt = (origin: string | undefined) =>
    new Promise<string>((resolve) => {
      const ws = new WebSocket(engineUrl, origin ? { origin } : {});
      ws.on('open', () => {
        ws.close();
        resolve('open');
      });
      ws.on('unexpected-response', (_req, res) => resolve(`refused ${res.statusCode}`));
      ws.on('error', (e) => resolve(`error ${e.message}`));
    });
  assert.equal(await attempt('http://evil.example'), 'refused 403');
  assert.equal(await attempt(`http://127.0.0.1:${app.served.port + 1}`), 'refused 403');
  assert.equal(await attempt(undefined), 'refused 403');
  assert.equal(await attempt(`http://127.0.0.1:${app.served.port}`), 'open');
  // A page served from another origin tries to connect from the browser.
  const foreign: Server = createServer((_req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/html' });
    res.end('<!doctype html><title>foreign</title>');
  });
  await new Promise<void>((r) => foreign.listen(0, '127.0.0.1', () => r()));
  try {
    const page = await app.browser.newPage();
    await page.goto(`http://127.0.0.1:${(foreign.address() as { port: number }).port}/`);
    const outcome = await page.evaluate(
      (url) =>
        new Promise<string>((resolve) => {
          const ws = new WebSocket(url);
          ws.onopen = () => resolve('open');
          ws.onclose = (e) => resolve(`closed ${e.code}`);
          setTimeout(() => resolve('timeout'), 10_000);
        }),
      engineUrl,
    );
    assert.equal(outcome, 'closed 1006');
    await page.close();
  } finally {
    foreign.close();
  }
  // Plain HTTP with another Host (DNS rebinding) is refused too.
  const status = await new Promise<number>((resolve, reject) => {
    get({ host: '127.0.0.1', port: app.served.port, path: '/', headers: { Host: 'evil.example' } }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    }).on('error', reject);
  });
  assert.equal(status, 421);
});
