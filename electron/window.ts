/**
 * One document window: a BrowserWindow locked down per the security checklist (README.md), its
 * DocumentSession (file state, autosave, recovery) and its WindowEngine (engine process). Talks to
 * its page only through the channels of common/shell.ts and common/api.ts.
 */
import { resolve } from 'node:path';
import { BrowserWindow, dialog, nativeTheme } from 'electron';
import type { EngineEvents } from '../common/api.ts';
import { PendingCalls } from '../common/rpc.ts';
import { CHANNELS, type ExportReply, type Notice, type ShellDocument, type ShellEvents, type ShellState, type ThemeState } from '../common/shell.ts';
import { DocumentSession, type SessionInit } from '../node/document-session.ts';
import { atomicWriteFile, DocumentError, MARKDOWN_EXTENSIONS, TEXT_EXTENSIONS } from '../node/files.ts';
import { windowTitle } from './menu.ts';
import type { RecoveryStore } from '../node/recovery.ts';
import { APP_INDEX_URL } from './security.ts';
import type { SettingsStore, WindowBounds } from '../node/settings.ts';
import { WindowEngine } from './window-engine.ts';
import type { EngineHostOptions } from '../models/src/engine-host.ts';

/** How long main waits for the page to hand over its text before using the newest copy it has. */
const CONTENT_TIMEOUT_MS = 3000;
/** How long the page may take to build an export (it may wait for scoring to finish). */
const EXPORT_TIMEOUT_MS = 180_000;

export interface WindowDeps {
  preloadPath: string;
  settings: SettingsStore;
  recovery: RecoveryStore;
  engineOptions(): EngineHostOptions;
  theme(): ThemeState;
  /** A file was opened or saved under this path. */
  rememberRecent(path: string): void;
  closed(win: DocumentWindow): void;
  /** The writer cancelled closing this window (which also cancels quitting the app). */
  closeCancelled(): void;
}

export const FILE_FILTERS = [
  { name: 'Markdown', extensions: MARKDOWN_EXTENSIONS },
  { name: 'Text', extensions: TEXT_EXTENSIONS },
];

export class DocumentWindow {
  readonly win: BrowserWindow;
  readonly webContentsId: number;
  session!: DocumentSession;
  readonly engine: WindowEngine;
  /** Requests to the page waiting for its answer: `flush` (the text) and `export` (the HTML), apart so one can never answer the other. */
  private readonly contentRequests = new PendingCalls();
  private readonly exportRequests = new PendingCalls();
  private pageReady = false;
  private allowClose = false;
  private closing: Promise<boolean> | null = null;
  private recoveredFrom: number | null = null;

  constructor(
    private readonly deps: WindowDeps,
    init: SessionInit = {},
  ) {
    const bounds: WindowBounds = deps.settings.get().windowBounds ?? { width: 1000, height: 760 };
    this.win = new BrowserWindow({
      ...bounds,
      minWidth: 480,
      minHeight: 320,
      show: false,
      title: 'Likely',
      backgroundColor: nativeTheme.shouldUseDarkColors ? '#1e1e1e' : '#ffffff',
      webPreferences: {
        preload: deps.preloadPath,
        contextIsolation: true,
        sandbox: true,
        nodeIntegration: false,
        nodeIntegrationInWorker: false,
        nodeIntegrationInSubFrames: false,
        webSecurity: true,
        allowRunningInsecureContent: false,
        webviewTag: false,
        navigateOnDragDrop: false,
        experimentalFeatures: false,
        enableBlinkFeatures: '',
        spellcheck: true,
        safeDialogs: true,
      },
    });
    this.webContentsId = this.win.webContents.id;
    this.setSession(init);
    this.engine = new WindowEngine(deps.engineOptions(), (event, data) => this.sendEngine(event, data));

    this.win.once('ready-to-show', () => this.win.show());
    // The title is the document's (set by main); the page's <title> must not replace it.
    this.win.on('page-title-updated', (e) => e.preventDefault());
    this.win.on('close', (e) => this.onClose(e));
    this.win.on('closed', () => {
      this.session.close();
      this.engine.close();
      this.deps.closed(this);
    });
    const wc = this.win.webContents;
    wc.on('render-process-gone', (_e, details) => {
      // The page crashed or was killed: main still has the text up to the last autosave fetch.
      this.pageReady = false;
      this.contentRequests.rejectAll('the editor page stopped');
      this.exportRequests.rejectAll('the editor page stopped');
      if (details.reason !== 'clean-exit' && !this.win.isDestroyed()) {
        void this.session.autosave();
        this.notice({ level: 'warning', message: `the editor page stopped (${details.reason}) and was reloaded; your text was kept` });
        wc.reload();
      }
    });
    void this.win.loadURL(APP_INDEX_URL);
  }

  private setSession(init: SessionInit): void {
    this.recoveredFrom = init.recovered?.updatedAt ?? null;
    this.session = new DocumentSession(
      {
        requestContent: () => this.requestContent(),
        onState: (state) => this.showState(state),
        onNotice: (notice) => this.notice(notice),
      },
      { recovery: this.deps.recovery, autosave: () => this.deps.settings.get().autosave },
      init,
    );
    this.showState(this.session.state());
  }

  /** Untitled, unedited and empty: File ▸ Open may reuse this window. */
  get pristine(): boolean {
    return !this.session.path && !this.session.dirty && this.session.lastContent === '' && !this.recoveredFrom;
  }

  /** Replaces a pristine window's (empty) document with a file. */
  replaceDocument(init: SessionInit): void {
    void this.session.discard();
    this.setSession(init);
    if (this.pageReady) this.send('document', this.shellDocument());
  }

  private shellDocument(): ShellDocument {
    const doc: ShellDocument = { text: this.session.lastContent, format: this.session.format, state: this.session.state(), theme: this.deps.theme() };
    if (this.recoveredFrom) doc.recoveredFrom = new Date(this.recoveredFrom).toISOString();
    return doc;
  }

  /** The page's editor is mounted (again): give it the document. */
  ready(): ShellDocument {
    this.pageReady = true;
    return this.shellDocument();
  }

  private showState(state: ShellState): void {
    if (this.win.isDestroyed()) return;
    this.win.setTitle(windowTitle(state));
    if (process.platform === 'darwin') {
      this.win.setDocumentEdited(state.dirty);
      this.win.setRepresentedFilename(state.path ?? '');
    }
    this.send('state', state);
  }

  send<E extends keyof ShellEvents>(event: E, data: ShellEvents[E]): void {
    if (!this.win.isDestroyed()) this.win.webContents.send(CHANNELS.shellEvent, { event, data });
  }

  private sendEngine<E extends keyof EngineEvents>(event: E, data: EngineEvents[E]): void {
    if (!this.win.isDestroyed()) this.win.webContents.send(CHANNELS.engineEvent, { event, data });
  }

  notice(notice: Notice): void {
    this.send('notice', notice);
  }

  /** Asks the page for something; settles with `fallback` when it does not answer in `ms` (or stopped). */
  private ask<T>(requests: PendingCalls, ms: number, fallback: () => T, send: (requestId: number) => void): Promise<T> {
    const { id, result } = requests.add<T>();
    const timer = setTimeout(() => requests.settle({ id, error: 'timeout' }), ms);
    send(id);
    return result.then(
      (value) => (clearTimeout(timer), value),
      () => (clearTimeout(timer), fallback()),
    );
  }

  /** The page's text now, or the newest copy main has when the page does not answer (hung, crashed). */
  private requestContent(): Promise<string> {
    if (!this.pageReady || this.win.isDestroyed()) return Promise.resolve(this.session.lastContent);
    return this.ask<string>(this.contentRequests, CONTENT_TIMEOUT_MS, () => this.session.lastContent, (requestId) => this.send('flush', { requestId }));
  }

  /** The page answered a `flush`. */
  receiveContent(requestId: number, text: string): void {
    this.contentRequests.settle({ id: requestId, result: text });
  }

  receiveExport(requestId: number, reply: ExportReply): void {
    this.exportRequests.settle({ id: requestId, result: reply });
  }

  private async showError(message: string): Promise<void> {
    this.notice({ level: 'error', message });
    if (!this.win.isDestroyed()) await dialog.showMessageBox(this.win, { type: 'error', message, buttons: ['OK'] });
  }

  /** File ▸ Save. Resolves true when the text is in its file. */
  async save(): Promise<boolean> {
    let result;
    try {
      result = await this.session.save();
      if (result === 'conflict') {
        const { response } = await dialog.showMessageBox(this.win, {
          type: 'warning',
          message: `${this.session.title} was changed by another program since you opened it.`,
          detail: 'Overwrite it with your version, or save your version under another name?',
          buttons: ['Overwrite', 'Save As…', 'Cancel'],
          defaultId: 1,
          cancelId: 2,
        });
        if (response === 2) return false;
        if (response === 1) return this.saveAs();
        result = await this.session.save({ overwrite: true });
      }
    } catch (e) {
      await this.showError(e instanceof DocumentError ? e.message : `could not save: ${(e as Error).message}`);
      return false;
    }
    if (result === 'needs-path') return this.saveAs();
    if (this.session.path) this.deps.rememberRecent(this.session.path);
    return result === 'saved';
  }

  /** File ▸ Save As…. */
  async saveAs(): Promise<boolean> {
    const current = this.session.path;
    const { canceled, filePath } = await dialog.showSaveDialog(this.win, {
      defaultPath: current ?? 'Untitled.md',
      filters: this.session.format === 'text' ? [...FILE_FILTERS].reverse() : FILE_FILTERS,
      properties: ['createDirectory', 'showOverwriteConfirmation'],
    });
    if (canceled || !filePath) return false;
    try {
      await this.session.saveAs(filePath);
    } catch (e) {
      await this.showError(e instanceof DocumentError ? e.message : `could not save: ${(e as Error).message}`);
      return false;
    }
    this.recoveredFrom = null;
    this.deps.rememberRecent(filePath);
    return true;
  }

  /** The page's export, or null before the page is ready (main then builds it from the engine's scores). */
  private requestExport(title: string): Promise<ExportReply | null> {
    if (!this.pageReady) return Promise.resolve(null);
    return this.ask<ExportReply>(this.exportRequests, EXPORT_TIMEOUT_MS, () => ({ error: 'the editor took too long to build the export' }), (requestId) => this.send('export', { requestId, title }));
  }

  /** File ▸ Export Annotated HTML…: the page builds it (it has the scores and the view); main writes it. */
  async exportHtml(): Promise<void> {
    const title = this.session.title.replace(/\.[^.]+$/, '');
    const { canceled, filePath } = await dialog.showSaveDialog(this.win, {
      defaultPath: `${title}.html`,
      filters: [{ name: 'HTML', extensions: ['html'] }],
      properties: ['createDirectory', 'showOverwriteConfirmation'],
    });
    if (canceled || !filePath) return;
    if (this.session.path && resolve(filePath) === resolve(this.session.path)) {
      await this.showError('choose another name: the export would replace your draft');
      return;
    }
    try {
      const reply = await this.requestExport(title);
      if (reply && 'error' in reply) throw new Error(reply.error);
      const html = reply ? reply.html : await this.engine.exportHtml({ title });
      await atomicWriteFile(filePath, html);
      this.notice({ level: 'info', message: `exported to ${filePath}` });
    } catch (e) {
      await this.showError(`could not export: ${(e as Error).message}`);
    }
  }

  private onClose(e: Electron.Event): void {
    if (this.allowClose) {
      this.saveBounds();
      return;
    }
    e.preventDefault();
    this.closing ??= this.confirmClose().finally(() => (this.closing = null));
    void this.closing.then((ok) => {
      if (ok) {
        this.allowClose = true;
        this.win.close();
      } else {
        this.deps.closeCancelled();
      }
    });
  }

  /** Resolves true when the window may close: nothing unsaved, saved, or the writer chose not to keep it. */
  private async confirmClose(): Promise<boolean> {
    if (!this.session.dirty) {
      await this.session.idle();
      return true;
    }
    if (this.session.path && this.deps.settings.get().autosave) {
      // Autosave would have written it a moment later: write it now, silently.
      try {
        if ((await this.session.save()) === 'saved') return true;
      } catch {
        // Fall through to asking.
      }
    }
    const { response } = await dialog.showMessageBox(this.win, {
      type: 'warning',
      message: `Do you want to save the changes you made to ${this.session.title}?`,
      detail: "Your changes will be lost if you don't save them.",
      buttons: ['Save', "Don't Save", 'Cancel'],
      defaultId: 0,
      cancelId: 2,
      noLink: true,
    });
    if (response === 2) return false;
    if (response === 0) return this.save();
    await this.session.discard();
    return true;
  }

  private saveBounds(): void {
    if (this.win.isDestroyed() || this.win.isFullScreen() || this.win.isMinimized()) return;
    const b = this.win.getNormalBounds();
    void this.deps.settings.update({ windowBounds: { x: b.x, y: b.y, width: b.width, height: b.height } });
  }
}
