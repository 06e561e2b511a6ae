// A writer's files through the editor's own Open and Save (the served app; the File System Access
// API's pickers stood in for): every file of the corpus (e2e/fixtures/documents: prose, every
// Markdown construct, Python, JS, shell, tabs and trailing spaces, CRLF) opens and saves back
// byte-identical; pasted code becomes a code block whose text survives Save → Open in .md and .txt;
// pasted HTML keeps no script, handler, style or javascript: link (and trips no CSP); a paste past
// the scoring limit is refused at once; Markdown typed as you write it; Ctrl+F works from anywhere.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Page } from 'playwright';
import './page-globals.ts';
import { NO_CHROMIUM, ROOT, servedApp, watchErrors } from './web-harness.ts';

const WAIT = { timeout: 60_000 };
const DOCS = join(ROOT, 'e2e', 'fixtures', 'documents');
const app = servedApp('documents');

const PYTHON = `def count_words(path):
    counts = {}
    with open(path) as f:
        for line in f:
            for word in line.split():
                counts[word] = counts.get(word, 0) + 1
    return counts


if __name__ == "__main__":
\tprint(count_words("a.txt"), '\\"\\'()')   `;

async function open(): Promise<{ page: Page; errors: string[]; close: () => Promise<void> }> {
  const context = await app.browser.newContext({ viewport: { width: 1200, height: 800 } });
  context.setDefaultTimeout(30_000);
  const page = await context.newPage();
  const errors = watchErrors(page);
  // tsx names inner functions with a helper the page lacks; functions passed to the page may use it.
  await context.addInitScript({ content: 'window.__name = (f) => f;' });
  // The browser's pickers, stood in for: Open hands over window.__open, Save records what is written.
  await page.addInitScript(() => {
    const w = window as unknown as Record<string, unknown>;
    w.__saved = [] as unknown[];
    const handle = (name: string) => ({
      name,
      getFile: async () => new File([(w.__open as { bytes: string }).bytes], name),
      createWritable: async () => ({ write: async (d: string) => void (w.__saved as { name: string; data: string }[]).push({ name, data: d }), close: async () => {} }),
    });
    w.showOpenFilePicker = async () => [handle((w.__open as { name: string }).name)];
    w.showSaveFilePicker = async (o: { suggestedName: string }) => handle((w.__saveAs as string | undefined) ?? o.suggestedName);
  });
  await page.goto(app.served.url);
  await page.waitForSelector('.ProseMirror', WAIT);
  await page.waitForFunction(() => window.likelyWebDocument?.ready === true, null, WAIT);
  return { page, errors, close: () => context.close() };
}

/** Opens `bytes` as the file `name` through File ▸ Open (Ctrl+O). */
async function openFile(page: Page, name: string, bytes: string): Promise<void> {
  await page.evaluate(([n, b]) => ((window as unknown as Record<string, unknown>).__open = { name: n, bytes: b }), [name, bytes]);
  await page.keyboard.press('Control+o');
  await page.waitForFunction((n) => window.likelyWebDocument?.fileName === n, name, WAIT);
}

/** Saves with Ctrl+S (to the file it came from) or Ctrl+Shift+S as `saveAs`; returns what was written. */
async function save(page: Page, saveAs?: string): Promise<string> {
  const before = await page.evaluate(() => ((window as unknown as Record<string, unknown[]>).__saved ?? []).length);
  await page.evaluate((n) => ((window as unknown as Record<string, unknown>).__saveAs = n), saveAs ?? null);
  await page.keyboard.press(saveAs ? 'Control+Shift+s' : 'Control+s');
  await page.waitForFunction((n) => ((window as unknown as Record<string, unknown[]>).__saved ?? []).length > n, before, WAIT);
  return page.evaluate(() => (window as unknown as Record<string, { data: string }[]>).__saved!.at(-1)!.data);
}

function paste(page: Page, text: string, html?: string): Promise<void> {
  return page.evaluate(
    ([t, h]) => {
      const dt = new DataTransfer();
      dt.setData('text/plain', t!);
      if (h) dt.setData('text/html', h);
      document.querySelector('.ProseMirror')!.dispatchEvent(new ClipboardEvent('paste', { clipboardData: dt, bubbles: true, cancelable: true }));
    },
    [text, html ?? ''],
  );
}

test('every file of the corpus opens and saves back byte-identical, unedited; the editor shows its text', { skip: NO_CHROMIUM, timeout: 180_000 }, async () => {
  const o = await open();
  for (const name of readdirSync(DOCS)) {
    const bytes = readFileSync(join(DOCS, name), 'utf8');
    await openFile(o.page, name, bytes);
    assert.equal(await save(o.page), bytes, `${name} saved back as it was`);
    if (name.endsWith('.txt')) assert.equal(await o.page.evaluate(() => window.likelyEditor!.getPlainText()), bytes.replace(/\r\n/g, '\n'), `${name}: the editor shows its text`);
  }
  // Mixed line endings: unedited lines keep their own when another line is edited.
  await openFile(o.page, 'mixed.txt', 'one\r\ntwo\nthree\r\n');
  assert.equal(await save(o.page), 'one\r\ntwo\nthree\r\n', 'unedited: byte-identical');
  await o.page.locator('.ProseMirror').focus();
  await o.page.evaluate(() => {
    const walker = document.createTreeWalker(document.querySelector('.ProseMirror')!, NodeFilter.SHOW_TEXT);
    for (let n = walker.nextNode(); n; n = walker.nextNode()) if (n.textContent === 'two') return window.getSelection()!.collapse(n, 3);
  });
  await o.page.keyboard.type(' 2');
  assert.equal(await save(o.page), 'one\r\ntwo 2\nthree\r\n', 'the edited line keeps its LF, the others their CRLF');
  await o.close();
  assert.deepEqual(o.errors, []);
});

test('pasted code becomes a code block and survives Save → Open exactly, as Markdown and as plain text', { skip: NO_CHROMIUM, timeout: 180_000 }, async () => {
  const o = await open();
  const { page } = o;
  await page.click('.ProseMirror');
  await page.keyboard.type('Here is the function [with brackets] and a_b:');
  await page.keyboard.press('Enter');
  await paste(page, PYTHON);
  assert.equal(await page.locator('.ProseMirror pre.code-block').count(), 1, 'one code block');
  assert.equal(await page.locator('.ProseMirror pre.code-block').evaluate((el) => getComputedStyle(el).fontFamily.includes('mono')), true, 'monospace');
  assert.match(await page.locator('.statusbar .notice').innerText(), /Pasted as a code block/);
  await page.keyboard.type('And prose after it.');
  const text = await page.evaluate(() => window.likelyEditor!.getPlainText());
  assert.equal(text, `Here is the function [with brackets] and a_b:\n\n${PYTHON}\n\nAnd prose after it.`, 'the code is in the text exactly, its blank lines and tabs too');
  const md = await save(page, 'function.md');
  assert.ok(md.includes('Here is the function [with brackets] and a_b:'), `no needless escapes:\n${md}`);
  assert.ok(md.includes('```\n' + PYTHON + '\n```'), 'the code fenced as it is');
  await openFile(page, 'function.md', md);
  assert.equal(await page.evaluate(() => window.likelyEditor!.getPlainText()), text, 'reopened: the same text');
  assert.equal(await save(page), md, 'and the same file again');
  // As plain text: the same text, and the code shows as code when it is opened again.
  const txt = await save(page, 'function.txt');
  assert.equal(txt, text);
  await openFile(page, 'function.txt', txt);
  assert.equal(await page.evaluate(() => window.likelyEditor!.getPlainText()), text);
  assert.equal(await page.locator('.ProseMirror pre.code-block').count(), 1, 'the code is a code block again');
  // "Paste as text instead": the lines as lines, indentation kept.
  await page.keyboard.press('Control+End');
  await page.keyboard.press('Enter');
  await paste(page, 'x = 1\n    y = 2\nz()');
  await page.click('.statusbar .notice button:has-text("Paste as text instead")');
  const after = await page.evaluate(() => window.likelyEditor!.getPlainText());
  assert.ok(after.endsWith('x = 1\n    y = 2\nz()'), JSON.stringify(after.slice(-40)));
  await o.close();
  assert.deepEqual(o.errors, []);
});

test('pasted HTML: no script, handler, style, remote image or javascript: link, and no CSP violation; a paste past the scoring limit is refused at once', { skip: NO_CHROMIUM, timeout: 120_000 }, async () => {
  const o = await open();
  const { page } = o;
  await page.click('.ProseMirror');
  await paste(
    page,
    'plain click pic bold',
    '<p style="color:red" onclick="alert(1)">plain <a href="javascript:alert(1)" onmouseover="x()">click</a> <a href="https://example.com/ok">ok</a> <img src="http://evil.example/x.png" alt="pic" onerror="alert(2)"> <b style="x">bold</b></p><script>alert(3)</script><style>p{}</style>',
  );
  const md = await page.evaluate(() => window.likelyEditor!.getMarkdown());
  assert.equal(md, 'plain click [ok](https://example.com/ok) [pic] **bold**\n');
  assert.equal(await page.locator('.ProseMirror a[href^="javascript"], .ProseMirror [onclick], .ProseMirror [style*="color"], .ProseMirror img').count(), 0);
  // 5 MB: refused before anything parses it, said at once; the draft unchanged.
  const big = 'word '.repeat(1_000_000);
  const t0 = Date.now();
  await paste(page, big);
  assert.match(await page.locator('.statusbar .notice').innerText(), /Not pasted: the clipboard holds 4\.8 MB of text/);
  assert.ok(Date.now() - t0 < 5000, 'the page answered at once');
  assert.equal(await page.evaluate(() => window.likelyEditor!.getMarkdown()), md, 'nothing of it went in');
  await o.close();
  assert.deepEqual(o.errors, [], 'no console errors: no CSP violation either');
});

test('Markdown typed as you write it; spell-check on; Ctrl+F from the toolbar', { skip: NO_CHROMIUM, timeout: 120_000 }, async () => {
  const o = await open();
  const { page } = o;
  await page.click('.ProseMirror');
  await page.keyboard.type('# A title');
  await page.keyboard.press('Enter');
  await page.keyboard.type('Some **bold** and *em* and `code` here.');
  await page.keyboard.press('Enter');
  await page.keyboard.type('- first');
  await page.keyboard.press('Enter');
  await page.keyboard.type('second');
  await page.keyboard.press('Enter');
  await page.keyboard.press('Enter');
  await page.keyboard.type('```python');
  await page.keyboard.press('Enter');
  await page.keyboard.type('if x:');
  await page.keyboard.press('Enter');
  await page.keyboard.type('y()');
  const md = await page.evaluate(() => window.likelyEditor!.getMarkdown());
  assert.equal(md, '# A title\n\nSome **bold** and *em* and `code` here.\n\n- first\n\n- second\n\n```python\nif x:\ny()\n```\n');
  assert.equal(await page.getAttribute('.ProseMirror', 'spellcheck'), 'true');
  assert.equal(await page.locator('.ProseMirror pre.code-block').getAttribute('spellcheck'), 'false', 'no squiggles in code');
  await page.focus('[data-mode="rank"]');
  await page.keyboard.press('Control+f');
  await page.locator('.find-bar, [role="search"]').first().waitFor(WAIT);
  await o.close();
  assert.deepEqual(o.errors, []);
});
