// The desktop app end to end, with Playwright's Electron driver: launch the packaged main process
// (dist/electron) on a Markdown file, type, see the engine's colors on the new tokens, save with
// the menu, quit, launch again and find the text. Also: the window title's dirty marker, and the
// engine process killed and restarted while the window stays. Runs where an Electron binary exists
// (and a display: Xvfb on Linux CI); elsewhere it is skipped with the reason.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { _electron as electron, type ElectronApplication, type Page } from 'playwright';
import { buildElectron } from '../electron/build.ts';
import { findElectronBinary } from '../electron/electron-binary.ts';

const ROOT = resolve(import.meta.dirname, '..');
const binary = findElectronBinary();
const noDisplay = process.platform === 'linux' && !process.env.DISPLAY && !process.env.WAYLAND_DISPLAY;
const skip = 'reason' in binary ? `Electron E2E skipped: ${binary.reason}` : noDisplay ? 'Electron E2E skipped: no display (run under xvfb-run)' : false;

async function launch(userData: string, file: string): Promise<{ app: ElectronApplication; page: Page }> {
  const app = await electron.launch({
    executablePath: (binary as { path: string }).path,
    args: [ROOT, file],
    cwd: ROOT,
    env: { ...process.env, LIKELY_USER_DATA_DIR: userData, ELECTRON_ENABLE_LOGGING: '1' },
    timeout: 60_000,
  });
  const page = await app.firstWindow();
  await page.waitForSelector('.ProseMirror', { timeout: 60_000 });
  return { app, page };
}

const clickMenu = (app: ElectronApplication, id: string) =>
  app.evaluate(({ Menu }, itemId) => {
    const item = Menu.getApplicationMenu()?.getMenuItemById(itemId);
    if (!item) throw new Error(`no menu item ${itemId}`);
    item.click();
  }, id);

/** Tokens the editor has colored (the score plugin puts the color in --c and the index in data-i). */
const coloredTokens = (page: Page) => page.locator('.ProseMirror [data-i][style*="--c"]').count();

test('desktop app: open a file, type, see colors, save, reopen', { skip, timeout: 300_000 }, async () => {
  if (!existsSync(join(ROOT, 'renderer', 'dist', 'index.html'))) {
    const r = spawnSync('npm', ['run', '--silent', 'build:renderer'], { cwd: ROOT, stdio: 'inherit' });
    assert.equal(r.status, 0, 'renderer build');
  }
  await buildElectron();
  const dir = mkdtempSync(join(tmpdir(), 'likely-electron-e2e-'));
  const userData = join(dir, 'userData');
  const file = join(dir, 'draft.md');
  writeFileSync(file, 'A short draft.\n');
  const typed = ' The quick brown fox jumps over the lazy dog.';
  try {
    let { app, page } = await launch(userData, file);
    // No Node in the page, and exactly the three bridges.
    assert.deepEqual(await page.evaluate(() => [typeof (globalThis as { require?: unknown }).require, typeof (globalThis as { process?: unknown }).process]), ['undefined', 'undefined']);
    assert.deepEqual(await page.evaluate(() => Object.keys(window).filter((k) => k.startsWith('likely')).sort()), ['likelyEngine', 'likelyModels', 'likelyShell']);
    assert.match(await app.evaluate(({ BrowserWindow }) => BrowserWindow.getAllWindows()[0]!.getTitle()), /^draft\.md — Likely$/);

    await page.locator('.ProseMirror').click();
    await page.keyboard.press('ControlOrMeta+End');
    await page.keyboard.type(typed, { delay: 15 });
    await page.waitForFunction(() => document.querySelectorAll('.ProseMirror [data-i][style*="--c"]').length >= 12, null, { timeout: 60_000 });
    assert.ok((await coloredTokens(page)) >= 12, 'the typed words are colored');
    assert.match(await app.evaluate(({ BrowserWindow }) => BrowserWindow.getAllWindows()[0]!.getTitle()), /^• draft\.md/, 'dirty marker while unsaved');

    await clickMenu(app, 'save');
    const deadline = Date.now() + 10_000;
    while (!readFileSync(file, 'utf8').includes(typed.trim()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    assert.ok(readFileSync(file, 'utf8').includes('A short draft. The quick brown fox jumps over the lazy dog.'), readFileSync(file, 'utf8'));
    let title = '';
    for (const until = Date.now() + 5_000; Date.now() < until; await new Promise((r) => setTimeout(r, 100))) {
      title = await app.evaluate(({ BrowserWindow }) => BrowserWindow.getAllWindows()[0]!.getTitle());
      if (!title.startsWith('•')) break;
    }
    assert.equal(title, 'draft.md — Likely', 'no dirty marker once saved');

    // The engine process dies: the window stays, and scoring comes back.
    await clickMenu(app, 'restart-engine');
    await page.keyboard.type(' Again.', { delay: 15 });
    await page.waitForFunction(() => document.querySelectorAll('.ProseMirror [data-i][style*="--c"]').length >= 14, null, { timeout: 60_000 });
    await clickMenu(app, 'save');
    await app.close();

    ({ app, page } = await launch(userData, file));
    await page.waitForFunction((t) => document.querySelector('.ProseMirror')?.textContent?.includes(t), 'lazy dog. Again.', { timeout: 30_000 });
    await page.waitForFunction(() => document.querySelectorAll('.ProseMirror [data-i][style*="--c"]').length >= 14, null, { timeout: 60_000 });
    await app.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
