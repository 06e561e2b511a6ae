/**
 * npm run screenshot [-- --out FILE]   (default docs/screenshot.png)
 *
 * The editor at 1280×800 in Debian's Chromium against the real `serve` (embedded model): English
 * colored by log-probability, with a passage pasted twice (the copy is nearly free) and a few lines of
 * Python (more predictable than prose), and the popover of an unlikely word on the
 * first lines open with its numbers, the model's predictions and fill-in rewrites (one picked with
 * the cycle shortcut). Run it again whenever the model or the UI changes.
 */
import { mkdirSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { ROOT } from '../web-harness.ts';
import { openEditor, startSession, waitScored } from './page.ts';
import { CliError, scriptOptions } from '../../models/cli/args.ts';
import { atomicWriteFile } from '../../node/files.ts';

const TEXT = [
  'Writing is mostly rewriting. The first draft of a paragraph is rarely the one a reader sees: sentences get shorter, vague words give way to precise ones, and the order of the ideas settles into something that feels inevitable.',
  'A language model shows where your words surprise it, and what it has already seen. Pasted a second time, a passage is nearly free: Writing is mostly rewriting. The first draft of a paragraph is rarely the one a reader sees.',
  'Code is more predictable than prose:',
  'def mean(values):\n    total = sum(values)\n    return total / len(values)',
].join('\n\n');

const out = scriptOptions('screenshot', { values: ['out'] }, (args) => {
  if (args.positional.length) throw new CliError(`unexpected argument ${args.positional[0]}`);
  return resolve(args.values.out ?? join(ROOT, 'docs', 'screenshot.png'));
});

const s = await startSession();
try {
  const { page, errors, close } = await openEditor(s, { width: 1280, height: 800 });
  await page.evaluate((t) => window.likelyEditor!.setPlainText(t), TEXT);
  await waitScored(page);
  // The least likely word on the first two lines, right of the middle (the popover opens below it).
  const idx = await page.evaluate(() => {
    const tokens = window.likelyEditorState!.scores()!.mirror.tokens;
    const box = document.querySelector('.ProseMirror')!.getBoundingClientRect();
    let best = -1;
    let fallback = -1;
    tokens.forEach((t, i) => {
      if (!/^ [A-Za-z]{3,}$/.test(t.text)) return;
      if (fallback < 0 || t.rank > tokens[fallback]!.rank) fallback = i;
      const r = document.querySelector(`.ProseMirror [data-i="${i}"]`)?.getBoundingClientRect();
      if (r && r.top < box.top + 70 && r.left > box.left + box.width * 0.45 && r.right < box.right - 40 && (best < 0 || t.rank > tokens[best]!.rank)) best = i;
    });
    return best >= 0 ? best : fallback;
  });
  await page.click(`.ProseMirror [data-i="${idx}"]`);
  await page.waitForSelector('.popover .predictions li', { timeout: 60_000 });
  await page.waitForSelector('.popover .suggestions button', { timeout: 60_000 });
  await page.keyboard.press('Alt+ArrowDown');
  await page.evaluate(() => document.querySelector('.popover')!.scrollTo(0, 0));
  // Let the bars and the picked row settle, and move the pointer off the page.
  await page.mouse.move(5, 795);
  await page.waitForTimeout(300);
  mkdirSync(dirname(out), { recursive: true });
  await atomicWriteFile(out, await page.screenshot()); // the app's writer: a link is written through, a device or FIFO refused
  await close();
  if (errors.length) throw new Error(`page errors: ${errors.join('\n')}`);
  console.log(`${out}: ${Math.round(statSync(out).size / 1024)} KB`);
} finally {
  await s.stop();
}
process.exit(0);
