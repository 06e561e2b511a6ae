/**
 * The native menu as a plain template (Electron's MenuItemConstructorOptions, imported as a type
 * only), built by a pure function so its platform conventions are unit-tested: CmdOrCtrl
 * shortcuts, the app menu on macOS (About, Services, Hide, Quit) and Quit under File elsewhere,
 * the Window menu on macOS. Every item that does something of ours has an `id` (tests and E2E
 * click them by id) and runs through one `dispatch`.
 */
import { basename } from 'node:path';
import type { MenuItemConstructorOptions } from 'electron';
import type { ShellCommand, ShellState, ThemeSource } from '../common/shell.ts';

export type MenuCommand = ShellCommand | { kind: 'open-recent'; path: string } | { kind: 'clear-recent' };

export interface MenuOptions {
  platform: NodeJS.Platform;
  appName: string;
  recentFiles: readonly string[];
  theme: ThemeSource;
  /** Show Reload and Developer Tools (never in a packaged app). */
  developer: boolean;
  dispatch(command: MenuCommand): void;
}

export function buildMenuTemplate(o: MenuOptions): MenuItemConstructorOptions[] {
  const mac = o.platform === 'darwin';
  const run = (command: MenuCommand) => () => o.dispatch(command);
  const item = (id: string, label: string, accelerator: string | undefined, command: MenuCommand): MenuItemConstructorOptions => ({
    id,
    label,
    ...(accelerator ? { accelerator } : {}),
    click: run(command),
  });

  const recent: MenuItemConstructorOptions[] = o.recentFiles.length
    ? [
        ...o.recentFiles.map((path, i) => ({ id: `recent-${i}`, label: basename(path), sublabel: path, toolTip: path, click: run({ kind: 'open-recent', path }) })),
        { type: 'separator' as const },
        item('clear-recent', 'Clear Menu', undefined, { kind: 'clear-recent' }),
      ]
    : [{ id: 'recent-none', label: 'No Recent Files', enabled: false }];

  const file: MenuItemConstructorOptions = {
    id: 'file',
    label: '&File',
    submenu: [
      item('new', 'New', 'CmdOrCtrl+N', { kind: 'new' }),
      item('open', 'Open…', 'CmdOrCtrl+O', { kind: 'open' }),
      { id: 'open-recent', label: 'Open Recent', submenu: recent },
      { type: 'separator' },
      item('save', 'Save', 'CmdOrCtrl+S', { kind: 'save' }),
      item('save-as', 'Save As…', 'CmdOrCtrl+Shift+S', { kind: 'save-as' }),
      item('export-html', 'Export Annotated HTML…', 'CmdOrCtrl+E', { kind: 'export-html' }),
      { type: 'separator' },
      item('close', mac ? 'Close Window' : 'Close', 'CmdOrCtrl+W', { kind: 'close' }),
      ...(mac ? [] : [{ type: 'separator' as const }, { id: 'quit', role: 'quit' as const, label: 'Quit', accelerator: 'Ctrl+Q' }]),
    ],
  };

  const edit: MenuItemConstructorOptions = {
    id: 'edit',
    label: '&Edit',
    submenu: [
      { role: 'undo' },
      { role: 'redo' },
      { type: 'separator' },
      { role: 'cut' },
      { role: 'copy' },
      { role: 'paste' },
      ...(mac ? [{ role: 'pasteAndMatchStyle' as const }] : []),
      { role: 'delete' },
      { type: 'separator' },
      { role: 'selectAll' },
    ],
  };

  const themeItem = (theme: ThemeSource, label: string): MenuItemConstructorOptions => ({
    id: `theme-${theme}`,
    label,
    type: 'radio',
    checked: o.theme === theme,
    click: run({ kind: 'set-theme', theme }),
  });
  const view: MenuItemConstructorOptions = {
    id: 'view',
    label: '&View',
    submenu: [
      { id: 'theme', label: 'Theme', submenu: [themeItem('system', 'Follow System'), themeItem('light', 'Light'), themeItem('dark', 'Dark')] },
      { type: 'separator' },
      { role: 'resetZoom' },
      { role: 'zoomIn' },
      { role: 'zoomOut' },
      { type: 'separator' },
      { role: 'togglefullscreen' },
      ...(o.developer ? [{ type: 'separator' as const }, { role: 'reload' as const }, { role: 'toggleDevTools' as const }] : []),
    ],
  };

  const engine: MenuItemConstructorOptions = {
    id: 'engine',
    label: 'E&ngine',
    submenu: [item('restart-engine', 'Restart Engine', undefined, { kind: 'restart-engine' })],
  };

  if (mac) {
    return [
      {
        id: 'app',
        label: o.appName,
        submenu: [
          { role: 'about' },
          { type: 'separator' },
          { role: 'services' },
          { type: 'separator' },
          { role: 'hide' },
          { role: 'hideOthers' },
          { role: 'unhide' },
          { type: 'separator' },
          { id: 'quit', role: 'quit' },
        ],
      },
      file,
      edit,
      view,
      engine,
      { id: 'window', role: 'windowMenu' },
    ];
  }
  return [file, edit, view, engine, { id: 'help', label: '&Help', submenu: [{ role: 'about', label: `About ${o.appName}` }] }];
}

/** "notes.md — Likely", with "•" before it while there are unsaved edits. */
export function windowTitle(state: Pick<ShellState, 'title' | 'dirty'>, appName = 'Likely'): string {
  return `${state.dirty ? '• ' : ''}${state.title} — ${appName}`;
}
