// Every main screen at 1280×800 and 1024×700, light and dark, in Debian's Chromium against the real
// `serve` (embedded model, a private models folder listing the registry): the first-run note, the
// scored editor (the toolbar one row at 1280 px, the legend's hint whole), the popover with
// fill-in rewrites (opened with Alt+click on a word near the bottom of the window and on the
// first line: beside its token, room for eight rewrites without an inner scroll), the stats panel
// and the Models panel. Each asserts from bounding boxes that nothing runs past the viewport and
// that the page itself never scrolls, and writes a PNG to e2e/artifacts/screens/ for review.
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { before, test } from 'node:test';
import type { Page } from 'playwright';
import { formatBytes } from '../common/models-api.ts';
import { loadRegistry } from '../models/manager/registry.ts';
import './page-globals.ts';
import { ARTIFACTS, NO_CHROMIUM, servedApp, waitScored, watchErrors } from './web-harness.ts';

const WAIT = { timeout: 120_000 };
const OUT = join(ARTIFACTS, 'screens');
const TEXT = [
  'Writing is mostly rewriting. The first draft of a paragraph is rarely the one a reader sees: sentences get shorter, vague words give way to precise ones, and the order of the ideas settles into something that feels inevitable.',
  'A language model can help with that work in a modest way. It cannot tell you what you mean, but it can show you where your words surprise it, and a word that surprises the model may well surprise a reader too.',
  'The committee met on Tuesday to discuss the budget for the new library. After a long debate, the members agreed to spend most of the money on books and the rest on repairs to the old building.',
  'Nobody in the village remembered when the bridge was built. The old men said their fathers had crossed it as boys, and the river below had never once risen high enough to touch its stones.',
  'In the spring the fields turned green again and the farmers went back to work, planting corn and beans in long straight rows that ran down to the edge of the water.',
].join('\n\n');

/** GPT-2 small in the registry, and its download size as the models list reports it (every file's bytes). */
const SMALL = (() => {
  const m = loadRegistry().find((r) => r.size === 'small' && r.precision === 'fp32')!;
  return { name: m.name, bytes: m.files.reduce((s, f) => s + (f.bytes ?? f.approxBytes), 0) };
})();

const app = servedApp('screens');
before(() => mkdirSync(OUT, { recursive: true }));

/** Boxes of the elements that must be wholly inside the viewport, and whether the page scrolls. */
async function overflows(page: Page, selectors: string[]): Promise<string[]> {
  return page.evaluate((sels) => {
    const w = window.innerWidth;
    const h = window.innerHeight;
    const out: string[] = [];
    const root = document.scrollingElement!;
    if (root.scrollWidth > w || root.scrollHeight > h) out.push(`the page scrolls: ${root.scrollWidth}×${root.scrollHeight} in ${w}×${h}`);
    for (const sel of sels) {
      const els = [...document.querySelectorAll(sel)];
      if (els.length === 0) out.push(`${sel}: missing`);
      for (const el of els) {
        const r = el.getBoundingClientRect();
        if (r.width === 0 && r.height === 0) continue;
        if (r.left < -0.5 || r.top < -0.5 || r.right > w + 0.5 || r.bottom > h + 0.5) out.push(`${sel} "${(el.textContent ?? '').trim().slice(0, 30)}" at ${Math.round(r.left)},${Math.round(r.top)}–${Math.round(r.right)},${Math.round(r.bottom)} outside ${w}×${h}`);
      }
    }
    return out;
  }, selectors);
}

/** The chrome every screen shows: toolbar (each button), legend, workspace, status bar. */
const CHROME = ['.toolbar', '.toolbar button', '.legend', '.workspace', '.statusbar', '.statusbar [data-status]'];

async function shoot(page: Page, name: string, selectors: string[]): Promise<void> {
  await page.mouse.move(2, 2);
  await page.waitForTimeout(150);
  await page.screenshot({ path: join(OUT, `${name}.png`) });
  assert.deepEqual(await overflows(page, [...CHROME, ...selectors]), [], name);
}

for (const [width, height] of [
  [1280, 800],
  [1024, 700],
] as const) {
  for (const scheme of ['light', 'dark'] as const) {
    test(`every screen at ${width}×${height}, ${scheme}`, { skip: NO_CHROMIUM, timeout: 600_000 }, async () => {
      const context = await app.browser.newContext({ viewport: { width, height }, colorScheme: scheme, deviceScaleFactor: 1 });
      context.setDefaultTimeout(60_000);
      const page = await context.newPage();
      const errors = watchErrors(page);
      const tag = `${width}x${height}-${scheme}`;
      try {
        await page.goto(app.served.url);
        await page.waitForSelector('.ProseMirror', WAIT);
        assert.equal(await page.evaluate(() => document.documentElement.classList.contains('dark')), scheme === 'dark');

        // First run: the note names the embedded model and offers GPT-2 small with its download size from the models list.
        const note = page.locator('[data-note="first-run"]');
        await note.waitFor(WAIT);
        const text = await note.innerText();
        assert.match(text, /small stand-in for GPT-2/);
        assert.ok(text.includes(`${SMALL.name} is a ${formatBytes(SMALL.bytes)} download`), text);
        await page.evaluate((t) => window.likelyEditor!.setPlainText(t), TEXT);
        await waitScored(page, 180_000, 100);
        await shoot(page, `${tag}-first-run`, ['[data-note="first-run"]', '[data-note="first-run"] button']);

        // Dismissed, it stays dismissed after a reload (the draft too).
        await page.click('[data-action="dismiss-note"]');
        assert.equal(await note.count(), 0);
        await page.reload();
        await page.waitForSelector('.ProseMirror', WAIT);
        await waitScored(page, 180_000, 100);
        assert.equal(await note.count(), 0, 'the note stays dismissed');
        await shoot(page, `${tag}-editor`, ['.legend .end', '.legend .bar']);
        const legend = await page.locator('.legend').innerText();
        assert.doesNotMatch(legend, /p ≥ 100%|ln p ≥ 0\.\d|waiting for new scores/, legend);

        assert.match(await page.locator('[data-status="words"]').innerText(), /^\d{3} words$/, 'the restored draft is counted');
        // The toolbar is one row at 1280 px; the legend's hint is shown whole.
        const spread = await page.$$eval('.toolbar button', (els) => {
          const centers = els.filter((e) => (e as HTMLElement).offsetWidth > 0).map((e) => (e.getBoundingClientRect().top + e.getBoundingClientRect().bottom) / 2);
          return Math.max(...centers) - Math.min(...centers);
        });
        if (width >= 1280) assert.ok(spread < 12, `the toolbar fits one row (its buttons' centers within ${spread.toFixed(1)} px)`);
        assert.ok(await page.$eval('[data-legend="hint"]', (el) => el.scrollWidth <= el.clientWidth + 1 && el.getBoundingClientRect().right <= window.innerWidth), 'the hint is not cut');

        // The popover (asked for with Alt+click), on the lowest word in the window (it goes above)
        // and on the first line (it goes below): never over the token's line, inside the window
        // and the editor (below the toolbar), room for eight rewrites without scrolling inside.
        for (const [where, pick] of [
          ['bottom', 'lowest'],
          ['top', 'highest'],
        ] as const) {
          const idx = await page.evaluate((pick) => {
            const tokens = window.likelyEditorState!.scores()!.mirror.tokens;
            const scroller = document.querySelector('.editor-scroll')!.getBoundingClientRect();
            let best = -1;
            let bestY = 0;
            tokens.forEach((t, i) => {
              if (!/^ [A-Za-z]{4,}$/.test(t.text)) return;
              const r = document.querySelector(`.ProseMirror [data-i="${i}"]`)?.getBoundingClientRect();
              if (!r || r.bottom > scroller.bottom - 8 || r.top < scroller.top) return;
              if (best < 0 || (pick === 'lowest' ? r.bottom > bestY : r.top < bestY)) {
                best = i;
                bestY = pick === 'lowest' ? r.bottom : r.top;
              }
            });
            return best;
          }, pick);
          assert.ok(idx >= 0);
          await page.locator(`.ProseMirror [data-i="${idx}"]`).first().click({ modifiers: ['Alt'] });
          await page.waitForSelector('.popover .predictions li code', WAIT);
          await page.waitForFunction(() => !/Searching/.test(document.querySelector('.popover [data-rewrites-status]')?.textContent ?? ''), null, WAIT);
          await shoot(page, `${tag}-popover-${where}`, ['.popover']);
          const pop = await page.evaluate((i) => {
            const el = document.querySelector<HTMLElement>('.popover')!;
            const box = el.getBoundingClientRect();
            const tok = [...document.querySelectorAll(`.ProseMirror [data-i="${i}"]`)].map((t) => t.getBoundingClientRect());
            const scroller = document.querySelector('.editor-scroll')!.getBoundingClientRect();
            return {
              scrolls: el.scrollHeight > el.clientHeight + 1,
              rows: el.querySelectorAll('.suggestions li').length,
              clear: tok.every((r) => box.top >= r.bottom - 0.5 || box.bottom <= r.top + 0.5),
              inside: box.top >= scroller.top - 0.5 && box.bottom <= scroller.bottom + 0.5,
            };
          }, idx);
          assert.equal(pop.rows, 8, 'eight rewrite rows');
          assert.ok(!pop.scrolls, 'nothing to scroll inside the popover');
          assert.ok(pop.clear, "the token's line stays visible");
          assert.ok(pop.inside, 'inside the editor, below the toolbar');
          await page.keyboard.press('Escape');
          await page.waitForSelector('.popover', { state: 'detached' });
        }

        // The stats panel.
        await page.click('.toolbar button:has-text("Stats")');
        await page.waitForSelector('.stats .histogram .bar');
        await shoot(page, `${tag}-stats`, ['.stats', '.stats .histogram', '.stats .bucket']);
        await page.click('.toolbar button:has-text("Stats")');

        // The Models panel: every row and its buttons inside the window (the panel scrolls inside).
        await page.click('[data-action="models"]');
        await page.waitForSelector('.models-panel .list li');
        await shoot(page, `${tag}-models`, ['.models-panel']);
        assert.deepEqual(errors, [], 'no console errors (CSP violations included)');
      } finally {
        await context.close();
      }
    });
  }
}
