// Fill-in-the-blank in the editor, in Debian's Chromium against the real `serve` (engine process,
// embedded model): clicking a token lists the rewrites for its span — the same texts in the same
// order as `likely infill FILE --from S --to E --json --k 8` — each with a likelihood bar; the
// cycle shortcut (Alt+↓/↑, wrapping) moves the pick, Enter or a click replaces exactly the span as
// one undoable step, the new tokens get scored and colored; one Ctrl+Z restores the text exactly;
// a result that arrives after an edit superseded its request is dropped.
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
const TEXT =
  'The committee met on Tuesday to discuss the budget for the new library. After a long debate, the members agreed to spend most of the money on books and the rest on repairs to the old building.';

const app = servedApp('infill-ui');

interface CliInfill {
  span: { start: number; end: number; text: string };
  suggestions: { text: string; score: number }[];
}

function cliInfill(text: string, start: number, end: number): CliInfill {
  const file = join(app.dir, 'draft.txt');
  writeFileSync(file, text);
  const r = spawnSync('npm', ['run', '--silent', 'likely', '--', 'infill', file, '--from', String(start), '--to', String(end), '--json', '--k', '8'], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as CliInfill;
}

const plainText = (page: Page) => page.evaluate(() => window.likelyEditor!.getPlainText());


interface Shown {
  start: number;
  end: number;
  items: { text: string; score: number; width: number; ratio: string; selected: boolean }[];
}

/** The rewrites the popover lists, with their span, bar widths and which one is picked. */
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
        width: b.querySelector<HTMLElement>('.fill')!.getBoundingClientRect().width,
        ratio: b.querySelector('.ratio')!.textContent!,
        selected: b.closest('li')!.classList.contains('selected') && b.getAttribute('aria-current') === 'true',
      })),
    };
  });
}

const picked = (s: Shown) => s.items.findIndex((x) => x.selected);

/** The mirror index of the least likely word token (its span is where rewrites matter most). */
function unlikelyWord(page: Page): Promise<number> {
  return page.evaluate(() => {
    const tokens = window.likelyEditorState!.scores()!.mirror.tokens;
    let best = -1;
    tokens.forEach((t, i) => {
      if (/^ [A-Za-z]{3,}$/.test(t.text) && (best < 0 || t.rank > tokens[best]!.rank)) best = i;
    });
    return best;
  });
}

test('rewrites in the popover: same as `likely infill`, bars, cycle shortcut, Enter and click replace the span as one undoable step, re-scored', { skip: NO_CHROMIUM, timeout: 120_000 }, async () => {
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

  // Click the least likely word: the popover lists the rewrites for the span the engine proposes.
  const idx = await unlikelyWord(page);
  assert.ok(idx > 0, 'a word token to click');
  await page.click(`.ProseMirror [data-i="${idx}"]`);
  const shown = await shownSuggestions(page);
  const token = await page.evaluate((i) => window.likelyEditorState!.scores()!.mirror.tokens[i]!, idx);
  assert.ok(shown.start <= token.start + 1 && shown.end >= token.end, `span ${shown.start}..${shown.end} covers the clicked token ${token.start}..${token.end}`);
  assert.equal(await page.locator('.popover .sub').innerText().then((s) => s.includes(`“${TEXT.slice(shown.start, shown.end)}”`)), true, 'the span text is shown');
  await page.screenshot({ path: join(ARTIFACTS, 'infill-popover.png') });

  // The same rewrites, in the same order, as the CLI for that span.
  const cli = cliInfill(TEXT, shown.start, shown.end);
  assert.equal(cli.span.text, TEXT.slice(shown.start, shown.end));
  assert.ok(cli.suggestions.length > 0, 'the CLI proposes rewrites');
  assert.deepEqual(
    shown.items.map((x) => x.text),
    cli.suggestions.map((x) => x.text),
    'the popover lists the CLI\'s rewrites in order',
  );
  for (let k = 0; k < cli.suggestions.length; k++) assert.ok(Math.abs(shown.items[k]!.score - cli.suggestions[k]!.score) < 1e-2, `score of ${JSON.stringify(cli.suggestions[k]!.text)}`);
  // Likelihood bars: wider for better scores, none empty; the ratio to the original is printed.
  for (let k = 1; k < shown.items.length; k++) assert.ok(shown.items[k - 1]!.width >= shown.items[k]!.width - 0.5, `bar ${k - 1} at least as wide as bar ${k}`);
  assert.ok(shown.items.every((x) => x.width > 0 && /×$/.test(x.ratio)));
  assert.equal(picked(shown), -1, 'nothing picked yet');

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
  await page.click(`.ProseMirror [data-i="${idx}"]`);
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
    window.getSelection()!.collapse(el, 2);
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
      return gate.then(() => result);
    };
  });
  const idx = await unlikelyWord(page);
  await page.click(`.ProseMirror [data-i="${idx}"]`);
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
