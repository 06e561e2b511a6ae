/**
 * The document where no desktop shell backs it with a file (the served app and the static build):
 * this tab's draft kept in the browser (drafts.ts), and New, Open…, a dropped file and Save. Nothing
 * replaces the writer's text without a way back: New, Open… and a drop start a new draft and the
 * one before stays in Drafts, said in a notice with a button that goes back to it. The tab's
 * title shows the document and a dot while it is unsaved; closing the tab with unsaved text
 * asks only when the browser could not keep the draft.
 */
import type { DocumentFormat } from '../../common/shell.ts';
import { applyLineEndings, scanLineEndings } from '../../common/line-endings.ts';
import { draftTitle, DraftStore, isUnsaved, type Draft, type DraftStoreEnv, type FileLineEndings } from './drafts.ts';
import type { LikelyEditor } from './editor.svelte.ts';
import { chooseFileToOpen, chooseFileToSave, download, formatOfName, readTextFile, safeFileName, type FileHandle } from './web-files.ts';

/** How long typing pauses before the draft is written (and always on pagehide). */
const SAVE_DELAY_MS = 400;
const CHANNEL = 'likely:drafts';

export class WebDocument {
  /** Drafts of this browser other than this tab's, newest first (for the Drafts panel). */
  others = $state.raw<Draft[]>([]);
  /** Ids some other tab holds open. */
  openElsewhere = $state.raw<ReadonlySet<string>>(new Set());
  panelOpen = $state(false);
  fileName = $state<string | null>(null);
  unsaved = $state(false);
  /** Set while the browser refuses to keep the draft (storage full or disabled). */
  storageProblem = $state<string | null>(null);
  ready = $state(false);

  private readonly store: DraftStore;
  private handle: FileHandle | null = null;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private channel: BroadcastChannel | null = null;
  /** Set while this class replaces the document: the editor's change is not the writer's. */
  private loading = false;

  constructor(
    private readonly editor: LikelyEditor,
    env: DraftStoreEnv | null = browserEnv(),
  ) {
    this.store = new DraftStore(env ?? memoryEnv());
  }

  /** Opens this tab's draft and keeps it from now on. */
  async start(): Promise<void> {
    let typedMeanwhile = false;
    const off = this.editor.onChange(() => (typedMeanwhile = !this.loading));
    const draft = await this.store.start();
    off();
    // Text typed before the draft was found is the newest: it stays, as this draft's text.
    if (typedMeanwhile) this.keep();
    else this.load(draft);
    this.editor.onChange(() => this.changed());
    window.addEventListener('pagehide', () => this.flush());
    window.addEventListener('beforeunload', (e) => {
      this.flush();
      if (this.storageProblem && this.unsaved) e.preventDefault();
    });
    try {
      this.channel = new BroadcastChannel(CHANNEL);
      this.channel.onmessage = () => this.panelOpen && void this.refresh();
    } catch {
      // No channel: the Drafts panel refreshes when opened.
    }
    this.ready = true;
    this.showTitle();
  }

  private load(d: Draft): void {
    this.loading = true;
    try {
      if (d.format === 'text') this.editor.setPlainText(d.text);
      else this.editor.setMarkdown(d.text);
    } finally {
      this.loading = false;
    }
    this.fileName = d.fileName;
    this.unsaved = isUnsaved(d);
    this.editor.setDocumentKey(`draft:${d.id}`);
    this.showTitle();
  }

  private changed(): void {
    if (this.loading) return;
    this.unsaved = true;
    this.showTitle();
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.flush(), SAVE_DELAY_MS);
  }

  /** Writes the draft now if a write is due. */
  flush(): void {
    if (this.timer === undefined) return;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.keep();
  }

  private keep(patch: Partial<Pick<Draft, 'format' | 'fileName' | 'savedText' | 'lineEndings'>> = {}): void {
    const text = this.editor.getDocument();
    const ok = this.store.update(text, { format: this.editor.format, ...patch });
    this.storageProblem = ok ? null : 'This browser could not keep the draft (storage full or disabled): save it to a file.';
    if (!ok) this.editor.showNotice({ level: 'warning', message: this.storageProblem! });
    this.unsaved = isUnsaved(this.store.current);
    this.showTitle();
    this.channel?.postMessage('changed');
  }

  private showTitle(): void {
    const name = this.fileName ?? draftTitle(this.store.current);
    document.title = `${this.unsaved ? '• ' : ''}${name} — Likely`;
  }

  /** What the notice says after the tab moved to another document, with a way back to the one before. */
  private kept(previous: Draft, doing: string): void {
    if (!isUnsaved(previous)) {
      this.editor.showNotice({ level: 'info', message: doing });
      return;
    }
    this.editor.showNotice({
      level: 'info',
      message: `${doing} Your unsaved “${shorten(draftTitle(previous))}” is kept in Drafts.`,
      actions: [{ label: 'Back to it', run: () => void this.switchTo(previous.id) }],
    });
  }

  /** Starts a new, empty draft; the one before stays in Drafts. */
  async newDraft(): Promise<void> {
    this.flush();
    const previous = this.store.current;
    this.handle = null;
    this.load(await this.store.replace({ format: 'markdown' }));
    this.editor.view?.focus();
    this.kept(previous, 'New draft.');
  }

  /** Opens a file into a new draft (the one before stays in Drafts). `handle`: where Save writes back. */
  async openFile(file: File, handle: FileHandle | null = null): Promise<boolean> {
    const read = await readTextFile(file);
    if ('error' in read) {
      this.editor.showNotice({ level: 'error', message: read.error });
      return false;
    }
    this.flush();
    const previous = this.store.current;
    const format = formatOfName(file.name);
    // The editor holds LF line ends; Save writes the file's own back, each line's where it mixes them.
    const scan = scanLineEndings(read.text);
    const lineEndings = { ending: scan.lineEnding, ...(scan.mixed ? { mixed: scan.mixed } : {}) };
    this.load(await this.store.replace({ text: scan.text, format, fileName: file.name, savedText: null, lineEndings }));
    // What the editor holds is what Save would write: the baseline for "unsaved".
    this.keep({ savedText: this.editor.getDocument(), fileName: file.name });
    this.handle = handle;
    this.kept(previous, `Opened ${file.name}.`);
    return true;
  }

  /** File ▸ Open…: the browser's file picker where it has one (Save then writes back), else `fallback` (a file input). */
  async open(fallback: () => void): Promise<void> {
    const picked = await chooseFileToOpen().catch((e: Error) => {
      this.editor.showNotice({ level: 'error', message: `Could not open the file: ${e.message}` });
      return null;
    });
    if (picked === 'unsupported') return fallback();
    if (picked) await this.openFile(picked.file, picked.handle);
  }

  /**
   * Saves: back to the file it came from where the browser gave a handle, else to a file the
   * writer picks, else as a download. A .txt file gets plain text (the document becomes plain text).
   */
  async save(saveAs = false): Promise<void> {
    this.flush();
    const suggested = `${safeFileName(this.fileName?.replace(/\.[^.]+$/, '') ?? this.editor.title())}.${this.editor.format === 'text' ? 'txt' : 'md'}`;
    try {
      const handle = !saveAs && this.handle ? this.handle : await chooseFileToSave(suggested);
      if (handle === null) return;
      const name = handle === 'unsupported' ? suggested : handle.name;
      const format: DocumentFormat = formatOfName(name);
      if (format !== this.editor.format) this.convert(format);
      const text = this.editor.getDocument();
      const { bytes, lineEndings } = withLineEndings(text, this.store.current.lineEndings);
      if (handle === 'unsupported') download(name, bytes, format === 'text' ? 'text/plain' : 'text/markdown');
      else {
        const writable = await handle.createWritable();
        await writable.write(bytes);
        await writable.close();
        this.handle = handle;
      }
      this.fileName = name;
      this.keep({ savedText: text, fileName: name, ...(lineEndings ? { lineEndings } : {}) });
      this.showTitle();
      this.editor.showNotice({ level: 'info', message: handle === 'unsupported' ? `Downloaded ${name}.` : `Saved ${name}.` });
    } catch (e) {
      this.editor.showNotice({ level: 'error', message: `Could not save: ${(e as Error).message}; the draft is still kept in this browser.` });
    }
  }

  /** The document read again in another format (saving a Markdown draft as .txt keeps its text, not its formatting). */
  private convert(format: DocumentFormat): void {
    this.loading = true;
    try {
      if (format === 'text') this.editor.setPlainText(this.editor.getPlainText());
      else this.editor.setMarkdown(this.editor.getMarkdown());
    } finally {
      this.loading = false;
    }
  }

  async switchTo(id: string): Promise<void> {
    this.flush();
    const previous = this.store.current;
    if (id === previous.id) return;
    const d = await this.store.switchTo(id).catch(() => null);
    if (!d) return this.editor.showNotice({ level: 'error', message: 'That draft is no longer kept in this browser.' });
    this.handle = null;
    this.load(d);
    this.panelOpen = false;
    this.kept(previous, `Opened the draft “${draftTitle(d)}”.`);
    void this.refresh();
  }

  remove(id: string): void {
    this.store.remove(id);
    void this.refresh();
  }

  async refresh(): Promise<void> {
    const held = await this.store.held();
    this.openElsewhere = held;
    this.others = this.store.list().filter((d) => d.id !== this.store.current.id && (d.text.trim() || d.savedText !== null));
  }

  togglePanel(): void {
    this.panelOpen = !this.panelOpen;
    if (this.panelOpen) void this.refresh();
  }

  /** The current draft, as stored (tests, the Drafts panel). */
  get current(): Draft {
    return this.store.current;
  }
}

/** The file's bytes for the editor's text: its own line endings, line by line where it mixes them; and the layout to keep for the next save. */
function withLineEndings(text: string, le: FileLineEndings | undefined): { bytes: string; lineEndings?: FileLineEndings } {
  if (!le || (le.ending === '\n' && !le.mixed)) return { bytes: text };
  if (!le.mixed) return { bytes: text.replace(/\n/g, le.ending), lineEndings: le };
  const { body, endings } = applyLineEndings(text, le.mixed, le.ending);
  return { bytes: body, lineEndings: { ending: le.ending, mixed: { base: text, endings } } };
}

const shorten = (s: string) => (s.length > 32 ? s.slice(0, 31) + '…' : s);

function browserEnv(): DraftStoreEnv | null {
  try {
    const locks = typeof navigator !== 'undefined' ? (navigator as unknown as { locks?: DraftStoreEnv['locks'] }).locks : undefined;
    return { local: localStorage, session: sessionStorage, ...(locks ? { locks } : {}) };
  } catch {
    return null;
  }
}

/** Storage that lives as long as the page (private modes that refuse localStorage). */
function memoryEnv(): DraftStoreEnv {
  const map = new Map<string, string>();
  const local = {
    getItem: (k: string) => map.get(k) ?? null,
    setItem: (k: string, v: string) => void map.set(k, v),
    removeItem: (k: string) => void map.delete(k),
    key: (i: number) => [...map.keys()][i] ?? null,
    get length() {
      return map.size;
    },
  };
  return { local, session: { getItem: () => null, setItem: () => {} } };
}
