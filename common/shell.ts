/**
 * The typed bridge between the renderer and the Electron main process for everything that is not
 * the engine: the document a window shows, its file state, menu commands, theme and notices.
 * Environment-neutral: no Node, no DOM, no imports.
 *
 * The preload exposes `window.likelyShell: LikelyShell` (and `window.likelyEngine: EngineClient`
 * from api.ts); renderer/lib/shell-bridge.ts wires it to the editor. Main owns the file: the
 * renderer says *that* the text changed (`edited`, cheap, on every change) and hands over the text
 * only when main asks for it (`flush` → `provideContent`), which main does about 1 s after typing
 * pauses (autosave / recovery), before a save, before closing and before an export.
 */

export type DocumentFormat = 'markdown' | 'text';
export type ThemeSource = 'system' | 'light' | 'dark';

/** The file state a window shows (title bar, status line). */
export interface ShellState {
  /** File name, or "Untitled". */
  title: string;
  /** Absolute path of the file, or null for an untitled document. */
  path: string | null;
  format: DocumentFormat;
  /** Edited since the last save. */
  dirty: boolean;
  /** When the document was last written to its file (ms since epoch), if it has been. */
  savedAt?: number;
  /** Set while the file on disk changed under us, or the last autosave failed: the text is safe in the recovery store. */
  problem?: string;
}

/** What the editor shows when it starts (or after its page reloads). */
export interface ShellDocument {
  text: string;
  format: DocumentFormat;
  state: ShellState;
  theme: ThemeState;
  /** Set when this text was restored from the recovery store after a crash (ISO time of the last autosave). */
  recoveredFrom?: string;
}

export interface ThemeState {
  source: ThemeSource;
  /** What the system (or the override) resolves to now. */
  dark: boolean;
}

export interface Notice {
  level: 'info' | 'warning' | 'error';
  /** One line meant for the writer. */
  message: string;
}

/** Commands the renderer may ask main to run (the same ones the native menu runs). */
export type ShellCommand =
  | { kind: 'new' }
  | { kind: 'open' }
  | { kind: 'save' }
  | { kind: 'save-as' }
  | { kind: 'export-html' }
  | { kind: 'close' }
  | { kind: 'restart-engine' }
  | { kind: 'set-theme'; theme: ThemeSource };

export const SHELL_COMMAND_KINDS = ['new', 'open', 'save', 'save-as', 'export-html', 'close', 'restart-engine', 'set-theme'] as const;
export const THEME_SOURCES: readonly ThemeSource[] = ['system', 'light', 'dark'];

/** What the renderer answers to an export request: the annotated HTML, or why it could not build it. */
export type ExportReply = { html: string } | { error: string };

/** Events main pushes to a window. */
export interface ShellEvents {
  /** Replace the editor's content (a file was opened into this window). */
  document: ShellDocument;
  state: ShellState;
  /** Main needs the current text: answer with `provideContent(requestId, text)` at once. */
  flush: { requestId: number };
  /** Main needs the annotated HTML of the current draft: answer with `provideExport(requestId, reply)`. */
  export: { requestId: number; title: string };
  theme: ThemeState;
  notice: Notice;
}

export interface LikelyShell {
  /** The editor is mounted: returns the document to show. Call again after a reload. */
  ready(): Promise<ShellDocument>;
  /** The user changed the text (no payload: cheap enough for every keystroke). */
  edited(): void;
  provideContent(requestId: number, text: string): void;
  provideExport(requestId: number, reply: ExportReply): void;
  command(command: ShellCommand): Promise<void>;
  /** A file dropped on the window (a DOM `File`; the preload finds its path). Opens it like File ▸ Open. */
  openDroppedFile(file: unknown): Promise<void>;
  on<E extends keyof ShellEvents>(event: E, listener: (data: ShellEvents[E]) => void): () => void;
}

/** IPC channel names, shared by main and preload. */
export const CHANNELS = {
  engineCall: 'likely:engine-call',
  /** Sent by the preload when a page loads: the window's engine starts a new session for it (its versions start over). */
  enginePage: 'likely:engine-page',
  engineStatus: 'likely:engine-status',
  engineEvent: 'likely:engine-event',
  shellReady: 'likely:shell-ready',
  shellEdited: 'likely:shell-edited',
  shellContent: 'likely:shell-content',
  shellExport: 'likely:shell-export',
  shellCommand: 'likely:shell-command',
  shellOpenPath: 'likely:shell-open-path',
  shellEvent: 'likely:shell-event',
  /** The models API (common/models-api.ts): invoke(method, params); events pushed as { event, data }. */
  modelsCall: 'likely:models-call',
  modelsEvent: 'likely:models-event',
} as const;

/** The custom protocol the app's pages load from (never file:// or http://). */
export const APP_SCHEME = 'app';
export const APP_HOST = 'likely';
export const APP_ORIGIN = `${APP_SCHEME}://${APP_HOST}`;
