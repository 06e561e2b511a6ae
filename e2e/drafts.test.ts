// Nothing the writer typed is lost in the browser shells (the static build here; the served app
// runs the same renderer code, web-document.svelte.ts): two tabs keep their own drafts and a third
// starts its own; a reload comes back to the tab's draft; Open…, New and a dropped file start a new
// draft and the notice goes back to the one before; a closed tab's and a crashed tab's draft is
// the next tab's; whatever the editor holds (NUL, lone surrogates) comes back exactly.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright';
import './page-globals.ts';
import { serveStatic, type StaticServer } from './static-server.ts';
import { ensureWebBuilt, launchChromium, NO_CHROMIUM, ROOT, watchErrors } from './web-harness.ts';

const WAIT = { timeout: 90_000 };
let browser: Browser;
let server: StaticServer;

before(async () => {
  if (NO_CHROMIUM) return;
  ensureWebBuilt();
  server = await serveStatic(join(ROOT, 'dist', 'web'));
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await server?.close();
});

async function profile(): Promise<{ context: BrowserContext; errors: string[]; tab: () => Promise<Page> }> {
  const context = await browser.newContext({ viewport: { width: 1200, height: 760 } });
  context.setDefaultTimeout(60_000);
  await context.addInitScript({ content: 'window.__name = (f) => f;' });
  const errors: string[] = [];
  const tab = async () => {
    const page = await context.newPage();
    const e = watchErrors(page);
    page.on('close', () => errors.push(...e));
    await ready(page, server.url);
    return page;
  };
  return { context, errors, tab };
}

async function ready(page: Page, url?: string): Promise<void> {
  if (url) await page.goto(url);
  else await page.reload();
  await page.waitForSelector('.ProseMirror', WAIT);
  await page.waitForFunction(() => window.likelyWebDocument?.ready === true, null, WAIT);
}

const text = (page: Page) => page.evaluate(() => window.likelyEditor!.getPlainText());

/** Waits until the editor holds `want` (switching drafts takes a lock first), then returns it. */
async function textIs(page: Page, want: string): Promise<string> {
  await page.waitForFunction((w) => window.likelyEditor!.getPlainText() === w, want, { timeout: 5000 }).catch(() => {});
  return text(page);
}

async function type(page: Page, words: string): Promise<void> {
  await page.focus('.ProseMirror');
  await page.keyboard.press('Control+End');
  await page.keyboard.type(words);
}

test('two tabs keep their own drafts; a reload comes back to its own; a third tab starts its own and lists both', { skip: NO_CHROMIUM, timeout: 240_000 }, async () => {
  const p = await profile();
  const a = await p.tab();
  const b = await p.tab();
  await type(a, 'Alpha paragraph.');
  await type(b, 'Beta paragraph.');
  await ready(a);
  assert.equal(await text(a), 'Alpha paragraph.', "A's draft after its reload");
  await ready(b);
  assert.equal(await text(b), 'Beta paragraph.', "B's draft after its reload");
  // Typing in turn, five words each: every word stays in its own tab's draft.
  for (let round = 0; round < 3; round++) {
    await type(a, ` a${round} one two three four`);
    await type(b, ` b${round} one two three four`);
  }
  const wantA = 'Alpha paragraph. a0 one two three four a1 one two three four a2 one two three four';
  const wantB = 'Beta paragraph. b0 one two three four b1 one two three four b2 one two three four';
  assert.equal(await text(a), wantA);
  assert.equal(await text(b), wantB);
  // A third tab: both drafts are open elsewhere, so it starts its own and lists them.
  const c = await p.tab();
  assert.equal(await text(c), '', 'the third tab does not take another tab’s draft');
  await c.click('[data-action="drafts"]');
  const list = c.locator('.drafts-panel li');
  await list.first().waitFor(WAIT);
  const rows = await list.allInnerTexts();
  assert.equal(rows.length, 2, rows.join('\n'));
  assert.ok(rows.some((r) => r.includes('Alpha paragraph') && r.includes('open in another tab')));
  assert.ok(rows.some((r) => r.includes('Beta paragraph') && r.includes('open in another tab')));
  // Opening one here makes a copy: the other tab's draft stays its own.
  await c.locator('.drafts-panel li', { hasText: 'Alpha paragraph' }).locator('[data-action="open-draft"]').click();
  assert.equal(await textIs(c, wantA), wantA);
  await type(c, ' only in C');
  await ready(a);
  assert.equal(await text(a), wantA, 'A is untouched by the copy typed in C');
  // A closed tab's draft goes to the next tab that opens.
  await b.close({ runBeforeUnload: true });
  const d = await p.tab();
  assert.equal(await text(d), wantB, "B's draft after B was closed");
  await p.context.close();
  assert.deepEqual(p.errors, [], 'no console errors');
});

test('Open…, New and a dropped file start a new draft; the notice goes back to the one before', { skip: NO_CHROMIUM, timeout: 180_000 }, async () => {
  const p = await profile();
  const page = await p.tab();
  await type(page, 'An unsaved draft that must survive.');
  // A dropped file opens; the draft before is a click away.
  await page.evaluate(() => {
    const dt = new DataTransfer();
    dt.items.add(new File(['Dropped file text.\n'], 'dropped.md', { type: 'text/markdown' }));
    document.querySelector('.ProseMirror')!.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
  });
  await page.waitForFunction(() => window.likelyEditor!.getPlainText() === 'Dropped file text.', null, WAIT);
  assert.equal(await page.title(), 'dropped.md — Likely', 'a file just opened is saved: no unsaved dot');
  const notice = page.locator('.statusbar .notice');
  assert.match(await notice.innerText(), /Opened dropped\.md\. Your unsaved “An unsaved draft that must s[^”]*” is kept in Drafts\./);
  await notice.locator('button', { hasText: 'Back to it' }).click();
  assert.equal(await textIs(page, 'An unsaved draft that must survive.'), 'An unsaved draft that must survive.');
  // Open… through the browser's picker (stood in for).
  await page.evaluate(() => {
    (window as unknown as { showOpenFilePicker: () => Promise<unknown> }).showOpenFilePicker = async () => [{ name: 'picked.txt', getFile: async () => new File(['Picked file.'], 'picked.txt'), createWritable: async () => ({ write: async () => {}, close: async () => {} }) }];
  });
  await page.keyboard.press('Control+o');
  await page.waitForFunction(() => window.likelyEditor!.getPlainText() === 'Picked file.', null, WAIT);
  assert.match(await notice.innerText(), /Opened picked\.txt/);
  // New: an empty draft; both earlier ones are listed.
  await page.click('#file-menu');
  await page.click('[data-menu-item="new"]');
  await page.waitForFunction(() => window.likelyEditor!.getPlainText() === '', null, WAIT);
  await page.click('[data-action="drafts"]');
  await page.locator('.drafts-panel li').first().waitFor(WAIT);
  const rows = await page.locator('.drafts-panel li').allInnerTexts();
  assert.ok(rows.some((r) => r.includes('An unsaved draft')), rows.join('\n'));
  assert.ok(rows.some((r) => r.includes('picked.txt')), rows.join('\n'));
  await page.locator('.drafts-panel li', { hasText: 'An unsaved draft' }).locator('[data-action="open-draft"]').click();
  assert.equal(await textIs(page, 'An unsaved draft that must survive.'), 'An unsaved draft that must survive.');
  await p.context.close();
  assert.deepEqual(p.errors, []);
});

test('a crashed tab and a reload right after typing keep the draft; NUL and lone surrogates come back exactly', { skip: NO_CHROMIUM, timeout: 180_000 }, async () => {
  const p = await profile();
  const page = await p.tab();
  const odd = 'NUL \u0000 here, a lone \ud800 surrogate, \u202e bidi, tab\tend';
  await page.evaluate((t) => window.likelyEditor!.setPlainText(t), odd);
  await type(page, '!');
  await ready(page);
  assert.equal(await text(page), odd + '!', 'the draft store gives back exactly what the editor held');
  // A crash: the draft written before it is the next tab's.
  await type(page, ' After.');
  await page.waitForTimeout(800);
  const cdp = await p.context.newCDPSession(page);
  const crashed = page.waitForEvent('crash', WAIT);
  void cdp.send('Page.crash').catch(() => {});
  await crashed;
  await page.close().catch(() => {});
  const next = await p.tab();
  assert.equal(await text(next), odd + '! After.');
  await p.context.close();
});
