/**
 * A stand-in for the parts of Electron's main-process API that main.ts, window.ts and
 * utility-spawn.ts use, for main.test.ts where no Electron binary exists. It records what the app
 * does (windows, titles, messages sent to pages, dialogs, menus, handlers) and lets the test act
 * as the OS and the page (scripted dialog answers, IPC messages with a chosen sender). Its
 * utilityProcess runs the engine in a real Node child process, so the engine is the real one.
 * Only a test double of Electron itself: nothing of the app is faked.
 */
import { fork } from 'node:child_process';
import { EventEmitter } from 'node:events';

type Fn = (...args: never[]) => unknown;

export const recorded = {
  protocolHandlers: new Map<string, (req: Request) => Promise<Response> | Response>(),
  privilegedSchemes: [] as unknown[],
  handlers: new Map<string, Fn>(),
  listeners: new Map<string, Fn>(),
  menuTemplate: null as unknown[] | null,
  dialogs: [] as { kind: string; options: Record<string, unknown> }[],
  /** Answers for the next dialogs, in order: a showMessageBox response index or a save/open path. */
  dialogAnswers: [] as (number | string | string[] | null)[],
  openedExternal: [] as string[],
  recentDocuments: [] as string[],
  permissionRequest: null as null | ((wc: unknown, permission: string, cb: (ok: boolean) => void, details: { requestingUrl: string }) => void),
  permissionCheck: null as null | ((wc: unknown, permission: string, origin: string, details: { requestingUrl?: string }) => boolean),
  blockedUrls: [] as string[],
  sandboxEnabled: false,
  paths: new Map<string, string>(),
  quitCalls: 0,
};

class FakeWebFrame {
  parent: FakeWebFrame | null = null;
  constructor(public url: string) {}
}

let nextWebContentsId = 1;
export class FakeWebContents extends EventEmitter {
  readonly id = nextWebContentsId++;
  readonly mainFrame = new FakeWebFrame('');
  readonly sent: { channel: string; payload: unknown }[] = [];
  windowOpenHandler: ((d: { url: string }) => { action: string }) | null = null;
  reloads = 0;
  send(channel: string, payload: unknown): void {
    this.sent.push({ channel, payload });
    this.emit('test:sent', channel, payload);
  }
  setWindowOpenHandler(fn: (d: { url: string }) => { action: string }): void {
    this.windowOpenHandler = fn;
  }
  reload(): void {
    this.reloads++;
  }
}

let focused: FakeBrowserWindow | null = null;
const allWindows = new Set<FakeBrowserWindow>();

export class FakeBrowserWindow extends EventEmitter {
  readonly webContents = new FakeWebContents();
  readonly options: Record<string, unknown>;
  title = '';
  loadedUrl = '';
  destroyed = false;
  shown = false;
  constructor(options: Record<string, unknown>) {
    super();
    this.options = options;
    allWindows.add(this);
    focused = this; // eslint-disable-line @typescript-eslint/no-this-alias -- the focused window is this one
    app.emit('web-contents-created', {}, this.webContents);
  }
  static getAllWindows(): FakeBrowserWindow[] {
    return [...allWindows];
  }
  static getFocusedWindow(): FakeBrowserWindow | null {
    return focused && !focused.destroyed ? focused : null;
  }
  async loadURL(url: string): Promise<void> {
    this.loadedUrl = url;
    this.webContents.mainFrame.url = url;
    setImmediate(() => this.emit('ready-to-show'));
  }
  setTitle(t: string): void {
    this.title = t;
  }
  getTitle(): string {
    return this.title;
  }
  isDestroyed(): boolean {
    return this.destroyed;
  }
  show(): void {
    this.shown = true;
  }
  focus(): void {
    focused = this; // eslint-disable-line @typescript-eslint/no-this-alias -- the focused window is this one
  }
  restore(): void {}
  isMinimized(): boolean {
    return false;
  }
  isFullScreen(): boolean {
    return false;
  }
  getNormalBounds() {
    return { x: 10, y: 20, width: 900, height: 700 };
  }
  setDocumentEdited(): void {}
  setRepresentedFilename(): void {}
  close(): void {
    if (this.destroyed) return;
    let prevented = false;
    this.emit('close', { preventDefault: () => (prevented = true) });
    if (prevented) return;
    this.destroyed = true;
    allWindows.delete(this);
    if (focused === this) focused = [...allWindows].at(-1) ?? null;
    this.emit('closed');
  }
}

class FakeApp extends EventEmitter {
  isPackaged = false;
  name = 'Likely';
  private readyResolve!: () => void;
  private readonly readyPromise = new Promise<void>((r) => (this.readyResolve = r));
  setPath(name: string, value: string): void {
    recorded.paths.set(name, value);
  }
  getPath(name: string): string {
    const p = recorded.paths.get(name);
    if (!p) throw new Error(`no path ${name}`);
    return p;
  }
  enableSandbox(): void {
    recorded.sandboxEnabled = true;
  }
  requestSingleInstanceLock(): boolean {
    return true;
  }
  whenReady(): Promise<void> {
    return this.readyPromise;
  }
  /** Test: let the app start. */
  becomeReady(): void {
    this.readyResolve();
  }
  quit(): void {
    recorded.quitCalls++;
  }
  exit(): void {}
  addRecentDocument(p: string): void {
    recorded.recentDocuments.push(p);
  }
  clearRecentDocuments(): void {
    recorded.recentDocuments.length = 0;
  }
}
export const app = new FakeApp();
export const BrowserWindow = FakeBrowserWindow;

export const protocol = {
  registerSchemesAsPrivileged: (schemes: unknown[]) => recorded.privilegedSchemes.push(...schemes),
  handle: (scheme: string, fn: (req: Request) => Promise<Response>) => recorded.protocolHandlers.set(scheme, fn),
};

export const session = {
  defaultSession: {
    setPermissionRequestHandler: (fn: typeof recorded.permissionRequest) => (recorded.permissionRequest = fn),
    setPermissionCheckHandler: (fn: typeof recorded.permissionCheck) => (recorded.permissionCheck = fn),
    setDevicePermissionHandler: () => {},
    setDisplayMediaRequestHandler: () => {},
    webRequest: { onBeforeRequest: (filter: { urls: string[] }) => recorded.blockedUrls.push(...filter.urls) },
    on: () => {},
  },
};

export const nativeTheme = Object.assign(new EventEmitter(), { themeSource: 'system', shouldUseDarkColors: false });

interface Item {
  id?: string;
  click?: () => void;
  submenu?: Item[];
}
const find = (items: Item[], id: string): Item | undefined => {
  for (const i of items) {
    if (i.id === id) return i;
    const inner = i.submenu && find(i.submenu, id);
    if (inner) return inner;
  }
  return undefined;
};
let appMenu: { getMenuItemById(id: string): Item | undefined } | null = null;
export const Menu = {
  buildFromTemplate: (template: Item[]) => ({ template, getMenuItemById: (id: string) => find(template, id) }),
  setApplicationMenu: (menu: { template: Item[]; getMenuItemById(id: string): Item | undefined }) => {
    appMenu = menu;
    recorded.menuTemplate = menu.template;
  },
  getApplicationMenu: () => appMenu,
};

function answer(kind: string, options: Record<string, unknown>) {
  recorded.dialogs.push({ kind, options });
  if (!recorded.dialogAnswers.length) throw new Error(`unexpected ${kind}: ${String(options.message ?? options.defaultPath ?? '')}`);
  return recorded.dialogAnswers.shift();
}
const opts = (a: unknown, b: unknown) => (b ?? a) as Record<string, unknown>;
export const dialog = {
  showMessageBox: async (a: unknown, b?: unknown) => ({ response: answer('message', opts(a, b)) as number }),
  showSaveDialog: async (a: unknown, b?: unknown) => {
    const path = answer('save', opts(a, b)) as string | null;
    return { canceled: path === null, filePath: path ?? undefined };
  },
  showOpenDialog: async (a: unknown, b?: unknown) => {
    const paths = answer('open', opts(a, b)) as string[] | null;
    return { canceled: paths === null, filePaths: paths ?? [] };
  },
  showErrorBox: (title: string, message: string) => recorded.dialogs.push({ kind: 'error-box', options: { title, message } }),
};

export const ipcMain = {
  handle: (channel: string, fn: Fn) => recorded.handlers.set(channel, fn),
  on: (channel: string, fn: Fn) => recorded.listeners.set(channel, fn),
};

export const shell = {
  openExternal: async (url: string) => void recorded.openedExternal.push(url),
};

export const utilityProcess = {
  fork(entry: string, args: string[], options: { env?: NodeJS.ProcessEnv }) {
    const child = fork(entry, args, { serialization: 'advanced', env: options.env, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const emitter = new EventEmitter();
    child.on('message', (m) => emitter.emit('message', m));
    child.on('exit', (code) => emitter.emit('exit', code ?? -1));
    return {
      postMessage: (m: unknown) => child.connected && child.send(m as object),
      on: (event: string, fn: (...a: unknown[]) => void) => emitter.on(event, fn),
      kill: () => child.kill('SIGKILL'),
    };
  },
};

export default { app, BrowserWindow, protocol, session, nativeTheme, Menu, dialog, ipcMain, shell, utilityProcess };
