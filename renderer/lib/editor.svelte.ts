/**
 * The editor's state, as one Svelte 5 state class: it owns the ProseMirror view (mounted by
 * Editor.svelte in an $effect), talks to the engine through an EngineClient, and exposes what the
 * status bar and legend show. Each feature lives in its own module and reads the view through it:
 * the token popover (popover.svelte.ts), find and replace (find.svelte.ts), the stats panel
 * (stats.svelte.ts), the keys (keymap.ts, commands.ts), web mode's files (web-files.ts).
 */
import { history, redo, undo } from 'prosemirror-history';
import type { Node as PMNode } from 'prosemirror-model';
import { EditorState, type Command, type Transaction } from 'prosemirror-state';
import { EditorView } from 'prosemirror-view';
import { perplexity, type EngineClient, type EngineStatus, type ModelInfo, type Prediction, type ScoreUpdate } from '../../common/api.ts';
import { meanStdRange, type ColorMode, type Palette, type Range } from '../../common/colors.ts';
import { renderAnnotatedHtml } from '../../common/export-html.ts';
import type { DocumentFormat, Notice } from '../../common/shell.ts';
import { countWords } from '../../common/stats.ts';
import type { Transport } from './engine-client.ts';
import type { EditorHandle } from './editor-handle.ts';
import { FindReplace } from './find.svelte.ts';
import { findPlugin } from './find-plugin.ts';
import { editorKeymap } from './keymap.ts';
import { overlayPlugin } from './overlay-plugin.ts';
import { TokenPopover } from './popover.svelte.ts';
import { TokenTooltip } from './tooltip.svelte.ts';
import { markdownInputRules } from './input-rules.ts';
import { parseMarkdown, serializeMarkdown, type MarkdownOrigin } from './markdown.ts';
import { pasteProps, type NoticeAction } from './paste.ts';
import { parsePlainText, serializePlainText } from './plain-text.ts';
import { allFresh, optionsTransaction, resendTransaction, scoresKey, scoresPlugin, scoresTransaction, type DisplayOptions, type MarkStyle, type ScoresPluginConfig, type ScoresState } from './scores-plugin.ts';
import { loadViewSettings, saveViewSettings } from './view-settings.ts';
import { ReviewPanel } from './review.svelte.ts';
import { StatsPanel } from './stats.svelte.ts';

export class LikelyEditor implements EditorHandle {
  status = $state<EngineStatus>({ state: 'loading' });
  model = $state.raw<ModelInfo | null>(null);
  mode = $state<ColorMode>('logprob');
  dark = $state(false);
  coloring = $state(true);
  palette = $state<Palette>('red-green');
  markStyle = $state<MarkStyle>('background');
  /** Only tokens less likely than this are marked; null: all. */
  threshold = $state<number | null>(null);
  words = $state(0);
  tokenCount = $state(0);
  scored = $state(0);
  perplexity = $state(NaN);
  /** Every token of the current text is scored and shown. */
  done = $state(false);
  /** Some tokens show their scores from before an edit (faded) until the new ones arrive. */
  rescoring = $state(false);
  /** Clamp range of the current mode (legend). */
  range = $state.raw<Range | null>(null);
  notice = $state.raw<EditorNotice | null>(null);
  /** What the document is saved as: Markdown (formatting) or plain text (no formatting; a .txt file). */
  format = $state<DocumentFormat>('markdown');
  canUndo = $state(false);
  canRedo = $state(false);

  readonly popover = new TokenPopover(this);
  readonly tooltip = new TokenTooltip(this);
  readonly find = new FindReplace(this);
  readonly stats = new StatsPanel(this);
  readonly review = new ReviewPanel(this);
  view: EditorView | null = null;
  private versionCounter = 0;
  private readonly config: ScoresPluginConfig;
  private readonly changeListeners = new Set<() => void>();
  private queued: ScoreUpdate[] = [];
  private flushScheduled = false;
  private lastMirror: unknown = null;
  private lastScale: unknown = null;
  private wordsTimer: ReturnType<typeof setTimeout> | undefined;
  private wasDisconnected = false;
  /** The last key moved the caret (arrows, Home/End, Page Up/Down), not the pointer or typing. */
  private caretByKeyboard = false;
  private doneWaiters = new Set<() => void>();
  /**
   * A new editor state (a file opened, setPlainText) holds no scores: its first text goes to the
   * engine as `fresh`, or the engine would keep the scores of the prefix it shares with the old
   * text and send only the rest, which the new state could not place.
   */
  private freshState = false;
  /** The document to mount with, while there is no view. */
  private initialDoc = parsePlainText('');
  /** Where the blocks of the Markdown document came from (markdown.ts): unedited blocks are saved as they were read. */
  private origin: MarkdownOrigin | null = null;

  constructor(
    readonly engine: EngineClient,
    readonly transport: Transport,
  ) {
    this.dark = typeof matchMedia === 'function' && matchMedia('(prefers-color-scheme: dark)').matches;
    const view = loadViewSettings();
    this.mode = view.mode;
    this.palette = view.palette;
    this.markStyle = view.style;
    this.threshold = view.threshold;
    this.coloring = view.coloring;
    this.config = {
      nextVersion: () => ++this.versionCounter,
      onText: (version, text) => {
        const fresh = this.freshState;
        this.freshState = false;
        this.engine.call('update', fresh ? { version, text, fresh } : { version, text }).catch(() => {
          // The engine reports its state (restarting, error) as a status; the host re-sends the text.
        });
      },
      onUpdate: (s) => this.afterUpdate(s),
      measureViewport: (view) => visibleRange(view),
      options: this.displayOptions(),
    };
    engine.on('scores', (up) => this.enqueue(up));
    engine.on('status', (st) => this.onStatus(st));
    engine.call('modelInfo', {}).then(
      (info) => (this.model = info),
      () => {},
    );
  }

  // ------------------------------------------------------------------------------------------
  // The view

  mount(el: HTMLElement): void {
    const paste = pasteProps({ showNotice: (n) => this.showNotice(n), textLength: () => this.scores()?.text.text.length ?? 0 });
    this.view = new EditorView(el, {
      state: this.createState(this.initialDoc),
      dispatchTransaction: (tr) => this.dispatch(tr),
      attributes: { 'aria-label': 'Draft', 'aria-multiline': 'true', role: 'textbox', spellcheck: 'true' },
      ...paste,
      handleClick: (_view, pos, event) => {
        // A click places the caret (and closes the popover); the popover opens only when asked:
        // Alt+click or Ctrl/⌘+click on a token, Alt+Enter at the caret, or the tooltip's Details.
        if (event.button !== 0 || event.shiftKey || event.detail > 1 || !(event.altKey || event.ctrlKey || event.metaKey)) {
          this.popover.close(false);
          return false;
        }
        this.popover.openAt(pos, false);
        return true;
      },
      handleDOMEvents: {
        ...paste.handleDOMEvents,
        keydown: (_view, event) => {
          this.caretByKeyboard = /^(Arrow|Home|End|Page)/.test(event.key);
          return false;
        },
        pointerdown: () => {
          this.caretByKeyboard = false;
          return false;
        },
      },
    });
    document.documentElement.classList.toggle('dark', this.dark);
    this.countWords();
  }

  destroy(): void {
    this.view?.destroy();
    this.view = null;
  }

  private createState(doc: PMNode): EditorState {
    return EditorState.create({ doc, plugins: [history(), markdownInputRules(() => this.format === 'markdown'), ...editorKeymap(this), scoresPlugin(this.config), findPlugin(), overlayPlugin()] });
  }

  private dispatch(tr: Transaction): void {
    const view = this.view;
    if (!view) return;
    view.updateState(view.state.apply(tr));
    if (tr.docChanged) {
      this.popover.close(false);
      this.tooltip.hide();
      this.onDocChanged();
    } else if (tr.selectionSet) this.tooltip.caretMoved(this.caretByKeyboard);
    this.find.sync();
    this.canUndo = undo(view.state);
    this.canRedo = redo(view.state);
  }

  private onDocChanged(): void {
    for (const fn of this.changeListeners) fn();
    clearTimeout(this.wordsTimer);
    this.wordsTimer = setTimeout(() => this.countWords(), 120);
  }

  private countWords(): void {
    const s = this.scores();
    if (s) this.words = countWords(s.text.text);
  }

  private replaceDoc(doc: PMNode): void {
    const view = this.view;
    if (!view) {
      this.initialDoc = doc;
      return;
    }
    this.popover.close(false);
    // A new state (fresh undo history); the version counter keeps counting up.
    this.freshState = true;
    view.updateState(this.createState(doc));
    view.dispatch(optionsTransaction(view.state, this.displayOptions()));
    this.onDocChanged();
    this.countWords();
    this.canUndo = false;
    this.canRedo = false;
  }

  scores(): ScoresState | null {
    return this.view ? (scoresKey.getState(this.view.state) ?? null) : null;
  }

  /** Runs a command on the view (the toolbar's buttons) and gives the focus back to the text. */
  run(command: Command): void {
    const view = this.view;
    if (!view) return;
    command(view.state, view.dispatch);
    view.focus();
  }

  // ------------------------------------------------------------------------------------------
  // Engine events

  private enqueue(up: ScoreUpdate): void {
    this.queued.push(up);
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    // One transaction per frame however many chunks arrived; hidden pages still get them.
    const flush = () => {
      if (!this.flushScheduled) return;
      this.flushScheduled = false;
      const ups = this.queued;
      this.queued = [];
      const view = this.view;
      if (view && ups.length) view.dispatch(scoresTransaction(view.state, ups));
    };
    requestAnimationFrame(flush);
    setTimeout(flush, 100);
  }

  private onStatus(st: EngineStatus): void {
    const wasDown = this.wasDisconnected;
    this.status = st;
    if (st.model) this.model = st.model;
    if (st.state === 'restarting' || (st.state === 'error' && !st.model)) this.wasDisconnected = true;
    else if (wasDown) {
      // Back after a restart or reconnect: the engine may have lost the text; send it again.
      this.wasDisconnected = false;
      if (this.view) this.view.dispatch(resendTransaction(this.view.state));
      if (!this.model) this.engine.call('modelInfo', {}).then((m) => (this.model = m), () => {});
    }
  }

  private afterUpdate(s: ScoresState): void {
    if (s.mirror !== this.lastMirror) {
      this.lastMirror = s.mirror;
      this.perplexity = perplexity(s.mirror.tokens.map((t) => t.logprob));
      this.stats.scored();
    }
    if (s.scale !== this.lastScale) {
      // The legend's range is the one the colors use (the plugin's scale and the tokens it came from).
      this.lastScale = s.scale;
      const basis = s.scaleBasis.tokens;
      this.range = this.mode === 'rank' || basis.length === 0 ? null : meanStdRange(basis.map((t) => (this.mode === 'entropy' ? t.entropy : t.logprob)));
    }
    const current = s.mirror.version === s.version;
    this.tokenCount = current ? s.mirror.tokenCount : Math.max(s.mirror.tokenCount, s.fresh);
    this.scored = current ? s.mirror.tokens.length : s.fresh;
    this.done = allFresh(s);
    this.rescoring = !this.done && s.mirror.tokens.length > 0;
    if (this.done) for (const w of this.doneWaiters) w();
    this.popover.scored(s);
    if (this.done) this.review.scored();
  }

  /** Scoring progress 0–1 of the current text. */
  get progress(): number {
    return this.tokenCount ? Math.min(1, this.scored / this.tokenCount) : this.done ? 1 : 0;
  }

  /** Resolves when the current text is fully scored (rejects after `timeoutMs`, and forgets the waiter). */
  whenScored(timeoutMs = 120_000): Promise<void> {
    const s = this.scores();
    if (s && allFresh(s)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const waiter = () => {
        this.doneWaiters.delete(waiter);
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        this.doneWaiters.delete(waiter);
        reject(new Error('scoring did not finish in time'));
      }, timeoutMs);
      this.doneWaiters.add(waiter);
    });
  }

  // ------------------------------------------------------------------------------------------
  // Display options

  private displayOptions() {
    return { mode: this.mode, theme: this.dark ? ('dark' as const) : ('light' as const), palette: this.palette, style: this.markStyle, threshold: this.threshold, enabled: this.coloring };
  }

  private remember(): void {
    saveViewSettings({ mode: this.mode, palette: this.palette, style: this.markStyle, threshold: this.threshold, coloring: this.coloring });
  }

  /** The palette, background or underline marks, and the "show only p < x" threshold (View menu). */
  setLook(look: { palette?: Palette; style?: MarkStyle; threshold?: number | null }): void {
    if (look.palette !== undefined) this.palette = look.palette;
    if (look.style !== undefined) this.markStyle = look.style;
    if (look.threshold !== undefined) this.threshold = look.threshold;
    this.applyOptions({ palette: this.palette, style: this.markStyle, threshold: this.threshold });
    this.remember();
  }

  setMode(mode: ColorMode): void {
    this.mode = mode;
    this.remember();
    this.stats.highlighted = null;
    this.applyOptions({ mode, highlight: null });
    this.lastMirror = null;
    this.lastScale = null;
    const s = this.scores();
    if (s) this.afterUpdate(s);
  }

  setColoring(on: boolean): void {
    this.coloring = on;
    this.remember();
    if (!on) this.popover.close(false);
    this.applyOptions({ enabled: on });
  }

  setTheme(dark: boolean): void {
    this.dark = dark;
    document.documentElement.classList.toggle('dark', dark);
    this.applyOptions({ theme: dark ? 'dark' : 'light' });
  }

  applyOptions(options: Partial<DisplayOptions>): void {
    const view = this.view;
    if (view) view.dispatch(optionsTransaction(view.state, options));
  }

  // ------------------------------------------------------------------------------------------
  // The document (EditorHandle)

  private get doc(): PMNode {
    return this.view?.state.doc ?? this.initialDoc;
  }

  getMarkdown(): string {
    return serializeMarkdown(this.doc, this.origin);
  }

  setMarkdown(markdown: string): void {
    const { doc, origin } = parseMarkdown(markdown);
    this.format = 'markdown';
    this.origin = origin;
    this.replaceDoc(doc);
  }

  getPlainText(): string {
    return serializePlainText(this.doc);
  }

  setPlainText(text: string): void {
    this.format = 'text';
    this.origin = null;
    this.replaceDoc(parsePlainText(text));
  }

  /** The document as its format saves it: Markdown, or the plain text of a .txt document. */
  getDocument(): string {
    return this.format === 'text' ? this.getPlainText() : this.getMarkdown();
  }

  onChange(fn: () => void): () => void {
    this.changeListeners.add(fn);
    return () => this.changeListeners.delete(fn);
  }

  showNotice(notice: EditorNotice | null): void {
    this.notice = notice;
  }

  /** Which document this is (a draft's id, a file's path), for what is kept per document: the Review panel's ignores. */
  setDocumentKey(key: string): void {
    this.review.setDocument(key);
  }

  /** The first line of the text (for a title or file name), or "Untitled". */
  title(): string {
    return firstLine(this.getPlainText()) || 'Untitled';
  }

  async exportHtml(title?: string): Promise<string> {
    for (let attempt = 0; attempt < 5; attempt++) {
      await this.whenScored();
      const s = this.scores();
      if (!s || !allFresh(s)) continue;
      const { version, text, mirror } = s;
      let predictions: Prediction[][];
      try {
        predictions = mirror.tokens.length ? await this.engine.call('predictions', { version, from: 0, to: mirror.tokens.length, k: 5 }) : [];
      } catch (e) {
        // Superseded by an edit while fetching: start over with the new text.
        if (this.scores()?.version !== version) continue;
        throw e;
      }
      return renderAnnotatedHtml({
        text: text.text,
        tokens: mirror.tokens,
        blocks: text.blocks,
        predictions,
        model: { name: this.model?.name ?? 'unknown model', device: this.model?.device ?? 'unknown' },
        mode: this.mode,
        title: title ?? firstLine(text.text),
      });
    }
    throw new Error('the text kept changing during the export');
  }
}

/** A status-bar notice; the page's own may offer buttons (the shell's come over IPC and have none). */
export type EditorNotice = Notice & { actions?: NoticeAction[] };

function firstLine(text: string): string {
  return (text.split('\n').find((l) => l.trim()) ?? '').trim().slice(0, 60);
}

/** Positions at the top and bottom of the editor's visible area. */
function visibleRange(view: EditorView): { from: number; to: number } | null {
  const scroller = view.dom.closest('.editor-scroll') ?? document.documentElement;
  const box = scroller.getBoundingClientRect();
  const dom = view.dom.getBoundingClientRect();
  const top = Math.max(box.top, 0) + 2;
  const bottom = Math.min(box.bottom, window.innerHeight) - 2;
  if (bottom <= top) return null;
  const left = Math.min(Math.max(dom.left + 24, box.left + 2), box.right - 2);
  const a = view.posAtCoords({ left, top });
  const b = view.posAtCoords({ left, top: bottom });
  return { from: a ? a.pos : 0, to: b ? b.pos : view.state.doc.content.size };
}
