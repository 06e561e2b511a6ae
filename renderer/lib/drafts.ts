/**
 * Drafts kept in this browser, where no desktop shell backs the document with a file (the served
 * app and the static build). Nothing a writer typed is lost by a reload, a closed or crashed tab,
 * Open…, New or a dropped file, and two tabs never overwrite each other:
 * - Each tab edits its own draft (`likely:draft:<id>` in localStorage; the tab remembers its id in
 *   sessionStorage, so a reload comes back to it). The tab holds a Web Lock named after the draft
 *   while it has it open, so another tab never takes it: a new tab opens the newest draft no open
 *   tab holds, or starts a new one; a duplicated tab (which copies sessionStorage) gets a copy.
 * - A write never replaces a record another tab wrote after this tab last wrote it (without Web
 *   Locks two tabs could share an id): this tab's text goes to a new draft instead.
 * - Open…, New and a drop start a new draft in the tab; the one it had stays in the list.
 * - Records are JSON, so whatever the editor holds (NUL, lone surrogates, any control character)
 *   comes back exactly; localStorage itself mangles NUL.
 * DOM-free apart from the storage, lock and channel objects it is given (node tests fake them).
 */
import type { LineEnding, MixedLineEndings } from '../../common/line-endings.ts';
import type { DocumentFormat } from '../../common/shell.ts';

export interface FileLineEndings {
  ending: LineEnding;
  mixed?: MixedLineEndings;
}

export interface Draft {
  id: string;
  /** The document in its format (Markdown or plain text). */
  text: string;
  format: DocumentFormat;
  /** The file it was opened from or saved to, by name (the browser gives no path). */
  fileName: string | null;
  /** The text as it was last opened or saved; null when it never reached a file. */
  savedText: string | null;
  /** The line endings of the file it came from (the editor holds LF; Save writes these back, line by line where the file mixes them). */
  lineEndings?: FileLineEndings;
  createdAt: number;
  updatedAt: number;
  /** The page load that wrote it last (see the module comment). */
  writer: string;
}

/** The parts of a lock manager used here (navigator.locks). */
export interface Locks {
  request(name: string, options: { ifAvailable?: boolean; signal?: AbortSignal }, callback: (lock: unknown) => Promise<void> | void): Promise<unknown>;
  query(): Promise<{ held?: { name?: string }[] }>;
}

export interface DraftStoreEnv {
  local: Pick<Storage, 'getItem' | 'setItem' | 'removeItem' | 'key' | 'length'>;
  session: Pick<Storage, 'getItem' | 'setItem'>;
  locks?: Locks;
  now?: () => number;
  randomId?: () => string;
}

const PREFIX = 'likely:draft:';
const LEGACY_KEY = 'likely:draft';
const TAB_KEY = 'likely:tab-draft';
/** How long a reloaded tab waits for the page before it to let go of its draft. */
const RELOAD_WAIT_MS = 1500;
/** How long a new tab waits for the newest draft, held by another tab, to be let go (that tab may be closing). */
const CLOSING_WAIT_MS = 400;
/** Drafts kept at most; the oldest saved (or empty) ones go first. */
const MAX_DRAFTS = 30;

export function isUnsaved(d: Pick<Draft, 'text' | 'savedText'>): boolean {
  return d.savedText === null ? d.text.trim() !== '' : d.text !== d.savedText;
}

/** The first line of a draft's text, for lists and titles. */
export function draftTitle(d: Pick<Draft, 'text' | 'fileName'>): string {
  if (d.fileName) return d.fileName;
  const line = d.text.split('\n').find((l) => l.trim()) ?? '';
  return line.replace(/^[#>*\-+\s]+/, '').trim().slice(0, 60) || 'Untitled';
}

export class DraftStore {
  private readonly writer: string;
  private readonly now: () => number;
  private readonly randomId: () => string;
  /** When this page last wrote each draft. */
  private readonly written = new Map<string, number>();
  private release: (() => void) | null = null;
  /** The draft whose lock this page holds. */
  private claimed: string | null = null;
  /** The draft this tab has open. */
  current: Draft;

  constructor(private readonly env: DraftStoreEnv) {
    this.now = env.now ?? Date.now;
    this.randomId = env.randomId ?? (() => (typeof crypto !== 'undefined' && crypto.randomUUID ? crypto.randomUUID() : Math.random().toString(36).slice(2)));
    this.writer = this.randomId();
    this.current = this.blank();
  }

  private blank(init: Partial<Draft> = {}): Draft {
    const t = this.now();
    return { id: this.randomId(), text: '', format: 'markdown', fileName: null, savedText: null, createdAt: t, updatedAt: t, writer: this.writer, ...init };
  }

  /** Every draft in storage, newest first (unreadable records are left alone and not listed). */
  list(): Draft[] {
    const out: Draft[] = [];
    for (let i = 0; i < this.env.local.length; i++) {
      const key = this.env.local.key(i);
      if (!key?.startsWith(PREFIX)) continue;
      const d = this.read(key.slice(PREFIX.length));
      if (d) out.push(d);
    }
    return out.sort((a, b) => b.updatedAt - a.updatedAt);
  }

  read(id: string): Draft | null {
    try {
      const raw = this.env.local.getItem(PREFIX + id);
      if (raw === null) return null;
      const d = JSON.parse(raw) as Draft;
      return typeof d.text === 'string' && d.id === id ? d : null;
    } catch {
      return null;
    }
  }

  /** Ids of drafts some tab holds open now (empty without Web Locks). */
  async held(): Promise<Set<string>> {
    if (!this.env.locks) return new Set();
    try {
      const { held = [] } = await this.env.locks.query();
      return new Set(held.map((l) => l.name ?? '').filter((n) => n.startsWith(PREFIX)).map((n) => n.slice(PREFIX.length)));
    } catch {
      return new Set();
    }
  }

  /** Opens this tab's draft (see the module comment); resolves with it. */
  async start(): Promise<Draft> {
    this.migrateLegacy();
    const mine = this.env.session.getItem(TAB_KEY);
    const own = mine ? this.read(mine) : null;
    // After a reload the page before may hold its lock for a moment longer; a duplicated tab's
    // original holds it for good.
    if (own && (await this.claim(own.id, RELOAD_WAIT_MS))) return this.adopt(own);
    if (own) return this.adopt(this.blank({ text: own.text, format: own.format, fileName: own.fileName, savedText: own.savedText }), true);
    // A draft held by a tab that is closing right now is free a moment later: look twice.
    for (let attempt = 0; attempt < 2; attempt++) {
      if (attempt > 0) await new Promise((r) => setTimeout(r, CLOSING_WAIT_MS));
      const held = await this.held();
      for (const d of this.list()) {
        if (held.has(d.id) || d.text.trim() === '') continue;
        if (await this.claim(d.id)) return this.adopt(d);
      }
      if (!this.list().some((d) => d.text.trim() !== '')) break;
    }
    return this.adopt(this.blank(), true);
  }

  /** Takes the lock of draft `id` (waiting up to `waitMs`); true when this page holds it now. Without Web Locks, always true. */
  private async claim(id: string, waitMs = 0): Promise<boolean> {
    if (!this.env.locks) return true;
    if (this.claimed === id) return true;
    const signal = waitMs > 0 && typeof AbortSignal !== 'undefined' && AbortSignal.timeout ? AbortSignal.timeout(waitMs) : undefined;
    return new Promise<boolean>((done) => {
      this.env
        .locks!.request(PREFIX + id, signal ? { signal } : { ifAvailable: true }, (lock) => {
          if (!lock) return done(false);
          this.release?.();
          this.claimed = id;
          done(true);
          return new Promise<void>((release) => (this.release = () => {
            if (this.claimed === id) this.claimed = null;
            release();
          }));
        })
        .catch(() => done(false));
    });
  }

  /** Makes `d` this tab's draft: holds its lock, remembers its id. `fresh`: written now (a copy or a new draft). */
  private async adopt(d: Draft, fresh = false): Promise<Draft> {
    await this.claim(d.id);
    this.current = d;
    this.written.set(d.id, d.updatedAt);
    try {
      this.env.session.setItem(TAB_KEY, d.id);
    } catch {
      // Without sessionStorage a reload picks the newest free draft, which is this one.
    }
    if (fresh && d.text) this.write(d);
    return d;
  }

  /**
   * Stores the current draft's new text. Returns false when storage refused it (full, disabled).
   * If another page wrote this draft since this one did, the text goes to a new draft instead.
   */
  update(text: string, patch: Partial<Pick<Draft, 'format' | 'fileName' | 'savedText' | 'lineEndings'>> = {}): boolean {
    const stored = this.read(this.current.id);
    const mine = this.written.get(this.current.id) ?? 0;
    if (stored && stored.writer !== this.writer && stored.updatedAt > mine) {
      const { format, fileName, savedText, lineEndings } = this.current;
      const copy = this.blank({ format, fileName, savedText, ...(lineEndings ? { lineEndings } : {}) });
      void this.adopt(copy);
      this.current = copy;
    }
    this.current = { ...this.current, ...patch, text, updatedAt: Math.max(this.now(), (stored?.updatedAt ?? 0) + 1), writer: this.writer };
    return this.write(this.current);
  }

  private write(d: Draft): boolean {
    try {
      if (d.text === '' && d.savedText === null) this.env.local.removeItem(PREFIX + d.id);
      else this.env.local.setItem(PREFIX + d.id, JSON.stringify(d));
      this.written.set(d.id, d.updatedAt);
      this.prune();
      return true;
    } catch {
      return false;
    }
  }

  /** Starts a new draft in this tab (Open…, New, a drop); the previous one stays stored. */
  async replace(init: Partial<Pick<Draft, 'text' | 'format' | 'fileName' | 'savedText' | 'lineEndings'>> = {}): Promise<Draft> {
    return this.adopt(this.blank(init), true);
  }

  /** Switches this tab to a stored draft; one another tab holds is copied instead. */
  async switchTo(id: string): Promise<Draft> {
    const d = this.read(id);
    if (!d) throw new Error('that draft is gone');
    if ((await this.held()).has(id) && id !== this.current.id) return this.adopt(this.blank({ text: d.text, format: d.format, fileName: d.fileName, savedText: d.savedText }), true);
    return this.adopt(d);
  }

  remove(id: string): void {
    if (id === this.current.id) return;
    try {
      this.env.local.removeItem(PREFIX + id);
    } catch {
      // Nothing else to do: it stays listed.
    }
  }

  /** The record before this version of the app kept one draft as Markdown under one key. */
  private migrateLegacy(): void {
    try {
      const legacy = this.env.local.getItem(LEGACY_KEY);
      if (legacy === null) return;
      if (legacy.trim()) this.write(this.blank({ text: legacy, updatedAt: this.now() - 1 }));
      this.env.local.removeItem(LEGACY_KEY);
    } catch {
      // Left for the next load.
    }
  }

  /** Keeps at most MAX_DRAFTS: the oldest that are saved to a file (or empty) go first, never an unsaved one. */
  private prune(): void {
    const all = this.list();
    if (all.length <= MAX_DRAFTS) return;
    const removable = all.filter((d) => d.id !== this.current.id && !isUnsaved(d)).reverse();
    for (const d of removable.slice(0, all.length - MAX_DRAFTS)) this.env.local.removeItem(PREFIX + d.id);
  }
}
