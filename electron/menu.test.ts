import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { MenuItemConstructorOptions } from 'electron';
import { buildMenuTemplate, windowTitle, type MenuCommand, type MenuOptions } from './menu.ts';

function flatten(items: MenuItemConstructorOptions[]): MenuItemConstructorOptions[] {
  return items.flatMap((i) => [i, ...(Array.isArray(i.submenu) ? flatten(i.submenu) : [])]);
}

function menu(platform: NodeJS.Platform, extra: Partial<MenuOptions> = {}) {
  const dispatched: MenuCommand[] = [];
  const template = buildMenuTemplate({ platform, appName: 'Likely', recentFiles: [], theme: 'system', developer: false, dispatch: (c) => dispatched.push(c), ...extra });
  const byId = (id: string) => flatten(template).find((i) => i.id === id)!;
  const click = (id: string) => (byId(id).click as () => void)();
  return { template, byId, click, dispatched };
}

test('macOS: the app menu comes first with About, Services, Hide and Quit; a Window menu; Quit is not under File', () => {
  const { template, byId } = menu('darwin');
  assert.deepEqual(template.map((m) => m.id), ['app', 'file', 'edit', 'view', 'engine', 'window']);
  const app = (template[0]!.submenu as MenuItemConstructorOptions[]).map((i) => i.role).filter(Boolean);
  assert.deepEqual(app, ['about', 'services', 'hide', 'hideOthers', 'unhide', 'quit']);
  assert.equal(template.at(-1)!.role, 'windowMenu');
  assert.ok(!(byId('file').submenu as MenuItemConstructorOptions[]).some((i) => i.role === 'quit'));
  assert.ok(flatten(template).some((i) => i.role === 'pasteAndMatchStyle'));
});

for (const platform of ['linux', 'win32'] as const) {
  test(`${platform}: no app menu; Quit (Ctrl+Q) at the end of File; About under Help; mnemonics`, () => {
    const { template, byId } = menu(platform);
    assert.deepEqual(template.map((m) => m.id), ['file', 'edit', 'view', 'engine', 'help']);
    const file = byId('file').submenu as MenuItemConstructorOptions[];
    assert.equal(file.at(-1)!.role, 'quit');
    assert.equal(file.at(-1)!.accelerator, 'Ctrl+Q');
    assert.equal(byId('file').label, '&File');
  });
}

test('shortcuts use CmdOrCtrl and every command item dispatches its command', () => {
  const { byId, click, dispatched } = menu('linux');
  const expected: [string, string | undefined, MenuCommand][] = [
    ['new', 'CmdOrCtrl+N', { kind: 'new' }],
    ['open', 'CmdOrCtrl+O', { kind: 'open' }],
    ['save', 'CmdOrCtrl+S', { kind: 'save' }],
    ['save-as', 'CmdOrCtrl+Shift+S', { kind: 'save-as' }],
    ['export-html', 'CmdOrCtrl+E', { kind: 'export-html' }],
    ['close', 'CmdOrCtrl+W', { kind: 'close' }],
    ['restart-engine', undefined, { kind: 'restart-engine' }],
    ['theme-dark', undefined, { kind: 'set-theme', theme: 'dark' }],
  ];
  for (const [id, accelerator, command] of expected) {
    assert.equal(byId(id).accelerator, accelerator, id);
    click(id);
    assert.deepEqual(dispatched.at(-1), command, id);
  }
  const accelerators = ['new', 'open', 'save', 'save-as', 'export-html', 'close'].map((id) => byId(id).accelerator);
  assert.equal(new Set(accelerators).size, accelerators.length, 'no shortcut is used twice');
});

test('Open Recent lists the files with their paths, and a way to clear them', () => {
  const { byId, click, dispatched } = menu('darwin', { recentFiles: ['/home/w/a.md', '/home/w/b.txt'] });
  assert.equal(byId('recent-0').label, 'a.md');
  assert.equal(byId('recent-0').sublabel, '/home/w/a.md');
  click('recent-1');
  assert.deepEqual(dispatched.at(-1), { kind: 'open-recent', path: '/home/w/b.txt' });
  click('clear-recent');
  assert.deepEqual(dispatched.at(-1), { kind: 'clear-recent' });
  assert.equal(menu('darwin').byId('recent-none').enabled, false);
});

test('the theme radio follows the setting; developer items only in development', () => {
  const { byId } = menu('linux', { theme: 'dark' });
  assert.equal(byId('theme-dark').checked, true);
  assert.equal(byId('theme-system').checked, false);
  const roles = (o: Partial<MenuOptions>) => flatten(menu('linux', o).template).map((i) => i.role);
  assert.ok(!roles({ developer: false }).includes('toggleDevTools'));
  assert.ok(roles({ developer: true }).includes('toggleDevTools'));
});

test('the title shows the file name and a dirty marker', () => {
  assert.equal(windowTitle({ title: 'notes.md', dirty: false }), 'notes.md — Likely');
  assert.equal(windowTitle({ title: 'Untitled', dirty: true }), '• Untitled — Likely');
});
