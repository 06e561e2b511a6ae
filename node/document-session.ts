/**
 * One open document: its file, whether it has unsaved edits, and the rules that keep its text
 * safe. Plain Node (no Electron): a window (window.ts) gives it a way to fetch the editor's text
 * and shows its state; tests drive it directly.
 *
 * - Every edit marks it dirty and (re)starts a timer; about `autosaveDelayMs` (1 s) after typing
 *   pauses the text is fetched and written: to its file when it has one (atomically, files.ts),
 *   otherwise to the recovery store. If the file cannot be written, or another program changed or
 *   removed it since we read or wrote it, the text goes to the recovery store instead and the
 *   state carries a `problem` (autosave never overwrites someone else's change).
 * - All writes of one document run one after another, so an autosave and a save never interleave.
 * - Dirty is cleared only when the text that was written is the text of the newest edit.
 */
import { basename } from 'node:path';
import type { DocumentFormat, Notice, ShellState } from '../common/shell.ts';
import { DEFAULT_ENCODING, DocumentError, fileChanged, formatForPath, writeDocument, type FileEncoding, type FileStamp } from './files.ts';
import { RecoveryStore } from './recovery.ts';

export const AUTOSAVE_DELAY_MS = 1000;

export interface SessionHost {
  /** The editor's current text. */
  requestContent(): Promise<string>;
  /** The state changed (title, path, dirty, problem). */
  onState(state: ShellState): void;
  /** Something the writer should know now. */
  onNotice(notice: Notice): void;
}

export interface SessionOptions {
  recovery: RecoveryStore;
  /** Whether files with a path are autosaved (read at each autosave). Default: yes. */
  autosave?: () => boolean;
  autosaveDelayMs?: number;
}

export interface SessionInit {
  path?: string | null;
  text?: string;
  format?: DocumentFormat;
  encoding?: FileEncoding;
  /** Size and mtime of the file as read. */
  stamp?: FileStamp | null;
  /**
   * Restored from the recovery store: starts dirty and keeps that entry's id. A restored document
   * with a path is not autosaved to that file until the writer saves it once (the file may have
   * changed since; restoring is not a decision to overwrite it).
   */
  recovered?: { id: string; updatedAt: number };
}

export type SaveResult = 'saved' | 'needs-path' | 'conflict';

export class DocumentSession {
  path: string | null;
  format: DocumentFormat;
  encoding: FileEncoding;
  readonly recoveryId: string;
  readonly recoveredFrom: number | null;
  /** The newest text main knows (loaded, or fetched for a write). */
  lastContent: string;
  savedAt: number | undefined;
  problem: string | undefined;

  private stamp: FileStamp | null;
  private editGeneration = 0;
  private savedGeneration = 0;
  private inRecovery: boolean;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;
  private autosaveHeld: boolean;

  constructor(
    private readonly host: SessionHost,
    private readonly opts: SessionOptions,
    init: SessionInit = {},
  ) {
    this.path = init.path ?? null;
    this.format = init.format ?? (this.path ? formatForPath(this.path) : 'markdown');
    this.encoding = init.encoding ?? DEFAULT_ENCODING;
    this.lastContent = init.text ?? '';
    this.stamp = init.stamp ?? null;
    this.recoveryId = init.recovered?.id ?? RecoveryStore.newId();
    this.recoveredFrom = init.recovered?.updatedAt ?? null;
    this.inRecovery = !!init.recovered;
    this.autosaveHeld = !!init.recovered && !!this.path;
    if (this.autosaveHeld) this.problem = `restored after a crash; save to write it to ${this.title}`;
    if (init.recovered) this.editGeneration = 1; // restored text is not in any file yet
  }

  get dirty(): boolean {
    return this.editGeneration !== this.savedGeneration;
  }

  get title(): string {
    return this.path ? basename(this.path) : 'Untitled';
  }

  state(): ShellState {
    const s: ShellState = { title: this.title, path: this.path, format: this.format, dirty: this.dirty };
    if (this.savedAt !== undefined) s.savedAt = this.savedAt;
    if (this.problem !== undefined) s.problem = this.problem;
    return s;
  }

  private emit(): void {
    if (!this.closed) this.host.onState(this.state());
  }

  /** The writer changed the text. Cheap: called on every keystroke. */
  edited(): void {
    if (this.closed) return;
    const wasDirty = this.dirty;
    this.editGeneration++;
    if (!wasDirty) this.emit();
    this.scheduleAutosave();
  }

  private scheduleAutosave(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.autosave();
    }, this.opts.autosaveDelayMs ?? AUTOSAVE_DELAY_MS);
  }

  /** Runs `fn` after every write queued before it. */
  private enqueue<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => {});
    return run;
  }

  private async fetchContent(): Promise<string> {
    try {
      this.lastContent = await this.host.requestContent();
    } catch {
      // The renderer is gone or hung: keep the newest text we have.
    }
    return this.lastContent;
  }

  private async writeFile(path: string, text: string, generation: number): Promise<void> {
    const written = await writeDocument(path, text, this.encoding);
    this.stamp = written.stamp;
    this.encoding = written.encoding; // a file of mixed line endings: what the next write lines up with
    this.savedGeneration = Math.max(this.savedGeneration, generation);
    this.savedAt = Date.now();
    this.problem = undefined;
    this.autosaveHeld = false;
    if (this.inRecovery && !this.dirty) {
      await this.opts.recovery.remove(this.recoveryId).catch(() => {});
      this.inRecovery = false;
    }
  }

  private async writeRecovery(text: string): Promise<void> {
    try {
      await this.opts.recovery.write({ id: this.recoveryId, path: this.path, title: this.title, format: this.format, encoding: this.encoding, text });
      this.inRecovery = true;
    } catch (e) {
      this.host.onNotice({ level: 'error', message: `could not keep a recovery copy of ${this.title}: ${(e as Error).message}` });
    }
  }

  /** Why the file must not be overwritten without asking, or null. */
  private async conflict(path: string): Promise<string | null> {
    if (!this.stamp) return null;
    const now = await fileChanged(path, this.stamp);
    if (now === 'missing') return `${basename(path)} was moved or deleted; your text is kept, save to write it again`;
    if (now === 'changed') return `${basename(path)} was changed by another program; autosave paused, save to overwrite it`;
    return null;
  }

  /** Writes the newest text where it belongs (file or recovery store) if it has unsaved edits. */
  autosave(): Promise<void> {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    return this.enqueue(async () => {
      if (!this.dirty || this.closed) return;
      const generation = this.editGeneration;
      const text = await this.fetchContent();
      const path = this.path;
      if (path && !this.autosaveHeld && (this.opts.autosave?.() ?? true)) {
        const problem = await this.conflict(path);
        if (!problem) {
          try {
            await this.writeFile(path, text, generation);
            this.emit();
            return;
          } catch (e) {
            const message = e instanceof DocumentError ? e.message : (e as Error).message;
            if (this.problem !== message) this.host.onNotice({ level: 'error', message: `autosave failed: ${message}; your text is kept in the recovery store` });
            this.problem = message;
          }
        } else {
          if (this.problem !== problem) this.host.onNotice({ level: 'warning', message: problem });
          this.problem = problem;
        }
      }
      await this.writeRecovery(text);
      this.emit();
    });
  }

  /**
   * Saves to the document's file. 'needs-path' for an untitled document (ask for one, then
   * saveAs); 'conflict' when another program changed the file (ask, then save({ overwrite: true })).
   * Throws DocumentError when the file cannot be written; the text stays in the recovery store.
   */
  save(opts: { overwrite?: boolean } = {}): Promise<SaveResult> {
    return this.enqueue(async () => {
      const path = this.path;
      if (!path) return 'needs-path';
      if (!opts.overwrite && this.stamp && (await fileChanged(path, this.stamp)) === 'changed') return 'conflict'; // a deleted file is simply written again
      try {
        await this.writeCurrent(path);
      } catch (e) {
        this.problem = (e as Error).message;
        this.emit();
        throw e;
      }
      this.emit();
      return 'saved';
    });
  }

  /** Writes the page's current text to `path`; when that fails the text goes to the recovery store before the error is rethrown. */
  private async writeCurrent(path: string): Promise<void> {
    const generation = this.editGeneration;
    const text = await this.fetchContent();
    try {
      await this.writeFile(path, text, generation);
    } catch (e) {
      await this.writeRecovery(text);
      throw e;
    }
  }

  /** Saves to `path` and makes it the document's file. */
  saveAs(path: string): Promise<void> {
    return this.enqueue(async () => {
      try {
        await this.writeCurrent(path);
      } catch (e) {
        this.emit();
        throw e;
      }
      if (this.inRecovery) {
        // Written to its new home: the recovery copy (if any edit came meanwhile, autosave rewrites it).
        await this.opts.recovery.remove(this.recoveryId).catch(() => {});
        this.inRecovery = false;
      }
      this.path = path;
      this.format = formatForPath(path);
      this.emit();
    });
  }

  /** Waits for every write queued so far. */
  idle(): Promise<void> {
    return this.enqueue(async () => {});
  }

  /** The writer chose not to keep the edits: forget the recovery copy and stop autosaving. */
  async discard(): Promise<void> {
    this.close();
    await this.idle();
    await this.opts.recovery.remove(this.recoveryId).catch(() => {});
    this.inRecovery = false;
  }

  /** Stops the autosave timer (the window is closing). Queued writes still finish. */
  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }
}
