// Fill-in-the-blank in the editor, in Debian's Chromium against the real `serve` (engine process,
// embedded model): Alt+click on a misspelled word lists the rewrites for its span — the same texts
// in the same order as `likely infill FILE --from S --to E --json --k 8` — with the span marked in
// the text, each compared in words ("much more likely") with the factor in its tooltip, and the
// sentence previewed with the pick; Word / Phrase choose the span; "show every rewrite" lists the
// ones that do not beat the original too; the cycle shortcut (Alt+↓/↑, wrapping) moves the pick,
// Enter or a click replaces exactly the span as one undoable step, the new tokens get scored and
// colored; one Ctrl+Z restores the text exactly; a result that arrives after an edit superseded
// its request is dropped, without a word in the console.
// Screenshots go to e2e/artifacts/.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Page } from 'playwright';
import './page-globals.ts';
import { ARTIFACTS, NO_CHROMIUM, ROOT, servedApp, waitScored, watchErrors } from './web-harness.ts';

const WAIT = { timeout: 60_000 };
const TEXT = 'She recieved the letter yesterday and answered it the same day. The committee met on Tuesday to discuss the budget for the new library.';
const WRONG = 'recieved';

const app = servedApp('infill-ui');

interface CliInfill {
  span: { start: number; end: number; text: string };
  suggestions: { text: string; score: number }[];
  original: { score: number };
  hidden: number;
}

function cliInfill(text: string, start: number, end: number, ...extra: string[]): CliInfill {
  const file = join(app.dir, 'draft.txt');
  writeFileSync(file, text);
  const r = spawnSync('npm', ['run', '--silent', 'likely', '--', 'infill', file, '--from', String(start), '--to', String(end), '--json', '--k', '8', ...extra], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as CliInfill;
}

const plainText = (page: Page) => page.evaluate(() => window.likelyEditor!.getPlainText());

interface Shown {
  start: number;
  end: number;
  items: { text: string; score: number; words: string; title: string; selected: boolean }[];
}

/** The rewrites the popover lists, with their span, comparison and which one is picked. */
async function shownSuggestions(page: Page): Promise<Shown> {
  await page.waitForSelector('.popover .suggestions button', WAIT);
  return page.$eval('.popover .suggestions', (ol) => {
    const el = ol as HTMLElement;
    return {
      start: Number(el.dataset.start),
      end: Number(el.dataset.end),
      items: [...el.querySelectorAll<HTMLButtonElement>('button')].map((b) => ({
        text: b.dataset.text!,
        score: Number(b.dataset.score),
        words: b.querySelector('.words')!.textContent!,
        title: b.title,
        selected: b.closest('li')!.classList.contains('selected') && b.getAttribute('aria-current') === 'true',
      })),
    };
  });
}

const picked = (s: Shown) => s.items.findIndex((x) => x.selected);

/** The mirror index of the token that holds `word`. */
function tokenOf(page: Page, word: string): Promise<number> {
  return page.evaluate((w) => window.likelyEditorState!.scores()!.mirror.tokens.findIndex((t) => t.text.trim() && w.includes(t.text.trim())), word);
}

test('rewrites in the popover: same as `likely infill`, the span marked and previewed, word or phrase, cycle shortcut, Enter and click replace the span as one undoable step, re-scored', { skip: NO_CHROMIUM, timeout: 180_000 }, async () => {
  const context = await app.browser.newContext({ viewport: { width: 1200, height: 800 } });
  context.setDefaultTimeout(30_000);
  const page = await context.newPage();
  const errors = watchErrors(page);
  await page.goto(app.served.url);
  await page.waitForSelector('.ProseMirror', WAIT);
  await page.waitForFunction(() => window.likelyEditorState?.model !== null, null, WAIT);
  await page.evaluate((t) => window.likelyEditor!.setPlainText(t), TEXT);
  await waitScored(page);
  assert.equal(await plainText(page), TEXT);

  // Alt+click the misspelled word: the rewrites of the word, the word marked in the text.
  const idx = await tokenOf(page, WRONG);
  assert.ok(idx > 0, 'a word token to click');
  await page.locator(`.ProseMirror [data-i="${idx}"]`).first().click({ modifiers: ['Alt'] });
  const shown = await shownSuggestions(page);
  const start = TEXT.indexOf(WRONG);
  assert.deepEqual([shown.start, shown.end], [start, start + WRONG.length], 'the span is the whole word');
  assert.equal(await page.locator('.ProseMirror .rewrite-span').allInnerTexts().then((t) => t.join('')), WRONG, 'the span is marked in the text');
  assert.equal(await page.locator('.popover [data-span-text]').innerText(), WRONG);
  await page.screenshot({ path: join(ARTIFACTS, 'infill-popover.png') });

  // The same rewrites, in the same order, as the CLI for that span; the fix is among them.
  const cli = cliInfill(TEXT, shown.start, shown.end);
  assert.equal(cli.span.text, WRONG);
  assert.ok(cli.suggestions.some((s) => s.text === 'received'), `the fix is offered: ${cli.suggestions.map((s) => s.text).join(', ')}`);
  assert.deepEqual(shown.items.map((x) => x.text), cli.suggestions.map((x) => x.text), "the popover lists the CLI's rewrites in order");
  for (let k = 0; k < cli.suggestions.length; k++) assert.ok(Math.abs(shown.items[k]!.score - cli.suggestions[k]!.score) < 1e-2, `score of ${JSON.stringify(cli.suggestions[k]!.text)}`);
  // Compared in words, the factor in the tooltip; every one offered beats the original.
  for (const x of shown.items) {
    assert.match(x.words, /more likely|as likely/, `${x.text}: ${x.words}`);
    assert.match(x.title, /[\d.e+]+× as likely as the original/);
    assert.ok(x.score > cli.original.score);
  }
  // The sentence previewed with the first rewrite, then with the one under the pointer.
  assert.equal(await page.locator('.popover [data-preview]').innerText(), `She ${shown.items[0]!.text} the letter yesterday and answered it the same day.`);
  await page.hover('.popover .suggestions button[data-k="1"]');
  assert.equal(await page.locator('.popover [data-preview]').innerText(), `She ${shown.items[1]!.text} the letter yesterday and answered it the same day.`);
  assert.equal(picked(shown), -1, 'nothing picked yet');
  // Every rewrite the model tried, when asked: more of them, in order, the worse ones said so.
  await page.check('.popover .worse input');
  await page.waitForFunction((n) => document.querySelectorAll('.popover .suggestions button').length > n || document.querySelectorAll('.popover .suggestions button').length === 8, shown.items.length, WAIT);
  const all = await shownSuggestions(page);
  assert.deepEqual(all.items.map((x) => x.text), cliInfill(TEXT, shown.start, shown.end, '--all').suggestions.map((x) => x.text), 'the same list as `likely infill --all`');
  await page.uncheck('.popover .worse input');
  await page.waitForFunction((n) => document.querySelectorAll('.popover .suggestions button').length === n, shown.items.length, WAIT);
  // The phrase: the engine's unlikely run around the word, when it is longer than the word.
  if (await page.locator('.popover [data-span="phrase"]').isEnabled()) {
    await page.click('.popover [data-span="phrase"]');
    await page.waitForFunction(() => !/Searching/.test(document.querySelector('.popover [data-rewrites-status]')?.textContent ?? ''), null, WAIT);
    const phrase = await page.locator('.popover [data-span-text]').innerText();
    assert.ok(phrase.length > WRONG.length && phrase.includes(WRONG), `the phrase holds the word: ${phrase}`);
    assert.equal(await page.locator('.ProseMirror .rewrite-span').allInnerTexts().then((t) => t.join('')), phrase, 'the mark follows the span');
    await page.click('.popover [data-span="word"]');
    await shownSuggestions(page);
  }
  await page.mouse.move(0, 0);
  await page.locator('.ProseMirror').focus();

  // The cycle shortcut moves the pick (from the editor, where the click left the focus), wrapping around.
  const n = shown.items.length;
  await page.keyboard.press('Alt+ArrowDown');
  assert.equal(picked(await shownSuggestions(page)), 0);
  await page.keyboard.press('Alt+ArrowDown');
  assert.equal(picked(await shownSuggestions(page)), Math.min(1, n - 1));
  await page.keyboard.press('Alt+ArrowUp');
  await page.keyboard.press('Alt+ArrowUp');
  assert.equal(picked(await shownSuggestions(page)), n - 1, 'Alt+↑ from the first goes to the last');
  await page.keyboard.press('Alt+ArrowDown');
  assert.equal(picked(await shownSuggestions(page)), 0, 'Alt+↓ from the last goes to the first');
  await page.keyboard.press('Alt+ArrowDown');
  const choice = picked(await shownSuggestions(page));
  assert.equal(choice, Math.min(1, n - 1));
  assert.equal(await plainText(page), TEXT, 'cycling does not edit');

  // Enter replaces exactly the span with the picked rewrite; the document is re-scored and colored.
  const chosen = shown.items[choice]!.text;
  await page.keyboard.press('Enter');
  await page.waitForSelector('.popover', { state: 'detached', ...WAIT });
  const replaced = TEXT.slice(0, shown.start) + chosen + TEXT.slice(shown.end);
  assert.equal(await plainText(page), replaced);
  await waitScored(page);
  await assertScoredAround(page, shown.start, shown.start + chosen.length);
  await page.screenshot({ path: join(ARTIFACTS, 'infill-applied.png') });

  // One Ctrl+Z restores the original exactly.
  await page.keyboard.press('Control+z');
  assert.equal(await plainText(page), TEXT);
  await waitScored(page);

  // Clicking a rewrite does the same.
  await page.locator(`.ProseMirror [data-i="${idx}"]`).first().click({ modifiers: ['Alt'] });
  const again = await shownSuggestions(page);
  assert.deepEqual(again.items.map((x) => x.text), shown.items.map((x) => x.text), 'the same rewrites for the same text');
  const last = again.items[again.items.length - 1]!.text;
  await page.click(`.popover .suggestions button[data-k="${again.items.length - 1}"]`);
  const clicked = TEXT.slice(0, again.start) + last + TEXT.slice(again.end);
  assert.equal(await plainText(page), clicked);
  await waitScored(page);
  await assertScoredAround(page, again.start, again.start + last.length);
  await page.keyboard.press('Control+z');
  assert.equal(await plainText(page), TEXT, 'one undo step');
  await page.keyboard.press('Control+Shift+z');
  assert.equal(await plainText(page), clicked, 'redo brings the rewrite back');
  await page.keyboard.press('Control+z');
  await waitScored(page);

  // Opened from the keyboard (focus in the popover): arrows move the pick and the focus.
  await page.evaluate((i) => {
    const el = document.querySelector(`.ProseMirror [data-i="${i}"]`)!.firstChild as Text;
    window.getSelection()!.collapse(el, 3);
  }, idx);
  await page.keyboard.press('Alt+Enter');
  await shownSuggestions(page);
  await page.keyboard.press('ArrowDown');
  await page.keyboard.press('ArrowDown');
  assert.equal(picked(await shownSuggestions(page)), Math.min(1, n - 1));
  assert.equal(await page.evaluate(() => (document.activeElement as HTMLElement | null)?.dataset.k), String(Math.min(1, n - 1)), 'the picked rewrite has the focus');
  await page.keyboard.press('Escape');
  await page.waitForSelector('.popover', { state: 'detached', ...WAIT });
  assert.equal(await plainText(page), TEXT);

  await context.close();
  assert.deepEqual(errors, [], 'no console errors');
});

/** Every token overlapping [a, b) of the current text is drawn fresh (colored, with its index). */
async function assertScoredAround(page: Page, a: number, b: number): Promise<void> {
  const r = await page.evaluate(
    ([from, to]) => {
      const s = window.likelyEditorState!.scores()!;
      const want = s.mirror.tokens.flatMap((t, i) => (t.end > from && t.start < to && t.text.trim() !== '' ? [i] : []));
      const drawn = want.map((i) => {
        const el = document.querySelector<HTMLElement>(`.ProseMirror .tok[data-i="${i}"]`);
        return el ? { i, color: getComputedStyle(el).backgroundColor, pending: el.classList.contains('pending'), text: el.textContent } : null;
      });
      return { want, drawn, version: s.mirror.version === s.version };
    },
    [a, b] as const,
  );
  assert.ok(r.version, 'the scores are for the edited text');
  assert.ok(r.want.length > 0, 'the rewrite has tokens');
  for (const d of r.drawn) {
    assert.ok(d, 'each token of the rewrite is drawn');
    assert.ok(!d.pending && /^rgb/.test(d.color) && d.color !== 'rgba(0, 0, 0, 0)', `token ${d.i} (${d.text}) is colored: ${d.color}`);
  }
}

test('a rewrite result that arrives after an edit superseded its request is dropped', { skip: NO_CHROMIUM, timeout: 60_000 }, async () => {
  const context = await app.browser.newContext({ viewport: { width: 1200, height: 800 } });
  const page = await context.newPage();
  const errors = watchErrors(page);
  await page.goto(app.served.url);
  await page.waitForFunction(() => window.likelyEditorState?.model !== null, null, WAIT);
  await page.evaluate((t) => window.likelyEditor!.setPlainText(t), TEXT);
  await waitScored(page);
  // Hold every infill result in the page until released (the engine computes it meanwhile).
  await page.evaluate(() => {
    const w = window as unknown as { __release: () => void; __infills: number };
    const client = window.likelyEditorState!.engine as unknown as { call: (m: string, p: unknown) => Promise<unknown> };
    const call = client.call.bind(client);
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    w.__release = release;
    w.__infills = 0;
    client.call = (m, p) => {
      if (m !== 'infill') return call(m, p);
      w.__infills++;
      const result = call(m, p);
      // The wrapper holds the result back; the page handles its rejection (superseded) itself.
      result.catch(() => {});
      return gate.then(() => result);
    };
  });
  const idx = await tokenOf(page, WRONG);
  await page.locator(`.ProseMirror [data-i="${idx}"]`).first().click({ modifiers: ['Alt'] });
  await page.waitForFunction(() => (window as unknown as { __infills: number }).__infills === 1, null, WAIT);
  assert.match(await page.locator('.popover').innerText(), /Searching/);
  // An edit supersedes the request: the popover closes, and the late result must not bring it back.
  await page.keyboard.press('Control+End');
  await page.keyboard.type('!');
  await page.waitForSelector('.popover', { state: 'detached', ...WAIT });
  await page.evaluate(() => (window as unknown as { __release: () => void }).__release());
  await page.waitForTimeout(1500);
  assert.equal(await page.locator('.popover').count(), 0, 'the stale result opened nothing');
  assert.equal(await plainText(page), TEXT + '!');
  await context.close();
  assert.deepEqual(errors, [], 'no console errors');
});
