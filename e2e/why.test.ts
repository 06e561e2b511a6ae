// The popover's Why view on the embedded model (whose layer-1 induction heads copy), in the served
// app and in the static build: for a token of a passage's second copy it says "Copied from" and
// points at the token of the first copy, equal to `likely attention --json`; the text marks what
// the head looked at; the heads grid picks another head and the marks follow; Why stays chosen for
// the next popover; no console error.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { AttentionResult } from '../common/api.ts';
import './page-globals.ts';
import { bothShells, NO_CHROMIUM, ROOT, waitScored, watchErrors } from './web-harness.ts';

const WAIT = { timeout: 120_000 };
const PASSAGE = 'Seven purple kites drifted over the quiet harbor while old Mr. Abernathy counted gulls on the pier.';
const TEXT = `${PASSAGE} The wind changed in the afternoon and the boats came home early.\n\n${PASSAGE}`;
const WORD = ' harbor';

const shells = bothShells('why');

function cliAttention(at: number): AttentionResult {
  const file = join(shells.dir, 'passage.txt');
  writeFileSync(file, TEXT);
  const r = spawnSync('npm', ['run', '--silent', 'likely', '--', 'attention', file, '--at', String(at), '--json'], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as AttentionResult;
}

for (const shell of ['served app', 'static build'] as const) {
  test(`Why in the ${shell}: a token of a passage's second copy was copied from the first copy; what the head looked at is marked; the heads grid picks another head`, { skip: NO_CHROMIUM, timeout: 240_000 }, async () => {
    const context = await shells.browser.newContext({ viewport: { width: 1280, height: 800 } });
    context.setDefaultTimeout(60_000);
    await context.addInitScript({ content: 'window.__name = (f) => f;' });
    const page = await context.newPage();
    const errors = watchErrors(page);
    await page.goto(shells.url(shell));
    await page.waitForFunction(() => window.likelyWebDocument?.ready === true && window.likelyEditorState?.model !== null, null, WAIT);
    await page.evaluate((t) => window.likelyEditor!.setPlainText(t), TEXT);
    await waitScored(page, WAIT.timeout);
    const second = TEXT.lastIndexOf(WORD);
    const first = TEXT.indexOf(WORD);
    const idx = await page.evaluate((at) => window.likelyEditorState!.scores()!.mirror.tokens.findIndex((t) => t.start === at), second);
    assert.ok(idx > 0, 'the second copy’s token');
    await page.locator(`.ProseMirror [data-i="${idx}"]`).first().click({ modifiers: ['Alt'] });
    await page.click('.popover [data-view="why"]');
    const copied = page.locator('.popover [data-copied-from]');
    await copied.waitFor(WAIT);
    // Copied from the first copy's token, as the CLI says.
    const cli = cliAttention(second + 1);
    assert.ok(cli.copiedFrom, 'the CLI finds the copy');
    assert.equal(cli.copiedFrom!.start, first);
    assert.equal(await copied.getAttribute('data-copied-from'), String(first));
    assert.match(await copied.innerText(), new RegExp(`Copied from “␣harbor” earlier \\(layer ${cli.copiedFrom!.layer}, head ${cli.copiedFrom!.head}\\)`));
    // The copy source and what the head looked at are marked in the text.
    assert.equal(await page.locator('.ProseMirror .attn-copy').allTextContents().then((t) => t.join('').trim()), 'harbor', 'the copy source is marked');
    const marked = await page.locator('.ProseMirror .attn').count();
    assert.ok(marked > 0, 'the looked-at tokens are marked');
    assert.equal(await page.locator('.ProseMirror .attn-top').count() > 0, true, 'the strongest one over-lined');
    await page.screenshot({ path: join(ROOT, 'e2e', 'artifacts', `why-${shell.replace(' ', '-')}.png`) });
    // The grid: one cell per head; picking another head repaints.
    const layers = cli.layers.length;
    const heads = cli.layers[0]!.heads.length;
    assert.equal(await page.locator('.popover .grid .cell').count(), layers * heads);
    const header = () => page.locator('.popover .why h4').innerText();
    await page.click('.popover .grid .cell[data-layer="0"][data-head="1"]');
    assert.equal(await header(), 'Looked at (layer 0, head 1)');
    assert.equal(await page.locator('.popover .grid .cell.picked').count(), 1);
    // Keyboard: the cells are buttons (Tab reaches them, Enter picks).
    await page.focus('.popover .grid .cell[data-layer="1"][data-head="0"]');
    await page.keyboard.press('Enter');
    assert.equal(await header(), 'Looked at (layer 1, head 0)');
    // Why stays chosen for the next popover; closing clears the marks.
    await page.keyboard.press('Escape');
    await page.waitForSelector('.popover', { state: 'detached' });
    assert.equal(await page.locator('.ProseMirror .attn, .ProseMirror .attn-copy').count(), 0, 'no marks once it closes');
    await page.locator(`.ProseMirror [data-i="${idx - 1}"]`).first().click({ modifiers: ['Alt'] });
    await page.locator('.popover .why').waitFor(WAIT);
    await context.close();
    assert.deepEqual(errors, [], 'no console errors');
  });
}
