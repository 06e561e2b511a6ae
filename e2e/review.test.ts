// The Review panel on the real embedded model, in the served app and in the static build: a draft
// with three planted odd words among ordinary sentences lists them among the top surprising spans,
// in the order `likely review --json` gives (its three lists equal the panel's); F8 walks them in
// rank order, each selected and opened with its rewrites; accepting one replaces the span as one
// undoable step and the list follows; an ignored span stays ignored after a reload and comes back
// when its text changes; a paragraph pasted again later is a repeat, not a predictable run; the
// status bar counts; no console error.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Page } from 'playwright';
import './page-globals.ts';
import { bothShells, NO_CHROMIUM, ROOT, waitScored, watchErrors } from './web-harness.ts';

const WAIT = { timeout: 120_000 };
const PARAGRAPH = 'The committee met on Tuesday to discuss the budget for the new library. After a long debate, the members agreed to spend most of the money on books and the rest on repairs to the old building.';
const TEXT = [
  PARAGRAPH,
  'Nobody in the village remembered when the giraffe was built. The old men said their fathers had crossed it as boys, and the river below had never once risen high enough to touch its stones.',
  'In the spring the fields turned green again and the farmers went back to work, planting carburetor and beans in long straight rows that ran down to the edge of the xylophone.',
  PARAGRAPH,
].join('\n\n');
const PLANTED = ['giraffe', 'carburetor', 'xylophone'];

const shells = bothShells('review');

interface Row {
  start: number;
  end: number;
  text: string;
}

function cliReview(text: string): { surprising: Row[]; predictable: Row[]; repeats: Row[] } {
  const file = join(shells.dir, `draft-${Math.random().toString(36).slice(2)}.txt`);
  writeFileSync(file, text);
  const r = spawnSync('npm', ['run', '--silent', 'likely', '--', 'review', file, '--json'], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout);
}

/** The rows of one list of the panel. */
async function rows(page: Page, list: 'surprising' | 'predictable' | 'repeats'): Promise<Row[]> {
  await page.click(`.review [data-list="${list}"]`);
  return page.$$eval('.review .spans li', (lis) => lis.map((li) => {
    const el = li as HTMLElement;
    const start = Number(el.dataset.spanStart);
    const end = Number(el.dataset.spanEnd);
    return { start, end, text: window.likelyEditor!.getPlainText().slice(start, end) };
  })).catch(() => []);
}

const plainText = (page: Page) => page.evaluate(() => window.likelyEditor!.getPlainText());

/** Waits for a complete score and the panel's lists for it. */
async function settled(page: Page): Promise<void> {
  await waitScored(page, WAIT.timeout);
  await page.waitForFunction(() => {
    const e = window.likelyEditorState as unknown as { review: { version: number }; scores(): { version: number } };
    return e.review.version === e.scores().version;
  }, null, WAIT);
}

for (const shell of ['served app', 'static build'] as const) {
  test(`Review in the ${shell}: planted words on top, F8 in rank order, accept and undo, ignore kept across a reload until the text changes, repeats apart; the lists equal \`likely review\``, { skip: NO_CHROMIUM, timeout: 300_000 }, async () => {
    const context = await shells.browser.newContext({ viewport: { width: 1280, height: 800 } });
    context.setDefaultTimeout(60_000);
    await context.addInitScript({ content: 'window.__name = (f) => f;' });
    const page = await context.newPage();
    const errors = watchErrors(page);
    const url = shells.url(shell);
    await page.goto(url);
    await page.waitForFunction(() => window.likelyWebDocument?.ready === true && window.likelyEditorState?.model !== null, null, WAIT);
    await page.evaluate((t) => window.likelyEditor!.setPlainText(t), TEXT);
    await settled(page);
    assert.match(await page.locator('[data-status="review"]').innerText(), /^\d+ surprising, \d+ predictable, 1 repeated$/);
    await page.click('[data-action="review"]');

    // The lists equal the CLI's, span for span, in its order.
    const cli = cliReview(TEXT);
    const surprising = await rows(page, 'surprising');
    assert.deepEqual(surprising, cli.surprising.map(({ start, end, text }) => ({ start, end, text })), 'surprising spans as `likely review` lists them');
    assert.deepEqual(await rows(page, 'predictable'), cli.predictable.map(({ start, end, text }) => ({ start, end, text })));
    const repeats = await rows(page, 'repeats');
    assert.deepEqual(repeats, cli.repeats.map(({ start, end, text }) => ({ start, end, text })));
    // The pasted paragraph is a repeat (of the first), never a predictable run.
    const second = TEXT.lastIndexOf(PARAGRAPH);
    assert.ok(repeats.some((r) => r.start <= second + 10 && r.end >= second + PARAGRAPH.length - 2), `the repeated paragraph is listed as a repeat: ${JSON.stringify(repeats)}`);
    assert.ok(!(await rows(page, 'predictable')).some((r) => r.start >= second), 'and not as a predictable run');
    // The three planted words are among the top five, each in a span of its own.
    const top = surprising.slice(0, 5).map((r) => r.text);
    for (const w of PLANTED) assert.ok(top.some((t) => t.includes(w)), `${w} in the top five: ${JSON.stringify(top)}`);

    // F8 walks the surprising spans in rank order: selected in the text, opened with its rewrites.
    await page.click('.review [data-list="surprising"]');
    await page.locator('.ProseMirror').focus();
    for (let i = 0; i < 3; i++) {
      await page.keyboard.press('F8');
      await page.waitForFunction((want) => window.getSelection()!.toString() === want, surprising[i]!.text, WAIT);
      await page.locator('.popover [data-span-text]').waitFor(WAIT);
      assert.equal(await page.locator('.popover [data-span-text]').innerText(), surprising[i]!.text.length > 48 ? surprising[i]!.text.slice(0, 47) + '…' : surprising[i]!.text);
      assert.equal(await page.locator('.review li.current').getAttribute('data-span-start'), String(surprising[i]!.start));
    }
    await page.keyboard.press('Shift+F8');
    await page.waitForFunction((want) => window.getSelection()!.toString() === want, surprising[1]!.text, WAIT);
    await page.keyboard.press('Escape');

    // Accept a rewrite of the top span (its row opens it): one undoable step, scored again, the list follows.
    await page.click('.review .spans li:first-child .go');
    await page.waitForFunction(() => !/Searching|Waiting/.test(document.querySelector('.popover [data-rewrites-status]')?.textContent ?? '') , null, WAIT);
    await page.waitForFunction(() => document.querySelector('.popover .suggestions button') || document.querySelector('.popover [data-rewrites-status]'), null, WAIT);
    const pick = await page.locator('.popover .suggestions button[data-k="0"]').getAttribute('data-text').catch(() => null);
    assert.ok(pick !== null, 'the top span has a rewrite');
    await page.keyboard.press('Alt+ArrowDown');
    await page.keyboard.press('Enter');
    const replaced = await page.evaluate(() => window.likelyEditor!.getPlainText());
    assert.notEqual(replaced, TEXT);
    assert.ok(replaced.includes(pick!), 'the rewrite is in the text');
    await settled(page);
    assert.ok(!(await rows(page, 'surprising')).some((r) => r.start === surprising[0]!.start && r.text === surprising[0]!.text), 'the replaced span left the list');
    await page.locator('.ProseMirror').focus();
    await page.keyboard.press('Control+z');
    assert.equal(await plainText(page), TEXT, 'one undo restores the text');
    await settled(page);

    // Ignore the "giraffe" span: gone from the list, and still gone after a reload.
    const giraffe = (await rows(page, 'surprising')).findIndex((r) => r.text.includes('giraffe'));
    assert.ok(giraffe >= 0);
    await page.locator('.review .spans li').nth(giraffe).locator('[data-action="ignore"]').click();
    const without = async () => (await rows(page, 'surprising')).filter((r) => r.text.includes('giraffe'));
    assert.deepEqual(await without(), [], 'ignored');
    await page.reload();
    await page.waitForFunction(() => window.likelyWebDocument?.ready === true, null, WAIT);
    await settled(page);
    if (!(await page.locator('.review').count())) await page.click('[data-action="review"]');
    assert.equal(await plainText(page), TEXT, 'the draft came back');
    assert.deepEqual(await without(), [], 'still ignored after the reload');
    // Its text changes: it comes back.
    await page.locator('.ProseMirror').focus();
    await page.evaluate(() => {
      // The caret after "giraffe", through ProseMirror (the word's tokens are separate elements).
      type Sel = { create(doc: unknown, pos: number): unknown };
      type Doc = { descendants(f: (n: { isText: boolean; text?: string }, pos: number) => void): void };
      const view = window.likelyEditorState!.view as unknown as { state: { doc: Doc; selection: { constructor: Sel }; tr: { setSelection(s: unknown): unknown } }; dispatch(tr: unknown): void };
      let at = -1;
      view.state.doc.descendants((n, pos) => {
        if (at < 0 && n.isText && n.text!.includes('giraffe')) at = pos + n.text!.indexOf('giraffe') + 'giraffe'.length;
      });
      view.dispatch(view.state.tr.setSelection(view.state.selection.constructor.create(view.state.doc, at)));
    });
    await page.keyboard.type('s');
    assert.ok((await plainText(page)).includes('the giraffes was built'), 'edited');
    await settled(page);
    assert.ok((await rows(page, 'surprising')).some((r) => r.text.includes('giraffes')), 'an edited span is listed again');
    await context.close();
    assert.deepEqual(errors, [], 'no console errors');
  });
}
