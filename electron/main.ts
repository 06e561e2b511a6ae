/**
 * The Electron main process: app lifecycle, one window per document, the native menu, theme,
 * settings, the app:// protocol, IPC with sender checks, and the hardening of every web contents
 * (README.md lists each item of Electron's security checklist and where it is met).
 *
 * Built by `npm run build:electron` (electron/build.ts) into dist/electron/main.js (ESM), with
 * preload.cjs and engine-process.js beside it.
 *
 * Models (the Models panel, common/models-api.ts): one ModelsService (models-service.ts) for the
 * app, over the models folder the CLI uses too (LIKELY_MODELS_DIR or the platform's data folder)
 * and the hub in HF_ENDPOINT. Switching the model or the device restarts every window's engine
 * with it (each window's document is re-scored) and is kept in settings (modelId, modelDir, device).
 *
 * Environment (for tests): LIKELY_USER_DATA_DIR replaces userData; LIKELY_RENDERER_DIR the
 * built renderer folder; LIKELY_MODEL_DIR the embedded model folder; LIKELY_REGISTRY a registry
 * file replacing models/registry.json.
 */
import { readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { app, BrowserWindow, dialog, ipcMain, Menu, nativeTheme, protocol, session, shell, type IpcMainEvent, type IpcMainInvokeEvent } from 'electron';
import { validateEngineCall } from '../common/api.ts';
import { validateModelsCall, type AppModelsEvents } from '../common/models-api.ts';
import { CallError } from '../common/rpc.ts';
import { APP_SCHEME, CHANNELS, type ShellCommand, type ThemeState } from '../common/shell.ts';
import { loadRegistry, parseRegistry } from '../models/manager/registry.ts';
// Bundled into main.js: the registry's file path is not known inside the app's archive.
import bundledRegistry from '../models/registry.json' with { type: 'json' };
import { DocumentError, readDocument, removeStaleTemps } from '../node/files.ts';
import { buildMenuTemplate, type MenuCommand } from './menu.ts';
import { ModelsService } from '../models/service/models-service.ts';
import { RecoveryStore, type RecoveryEntry } from '../node/recovery.ts';
import {
  CONTENT_SECURITY_POLICY,
  isAllowedExternalUrl,
  isPermissionAllowed,
  isTrustedSender,
  resolveAppRequest,
  validateContentReply,
  validateDroppedPath,
  validateExportReply,
  validateShellCommand,
} from './security.ts';
import { SettingsStore } from '../node/settings.ts';
import { utilityProcessSpawn } from './utility-spawn.ts';
import { DocumentWindow, FILE_FILTERS } from './window.ts';

const here = dirname(fileURLToPath(import.meta.url)); // dist/electron (inside app.asar when packaged)
const appRoot = resolve(here, '..', '..');
const paths = {
  preload: join(here, 'preload.cjs'),
  engineEntry: join(here, 'engine-process.js'),
  renderer: process.env.LIKELY_RENDERER_DIR ?? join(appRoot, 'renderer', 'dist'),
  embeddedModel: process.env.LIKELY_MODEL_DIR ?? (app.isPackaged ? join(process.resourcesPath, 'embedded') : join(appRoot, 'models', 'embedded')),
};

if (process.env.LIKELY_USER_DATA_DIR) app.setPath('userData', resolve(process.env.LIKELY_USER_DATA_DIR));

// Before `ready`: our scheme behaves like https (standard origin, secure context, fetch).
protocol.registerSchemesAsPrivileged([{ scheme: APP_SCHEME, privileges: { standard: true, secure: true, supportFetchAPI: true, codeCache: true } }]);
app.enableSandbox();

/** Files named on the command line (or by the OS) before the app was ready. */
const pendingOpens: string[] = [];
const windows = new Map<number, DocumentWindow>(); // by webContents id
let settings: SettingsStore;
let recovery: RecoveryStore;
let models: ModelsService;
let quitting = false;
let ready = false;

/** Files named in a command line: [electron, (app path when unpackaged), ...files]; flags start with '-'. */
function fileArgs(argv: string[], cwd = process.cwd()): string[] {
  return argv
    .slice(app.isPackaged ? 1 : 2)
    .filter((a) => !a.startsWith('-') && a !== '.' && !/\.(js|cjs|mjs)$/.test(a))
    .map((a) => resolve(cwd, a));
}

if (!app.requestSingleInstanceLock()) {
  // Another Likely is running: it opens our files (second-instance) and we leave.
  app.quit();
} else {
  pendingOpens.push(...fileArgs(process.argv));
  app.on('second-instance', (_e, argv, cwd) => {
    const files = fileArgs(argv, cwd);
    if (files.length) void openPaths(files);
    else focusAnyWindow();
  });
  app.on('open-file', (e, path) => {
    // macOS: Finder, the Dock, or `open -a Likely file.md`.
    e.preventDefault();
    if (ready) void openPaths([path]);
    else pendingOpens.push(path);
  });
  app.whenReady().then(start, (e: Error) => {
    dialog.showErrorBox('Likely could not start', e.message);
    app.exit(1);
  });
}

function themeState(): ThemeState {
  return { source: settings.get().theme, dark: nativeTheme.shouldUseDarkColors };
}

function focusAnyWindow(): void {
  const w = BrowserWindow.getAllWindows()[0];
  if (w) {
    if (w.isMinimized()) w.restore();
    w.focus();
  } else if (ready) {
    createWindow();
  }
}

function createWindow(init: ConstructorParameters<typeof DocumentWindow>[1] = {}): DocumentWindow {
  const w = new DocumentWindow(
    {
      preloadPath: paths.preload,
      settings,
      recovery,
      engineOptions: () => ({ ...models.engineOptions(), entry: paths.engineEntry, spawn: utilityProcessSpawn() }),
      theme: themeState,
      rememberRecent: (path) => {
        void settings.addRecent(path);
        app.addRecentDocument(path);
      },
      closed: (win) => {
        windows.delete(win.webContentsId);
        if (quitting && windows.size === 0) app.quit();
      },
      closeCancelled: () => {
        quitting = false;
      },
    },
    init,
  );
  windows.set(w.webContentsId, w);
  return w;
}

function windowOf(browserWindow: BrowserWindow | null | undefined): DocumentWindow | undefined {
  return browserWindow ? windows.get(browserWindow.webContents.id) : undefined;
}

function windowForPath(path: string): DocumentWindow | undefined {
  return [...windows.values()].find((w) => w.session.path && resolve(w.session.path) === resolve(path));
}

/** Opens files, one window each (reusing a pristine `from` window). Unreadable files explain why and change nothing. */
async function openPaths(files: string[], from?: DocumentWindow): Promise<void> {
  for (const path of files) {
    const open = windowForPath(path);
    if (open) {
      open.win.focus();
      continue;
    }
    try {
      const doc = await readDocument(path);
      void removeStaleTemps(path);
      const init = { path: doc.path, text: doc.text, format: doc.format, encoding: doc.encoding, stamp: doc.stamp };
      if (from && from.pristine && !from.win.isDestroyed()) {
        from.replaceDocument(init);
        from = undefined;
      } else {
        createWindow(init);
      }
      void settings.addRecent(path);
      app.addRecentDocument(path);
    } catch (e) {
      const message = e instanceof DocumentError ? e.message : `cannot open ${path}: ${(e as Error).message}`;
      if (e instanceof DocumentError && e.code === 'ENOENT') void settings.removeRecent(path);
      const parent = from && !from.win.isDestroyed() ? from.win : BrowserWindow.getFocusedWindow();
      if (parent) await dialog.showMessageBox(parent, { type: 'error', message, buttons: ['OK'] });
      else dialog.showErrorBox('Likely', message);
    }
  }
}

async function runCommand(command: MenuCommand, w: DocumentWindow | undefined): Promise<void> {
  switch (command.kind) {
    case 'new':
      createWindow();
      return;
    case 'open': {
      const parent = w?.win ?? BrowserWindow.getFocusedWindow();
      const options: Electron.OpenDialogOptions = { properties: ['openFile', 'multiSelections'], filters: [{ name: 'Markdown and text', extensions: FILE_FILTERS.flatMap((f) => f.extensions) }, { name: 'All files', extensions: ['*'] }] };
      const { canceled, filePaths } = parent ? await dialog.showOpenDialog(parent, options) : await dialog.showOpenDialog(options);
      if (!canceled) await openPaths(filePaths, w);
      return;
    }
    case 'open-recent':
      await openPaths([command.path], w);
      return;
    case 'clear-recent':
      await settings.update({ recentFiles: [] });
      app.clearRecentDocuments();
      return;
    case 'set-theme':
      await settings.update({ theme: command.theme });
      return;
  }
  if (!w) return;
  switch (command.kind) {
    case 'save':
      await w.save();
      return;
    case 'save-as':
      await w.saveAs();
      return;
    case 'export-html':
      await w.exportHtml();
      return;
    case 'close':
      w.win.close();
      return;
    case 'restart-engine':
      w.engine.restart();
      return;
  }
}

function updateMenu(): void {
  const s = settings.get();
  const template = buildMenuTemplate({
    platform: process.platform,
    appName: app.name,
    recentFiles: s.recentFiles,
    theme: s.theme,
    developer: !app.isPackaged,
    dispatch: (command) => void runCommand(command, windowOf(BrowserWindow.getFocusedWindow())),
  });
  Menu.setApplicationMenu(Menu.buildFromTemplate(template));
}

/** The window behind an IPC message, or undefined when the sender is not our own top-level page (see security.ts). */
function trustedWindow(e: IpcMainEvent | IpcMainInvokeEvent): DocumentWindow | undefined {
  const w = windows.get(e.sender.id);
  const frame = e.senderFrame;
  return isTrustedSender({ frameUrl: frame?.url, isMainFrame: !!frame && frame.parent === null, knownWindow: !!w }) ? w : undefined;
}

function handle(channel: string, fn: (w: DocumentWindow, ...args: unknown[]) => unknown): void {
  ipcMain.handle(channel, (e, ...args) => {
    const w = trustedWindow(e);
    if (!w) throw new CallError('untrusted sender');
    return fn(w, ...args);
  });
}

function listen(channel: string, fn: (w: DocumentWindow, ...args: unknown[]) => void): void {
  ipcMain.on(channel, (e, ...args) => {
    const w = trustedWindow(e);
    if (!w) return;
    try {
      fn(w, ...args);
    } catch (err) {
      if (!(err instanceof CallError)) throw err;
    }
  });
}

function registerIpc(): void {
  listen(CHANNELS.enginePage, (w) => w.engine.newPage());
  handle(CHANNELS.engineCall, (w, method, params) => {
    const call = validateEngineCall(method, params);
    return w.engine.call(call.method, call.params as never);
  });
  handle(CHANNELS.engineStatus, (w) => w.engine.status);
  handle(CHANNELS.shellReady, (w) => w.ready());
  listen(CHANNELS.shellEdited, (w) => w.session.edited());
  listen(CHANNELS.shellContent, (w, requestId, text) => {
    const r = validateContentReply(requestId, text);
    w.receiveContent(r.requestId, r.text);
  });
  listen(CHANNELS.shellExport, (w, requestId, reply) => {
    const r = validateExportReply(requestId, reply);
    w.receiveExport(r.requestId, r.reply);
  });
  handle(CHANNELS.shellCommand, (w, command) => runCommand(validateShellCommand(command) satisfies ShellCommand, w));
  handle(CHANNELS.shellOpenPath, (w, path) => openPaths([validateDroppedPath(path)], w));
  handle(CHANNELS.modelsCall, (w, method, params) => {
    const call = validateModelsCall(method, params);
    return models.call(call.method, call.params as never, {
      pickFolder: async () => {
        const options: Electron.OpenDialogOptions = { title: 'Import a model folder', buttonLabel: 'Import', properties: ['openDirectory'] };
        const { canceled, filePaths } = await dialog.showOpenDialog(w.win, options);
        return canceled || !filePaths[0] ? null : filePaths[0];
      },
    });
  });
}

/** Models events go to every window (a download started in one shows its progress in all). */
function broadcastModels<E extends keyof AppModelsEvents>(event: E, data: AppModelsEvents[E]): void {
  for (const w of windows.values()) if (!w.win.isDestroyed()) w.win.webContents.send(CHANNELS.modelsEvent, { event, data });
}

function createModelsService(): ModelsService {
  const s = settings.get();
  return new ModelsService({
    manager: {
      embeddedDir: paths.embeddedModel,
      registry: process.env.LIKELY_REGISTRY ? loadRegistry(resolve(process.env.LIKELY_REGISTRY)) : parseRegistry(bundledRegistry, 'models/registry.json'),
    },
    engines: () => [...windows.values()].map((w) => w.engine),
    initial: { modelId: s.modelId, modelDir: s.modelDir ?? undefined, device: s.device },
    emit: broadcastModels,
    persist: (c) => settings.update({ modelId: c.modelId, modelDir: c.modelDir === paths.embeddedModel ? null : c.modelDir, device: c.device }),
    nativeFolderPicker: true,
  });
}

function harden(): void {
  const ses = session.defaultSession;
  // Permissions: denied by default (security.ts has the one exception).
  ses.setPermissionRequestHandler((_wc, permission, callback, details) => callback(isPermissionAllowed(permission, details.requestingUrl)));
  ses.setPermissionCheckHandler((_wc, permission, origin, details) => isPermissionAllowed(permission, details.requestingUrl ?? origin));
  ses.setDevicePermissionHandler(() => false);
  ses.setDisplayMediaRequestHandler((_req, callback) => callback(null));
  // No remote content: every network request from a page is cancelled (the engine is over IPC).
  ses.webRequest.onBeforeRequest({ urls: ['http://*/*', 'https://*/*', 'ws://*/*', 'wss://*/*', 'ftp://*/*', 'file://*/*'] }, (_d, callback) => callback({ cancel: true }));
  ses.on('will-download', (e) => e.preventDefault());

  // The app's pages come from app://likely/, served from the built renderer with our CSP.
  protocol.handle(APP_SCHEME, async (request) => {
    if (request.method !== 'GET') return new Response(null, { status: 405 });
    const target = resolveAppRequest(request.url, paths.renderer);
    if ('status' in target) return new Response(null, { status: target.status });
    try {
      const body = await readFile(target.path);
      return new Response(body, {
        headers: {
          'content-type': target.mimeType,
          'content-security-policy': CONTENT_SECURITY_POLICY,
          'x-content-type-options': 'nosniff',
          'cache-control': 'no-cache',
        },
      });
    } catch {
      return new Response(null, { status: 404 });
    }
  });

  app.on('web-contents-created', (_e, contents) => {
    // No navigation away from our page, no new windows, no webviews; allowed https links open in the browser.
    contents.on('will-navigate', (e, url) => {
      e.preventDefault();
      if (isAllowedExternalUrl(url)) void shell.openExternal(url);
    });
    contents.on('will-redirect', (e) => e.preventDefault());
    contents.on('will-attach-webview', (e) => e.preventDefault());
    contents.on('will-frame-navigate', (e) => {
      if (!e.isMainFrame) e.preventDefault();
    });
    contents.setWindowOpenHandler(({ url }) => {
      if (isAllowedExternalUrl(url)) void shell.openExternal(url);
      return { action: 'deny' };
    });
  });
}

async function offerRecovery(entries: RecoveryEntry[]): Promise<void> {
  const names = entries.map((e) => e.title);
  const shown = names.length <= 4 ? names.join(', ') : `${names.slice(0, 3).join(', ')} and ${names.length - 3} more`;
  const { response } = await dialog.showMessageBox({
    type: 'question',
    message: entries.length === 1 ? 'Likely kept unsaved work from the last session.' : `Likely kept unsaved work from ${entries.length} documents of the last session.`,
    detail: `${shown}\n\nRestore it now? If you discard it, it cannot be recovered.`,
    buttons: ['Restore', 'Discard'],
    defaultId: 0,
    cancelId: 0,
    noLink: true,
  });
  if (response === 1) {
    for (const e of entries) await recovery.remove(e.id);
    return;
  }
  for (const e of entries) createWindow({ path: e.path, text: e.text, format: e.format, encoding: e.encoding, recovered: { id: e.id, updatedAt: e.updatedAt } });
}

async function start(): Promise<void> {
  const userData = app.getPath('userData');
  settings = await SettingsStore.load(join(userData, 'settings.json'));
  recovery = new RecoveryStore(join(userData, 'recovery'));
  models = createModelsService();
  nativeTheme.themeSource = settings.get().theme;
  harden();
  registerIpc();
  updateMenu();
  settings.onChange((s) => {
    nativeTheme.themeSource = s.theme;
    updateMenu();
  });
  nativeTheme.on('updated', () => {
    for (const w of windows.values()) w.send('theme', themeState());
  });

  const leftover = await recovery.list();
  if (leftover.length) await offerRecovery(leftover);
  ready = true;
  if (pendingOpens.length) await openPaths(pendingOpens.splice(0));
  if (windows.size === 0) createWindow();
  if (settings.loadProblem) [...windows.values()][0]?.notice({ level: 'warning', message: settings.loadProblem });
  if (models.startProblem) [...windows.values()][0]?.notice({ level: 'warning', message: models.startProblem });

  app.on('activate', () => {
    if (windows.size === 0) createWindow(); // macOS: clicking the Dock icon with no window open
  });
  app.on('before-quit', () => {
    quitting = true;
  });
  app.on('window-all-closed', () => {
    if (process.platform !== 'darwin' || quitting) app.quit();
  });
  app.on('will-quit', (e) => {
    // Let the last settings write reach the disk; downloads pause (they resume next time).
    e.preventDefault();
    models.pauseAll();
    void settings.flush().finally(() => app.exit(0));
  });
}
