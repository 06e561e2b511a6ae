/**
 * The editor's state and behaviour, as one Svelte 5 state class: it owns the ProseMirror view
 * (mounted by Editor.svelte in an $effect), talks to the engine through an EngineClient, and
 * exposes what the components show (status, stats, popover, find) as reactive fields.
 */
import { baseKeymap, chainCommands, exitCode, setBlockType, toggleMark } from 'prosemirror-commands';
import { closeHistory, history, redo, undo } from 'prosemirror-history';
import { keymap } from 'prosemirror-keymap';
import type { NodeType } from 'prosemirror-model';
import { liftListItem, sinkListItem, splitListItem, wrapInList } from 'prosemirror-schema-list';
import { EditorState, type Command, type Transaction } from 'prosemirror-state';
import { EditorView } from 'prosemirror-view';
import { perplexity, type EngineClient, type EngineStatus, type InfillResult, type ModelInfo, type Prediction, type ScoreUpdate } from '../../common/api.ts';
import { meanStdRange, type ColorMode, type Range } from '../../common/colors.ts';
import { renderAnnotatedHtml, type AnnotatedHtmlInput } from '../../common/export-html.ts';
import { humanSize, MAX_DOCUMENT_BYTES } from '../../common/limits.ts';
import type { DocumentFormat, Notice } from '../../common/shell.ts';
import { countWords, logprobHistogram, paragraphPerplexities, rankBucketCounts, type BucketCount, type HistogramBin, type ParagraphStat } from '../../common/stats.ts';
import type { EditorHandle } from './editor-handle.ts';
import { findKey, findPlugin, findStep, replaceAll, replaceCurrent, setFind } from './find-plugin.ts';
import { parseMarkdown, parsePlainText, schema, serializeMarkdown } from './schema.ts';
import { allFresh, optionsTransaction, resendTransaction, scoresKey, scoresPlugin, scoresTransaction, tokenAt, type ScoresPluginConfig, type ScoresState, type TokenSpec } from './scores-plugin.ts';
import { textToPos } from './text-map.ts';

export interface Stats {
  histogram: HistogramBin[];
  buckets: BucketCount[];
  paragraphs: (ParagraphStat & { preview: string })[];
  tokenCount: number;
}

export interface PopoverData {
  /** Position of the token's first piece. */
  pos: number;
  spec: TokenSpec;
  pending: boolean;
  /** Viewport coordinates to show the popover at (below the token), and the token's top. */
  x: number;
  y: number;
  yTop: number;
  version: number;
  predictions: Prediction[] | null;
  infill: InfillResult | null;
  infillState: 'idle' | 'loading' | 'done' | 'error';
  infillError?: string;
  /** The suggestion picked with the cycle shortcut (Alt+↓/↑), applied by Enter; -1 for none. */
  selected: number;
  error: string | null;
  /** Opened from the keyboard: focus moves into the popover. */
  keyboard: boolean;
}

const DRAFT_KEY = 'likely:draft';
const WELCOME = '';

function mac(): boolean {
  return typeof navigator !== 'undefined' && /Mac|iPhone|iPad/.test(navigator.platform);
}

export class LikelyEditor {
  status = $state<EngineStatus>({ state: 'loading' });
  model = $state.raw<ModelInfo | null>(null);
  mode = $state<ColorMode>('logprob');
  dark = $state(false);
  coloring = $state(true);
  words = $state(0);
  tokenCount = $state(0);
  scored = $state(0);
  perplexity = $state(NaN);
  /** Every token of the current text is scored and shown. */
  done = $state(false);
  /** Clamp range of the current mode (legend). */
  range = $state.raw<Range | null>(null);
  statsOpen = $state(false);
  stats = $state.raw<Stats | null>(null);
  /** Which stats bar is highlighted, e.g. "hist:3" or "bucket:0". */
  highlighted = $state<string | null>(null);
  popover = $state.raw<PopoverData | null>(null);
  findOpen = $state(false);
  findQuery = $state('');
  replaceText = $state('');
  findCaseSensitive = $state(false);
  findCount = $state(0);
  findCurrent = $state(-1);
  notice = $state.raw<Notice | null>(null);
  canUndo = $state(false);
  canRedo = $state(false);

  view: EditorView | null = null;
  readonly handle: EditorHandle;
  private versionCounter = 0;
  private readonly config: ScoresPluginConfig;
  private readonly changeListeners = new Set<() => void>();
  private queued: ScoreUpdate[] = [];
  private flushScheduled = false;
  private lastMirror: unknown = null;
  private lastScale: unknown = null;
  private wordsTimer: ReturnType<typeof setTimeout> | null = null;
  private statsTimer: ReturnType<typeof setTimeout> | null = null;
  private persistTimer: ReturnType<typeof setTimeout> | null = null;
  private popoverRequest = 0;
  private wasDisconnected = false;
  private doneWaiters: (() => void)[] = [];
  private persist = false;
  private initialDoc = parsePlainText(WELCOME);

  constructor(
    readonly engine: EngineClient,
    readonly transport: 'electron' | 'websocket',
  ) {
    this.dark = typeof matchMedia === 'function' && matchMedia('(prefers-color-scheme: dark)').matches;
    this.config = {
      nextVersion: () => ++this.versionCounter,
      onText: (version, text) => {
        this.engine.call('update', { version, text }).catch(() => {
          // The engine reports its state (restarting, error) as a status; the host re-sends the text.
        });
      },
      onUpdate: (s) => this.afterUpdate(s),
      measureViewport: (view) => visibleRange(view),
      options: { mode: this.mode, theme: this.dark ? 'dark' : 'light' },
    };
    engine.on('scores', (up) => this.enqueue(up));
    engine.on('status', (st) => this.onStatus(st));
    engine.call('modelInfo', {}).then(
      (info) => (this.model = info),
      () => {},
    );
    this.handle = this.makeHandle();
  }

  // ------------------------------------------------------------------------------------------
  // Mounting

  mount(el: HTMLElement): void {
    const state = this.createState(this.initialDoc);
    this.view = new EditorView(el, {
      state,
      dispatchTransaction: (tr) => this.dispatch(tr),
      attributes: { 'aria-label': 'Draft', 'aria-multiline': 'true', role: 'textbox', spellcheck: 'false' },
      handleClick: (_view, pos, event) => {
        if (event.button !== 0 || event.shiftKey || event.detail > 1) return false;
        this.openPopoverAt(pos, false);
        return false;
      },
    });
    document.documentElement.classList.toggle('dark', this.dark);
  }

  destroy(): void {
    this.view?.destroy();
    this.view = null;
  }

  /** Keeps the draft in this browser between visits (web mode, where no file backs it). */
  enableDraftPersistence(): void {
    this.persist = true;
    try {
      const saved = localStorage.getItem(DRAFT_KEY);
      if (saved !== null && this.view) this.replaceDoc(parseMarkdown(saved));
      else if (saved !== null) this.initialDoc = parseMarkdown(saved);
    } catch {
      // Storage can be unavailable (private mode); the draft then lives in the page only.
    }
  }

  private createState(doc = parsePlainText('')): EditorState {
    const s = schema.nodes;
    const list = (type: NodeType): Command => wrapInList(type);
    const keys: Record<string, Command> = {
      'Mod-z': undo,
      'Shift-Mod-z': redo,
      'Mod-b': toggleMark(schema.marks.strong!),
      'Mod-i': toggleMark(schema.marks.em!),
      'Mod-`': toggleMark(schema.marks.code!),
      'Shift-Ctrl-0': setBlockType(s.paragraph!),
      'Shift-Ctrl-1': setBlockType(s.heading!, { level: 1 }),
      'Shift-Ctrl-2': setBlockType(s.heading!, { level: 2 }),
      'Shift-Ctrl-3': setBlockType(s.heading!, { level: 3 }),
      'Shift-Ctrl-8': list(s.bullet_list!),
      'Shift-Ctrl-9': list(s.ordered_list!),
      Enter: chainCommands(() => this.applySelectedSuggestion(), splitListItem(s.list_item!)),
      // With suggestions in the popover: pick the next / previous one (Enter replaces the span with it).
      'Alt-ArrowDown': () => this.cycleSuggestion(1),
      'Alt-ArrowUp': () => this.cycleSuggestion(-1),
      'Mod-[': liftListItem(s.list_item!),
      'Mod-]': sinkListItem(s.list_item!),
      'Shift-Enter': chainCommands(exitCode, (state, dispatch) => {
        dispatch?.(state.tr.replaceSelectionWith(s.hard_break!.create()).scrollIntoView());
        return true;
      }),
      'Mod-.': () => this.openPopoverAtSelection(),
      'Alt-Enter': () => this.openPopoverAtSelection(),
      'Mod-f': () => {
        this.openFind();
        return true;
      },
      Escape: () => {
        if (this.popover) {
          this.closePopover();
          return true;
        }
        if (this.findOpen) {
          this.closeFind();
          return true;
        }
        return false;
      },
    };
    if (!mac()) keys['Mod-y'] = redo;
    return EditorState.create({
      doc,
      plugins: [history(), keymap(keys), keymap(baseKeymap), scoresPlugin(this.config), findPlugin()],
    });
  }

  private dispatch(tr: Transaction): void {
    const view = this.view;
    if (!view) return;
    view.updateState(view.state.apply(tr));
    if (tr.docChanged) {
      if (this.popover) this.closePopover(false);
      this.onDocChanged();
    }
    this.syncFind();
    this.canUndo = undo(view.state);
    this.canRedo = redo(view.state);
  }

  private onDocChanged(): void {
    for (const fn of this.changeListeners) fn();
    if (this.wordsTimer) clearTimeout(this.wordsTimer);
    this.wordsTimer = setTimeout(() => this.countWords(), 120);
    if (this.persist) {
      if (this.persistTimer) clearTimeout(this.persistTimer);
      this.persistTimer = setTimeout(() => {
        try {
          localStorage.setItem(DRAFT_KEY, this.getMarkdown());
        } catch {
          this.showNotice({ level: 'warning', message: 'The draft could not be saved in this browser (storage full or disabled).' });
        }
      }, 400);
    }
  }

  private countWords(): void {
    const s = this.scores();
    if (s) this.words = countWords(s.text.text);
  }

  private replaceDoc(doc: ReturnType<typeof parsePlainText>): void {
    const view = this.view;
    if (!view) {
      this.initialDoc = doc;
      return;
    }
    this.closePopover(false);
    // A new state (fresh undo history); the version counter keeps counting up.
    view.updateState(this.createState(doc));
    view.dispatch(optionsTransaction(view.state, { mode: this.mode, theme: this.dark ? 'dark' : 'light', enabled: this.coloring }));
    this.onDocChanged();
    this.countWords();
    this.canUndo = false;
    this.canRedo = false;
  }

  scores(): ScoresState | null {
    return this.view ? (scoresKey.getState(this.view.state) ?? null) : null;
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
      if (this.statsOpen) this.scheduleStats();
    }
    if (s.scale !== this.lastScale) {
      // The legend's range is the one the colors use (the plugin's scale and the tokens it came from).
      this.lastScale = s.scale;
      const basis = s.scaleBasis.tokens;
      this.range = this.mode === 'rank' || basis.length === 0 ? null : meanStdRange(basis.map((t) => (this.mode === 'entropy' ? t.entropy : t.logprob)));
    }
    this.tokenCount = s.mirror.version === s.version ? s.mirror.tokenCount : Math.max(s.mirror.tokenCount, s.fresh);
    this.scored = s.mirror.version === s.version ? s.mirror.tokens.length : s.fresh;
    const done = allFresh(s);
    this.done = done;
    if (done && this.doneWaiters.length) {
      const waiters = this.doneWaiters;
      this.doneWaiters = [];
      for (const w of waiters) w();
    }
    const p = this.popover;
    if (p?.pending) {
      const hit = tokenAt(s, p.pos);
      if (hit && !hit.pending) {
        this.popover = { ...p, spec: hit.spec, pending: false, version: s.version };
        this.loadPopoverDetails();
      }
    }
  }

  /** Scoring progress 0–1 of the current text. */
  get progress(): number {
    return this.tokenCount ? Math.min(1, this.scored / this.tokenCount) : this.done ? 1 : 0;
  }

  // ------------------------------------------------------------------------------------------
  // Display options

  setMode(mode: ColorMode): void {
    this.mode = mode;
    this.highlighted = null;
    this.applyOptions({ mode, highlight: null });
    this.lastMirror = null;
    this.lastScale = null;
    const s = this.scores();
    if (s) this.afterUpdate(s);
  }

  setColoring(on: boolean): void {
    this.coloring = on;
    if (!on) this.closePopover(false);
    this.applyOptions({ enabled: on });
  }

  setTheme(dark: boolean): void {
    this.dark = dark;
    document.documentElement.classList.toggle('dark', dark);
    this.applyOptions({ theme: dark ? 'dark' : 'light' });
  }

  private applyOptions(options: Parameters<typeof optionsTransaction>[1]): void {
    const view = this.view;
    if (view) view.dispatch(optionsTransaction(view.state, options));
  }

  // ------------------------------------------------------------------------------------------
  // Stats

  toggleStats(): void {
    this.statsOpen = !this.statsOpen;
    if (this.statsOpen) this.computeStats();
    else this.highlight(null, null);
  }

  private scheduleStats(): void {
    if (this.statsTimer) return;
    this.statsTimer = setTimeout(() => {
      this.statsTimer = null;
      this.computeStats();
    }, 200);
  }

  private computeStats(): void {
    const s = this.scores();
    if (!s) return;
    const tokens = s.mirror.tokens;
    const text = s.sent.get(s.mirror.version) ?? '';
    this.stats = {
      histogram: logprobHistogram(tokens),
      buckets: rankBucketCounts(tokens),
      paragraphs: paragraphPerplexities(text, tokens).map((p) => ({ ...p, preview: text.slice(p.start, Math.min(p.end, p.start + 48)) })),
      tokenCount: tokens.length,
    };
  }

  /** Highlights the tokens of a stats bar (key identifies the bar); the same key again clears it. */
  highlight(key: string | null, tokens: readonly number[] | null): void {
    if (key !== null && key === this.highlighted) {
      key = null;
      tokens = null;
    }
    this.highlighted = key;
    this.applyOptions({ highlight: tokens ? new Set(tokens) : null });
    const view = this.view;
    const s = this.scores();
    if (view && s && tokens?.length) {
      const first = s.mirror.tokens[tokens[0]!];
      if (first && first.end <= s.text.text.length) scrollToPos(view, textToPos(s.text, first.start, 1));
    }
  }

  /** Scrolls the editor to a text offset of the current text (a paragraph in the stats panel). */
  revealOffset(offset: number): void {
    const view = this.view;
    const s = this.scores();
    if (view && s) scrollToPos(view, textToPos(s.text, offset, 1));
  }

  // ------------------------------------------------------------------------------------------
  // Token popover

  private openPopoverAtSelection(): boolean {
    const view = this.view;
    if (!view) return false;
    const head = view.state.selection.$head;
    this.openPopoverAt(head.pos, true, head.pos > head.start() ? head.pos - 1 : head.pos);
    return true;
  }

  /** Opens the popover for the token at `pos` (or at `fallback`, e.g. the character before the caret). */
  openPopoverAt(pos: number, keyboard: boolean, fallback?: number): void {
    const view = this.view;
    const s = this.scores();
    if (!view || !s || !this.coloring) return;
    const hit = tokenAt(s, pos) ?? (fallback !== undefined ? tokenAt(s, fallback) : null);
    if (!hit) {
      this.closePopover(false);
      return;
    }
    const coords = view.coordsAtPos(Math.min(hit.from, view.state.doc.content.size));
    this.popover = {
      pos: hit.from,
      spec: hit.spec,
      pending: hit.pending,
      x: coords.left,
      y: coords.bottom,
      yTop: coords.top,
      version: s.version,
      predictions: null,
      infill: null,
      infillState: 'idle',
      selected: -1,
      error: null,
      keyboard,
    };
    if (!hit.pending) this.loadPopoverDetails();
  }

  private loadPopoverDetails(): void {
    const p = this.popover;
    if (!p) return;
    const request = ++this.popoverRequest;
    const current = () => request === this.popoverRequest && this.popover !== null;
    const { version } = p;
    const index = p.spec.i;
    this.engine.call('topK', { version, index, k: 10 }).then(
      (predictions) => current() && (this.popover = { ...this.popover!, predictions }),
      (e: Error) => current() && (this.popover = { ...this.popover!, error: e.message }),
    );
    this.popover = { ...p, infillState: 'loading' };
    this.engine
      .call('suggestSpan', { version, index })
      .then((span) => this.engine.call('infill', { version, start: span.start, end: span.end, k: 8 }))
      .then(
        (infill) => current() && (this.popover = { ...this.popover!, infill, infillState: 'done' }),
        (e: Error) => current() && (this.popover = { ...this.popover!, infillState: 'error', infillError: e.message }),
      );
  }

  closePopover(refocus = true): void {
    if (!this.popover) return;
    this.popoverRequest++;
    this.popover = null;
    if (refocus) this.view?.focus();
  }

  /** Moves the popover's selected suggestion (wrapping around); false when it shows none. */
  cycleSuggestion(step: 1 | -1): boolean {
    const p = this.popover;
    const n = p?.infillState === 'done' ? (p.infill?.suggestions.length ?? 0) : 0;
    if (!p || n === 0) return false;
    const selected = p.selected < 0 ? (step > 0 ? 0 : n - 1) : (p.selected + step + n) % n;
    this.popover = { ...p, selected };
    return true;
  }

  /** Applies the suggestion picked with the cycle shortcut; false when none is picked. */
  applySelectedSuggestion(): boolean {
    const p = this.popover;
    const suggestion = p && p.selected >= 0 ? p.infill?.suggestions[p.selected] : undefined;
    if (!suggestion) return false;
    this.applySuggestion(suggestion.text);
    return true;
  }

  /**
   * Replaces the span of the popover's fill-in suggestions with one of them, as one undoable step
   * of its own (not merged with typing just before or after it). The edit makes a new version, so
   * the engine re-scores from the span on.
   */
  applySuggestion(text: string): void {
    const view = this.view;
    const s = this.scores();
    const p = this.popover;
    if (!view || !s || !p?.infill || p.version !== s.version) return;
    const { start, end } = p.infill.span;
    const from = textToPos(s.text, start, 1);
    const to = textToPos(s.text, end, -1);
    this.closePopover();
    view.dispatch(closeHistory(view.state.tr.insertText(text, from, Math.max(from, to))).scrollIntoView());
    view.dispatch(closeHistory(view.state.tr));
    view.focus();
  }

  // ------------------------------------------------------------------------------------------
  // Find / replace

  openFind(): void {
    this.findOpen = true;
    const view = this.view;
    if (view) {
      const { from, to } = view.state.selection;
      const selected = view.state.doc.textBetween(from, to, ' ');
      if (selected && !selected.includes('\n') && selected.length < 200) this.findQuery = selected;
      view.dispatch(setFind(view.state, { query: this.findQuery, caseSensitive: this.findCaseSensitive }));
    }
  }

  closeFind(): void {
    this.findOpen = false;
    const view = this.view;
    if (view) {
      view.dispatch(setFind(view.state, { query: '' }));
      view.focus();
    }
  }

  setFindQuery(query: string, caseSensitive = this.findCaseSensitive): void {
    this.findQuery = query;
    this.findCaseSensitive = caseSensitive;
    const view = this.view;
    if (view) view.dispatch(setFind(view.state, { query, caseSensitive, current: 0 }));
  }

  findNext(dir: 1 | -1 = 1): void {
    const view = this.view;
    if (view) findStep(dir)(view.state, view.dispatch);
  }

  replaceOne(): void {
    const view = this.view;
    if (view) replaceCurrent(this.replaceText)(view.state, view.dispatch);
  }

  replaceEvery(): void {
    const view = this.view;
    if (view) replaceAll(this.replaceText)(view.state, view.dispatch);
  }

  private syncFind(): void {
    const s = this.view ? findKey.getState(this.view.state) : null;
    this.findCount = s?.matches.length ?? 0;
    this.findCurrent = s?.current ?? -1;
  }

  // ------------------------------------------------------------------------------------------
  // Commands for the toolbar

  run(command: Command): void {
    const view = this.view;
    if (!view) return;
    command(view.state, view.dispatch);
    view.focus();
  }

  undo(): void {
    this.run(undo);
  }

  redo(): void {
    this.run(redo);
  }

  setBlock(kind: 'paragraph' | 'h1' | 'h2' | 'h3' | 'bullet' | 'ordered'): void {
    const s = schema.nodes;
    const commands: Record<typeof kind, Command> = {
      paragraph: setBlockType(s.paragraph!),
      h1: setBlockType(s.heading!, { level: 1 }),
      h2: setBlockType(s.heading!, { level: 2 }),
      h3: setBlockType(s.heading!, { level: 3 }),
      bullet: wrapInList(s.bullet_list!),
      ordered: wrapInList(s.ordered_list!),
    };
    this.run(commands[kind]);
  }

  toggleMark(mark: 'strong' | 'em'): void {
    this.run(toggleMark(schema.marks[mark]!));
  }

  // ------------------------------------------------------------------------------------------
  // Documents and export

  getMarkdown(): string {
    return this.view ? serializeMarkdown(this.view.state.doc) : serializeMarkdown(this.initialDoc);
  }

  getPlainText(): string {
    return this.scores()?.text.text ?? '';
  }

  setText(text: string, format: DocumentFormat): void {
    this.replaceDoc(format === 'markdown' ? parseMarkdown(text) : parsePlainText(text));
  }

  showNotice(notice: Notice | null): void {
    this.notice = notice;
  }

  /** Export input for the current text, or null while it is not fully scored. */
  getExportInput(): AnnotatedHtmlInput | null {
    const s = this.scores();
    if (!s || !allFresh(s)) return null;
    return {
      text: s.text.text,
      tokens: s.mirror.tokens,
      blocks: s.text.blocks,
      model: { name: this.model?.name ?? 'unknown model', device: this.model?.device ?? 'unknown' },
      mode: this.mode,
      perplexity: perplexity(s.mirror.tokens.map((t) => t.logprob)),
    };
  }

  /** Resolves when the current text is fully scored (rejects after `timeoutMs`). */
  whenScored(timeoutMs = 120_000): Promise<void> {
    const s = this.scores();
    if (s && allFresh(s)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const waiter = () => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        this.doneWaiters = this.doneWaiters.filter((w) => w !== waiter); // a timed-out wait leaves nothing behind
        reject(new Error('scoring did not finish in time'));
      }, timeoutMs);
      this.doneWaiters.push(waiter);
    });
  }

  async exportHtml(title?: string): Promise<string> {
    for (let attempt = 0; attempt < 5; attempt++) {
      await this.whenScored();
      const input = this.getExportInput();
      const s = this.scores();
      if (!input || !s) continue;
      const version = s.version;
      let predictions: Prediction[][] | undefined;
      try {
        predictions = input.tokens.length ? await this.engine.call('predictions', { version, from: 0, to: input.tokens.length, k: 5 }) : [];
      } catch (e) {
        // Superseded by an edit while fetching: start over with the new text.
        if (this.scores()?.version !== version) continue;
        throw e;
      }
      return renderAnnotatedHtml({ ...input, predictions, title: title ?? firstLine(input.text) });
    }
    throw new Error('the text kept changing during the export');
  }

  /** Web mode: downloads the annotated HTML of the draft. */
  async downloadHtml(): Promise<void> {
    try {
      this.showNotice({ level: 'info', message: 'Preparing the annotated HTML…' });
      const title = firstLine(this.getPlainText()) || 'Untitled';
      const html = await this.exportHtml(title);
      download(`${fileName(title)}.html`, html, 'text/html');
      this.showNotice({ level: 'info', message: 'Exported the annotated HTML.' });
    } catch (e) {
      this.showNotice({ level: 'error', message: `Export failed: ${(e as Error).message}` });
    }
  }

  /** Web mode: downloads the draft as Markdown. */
  downloadMarkdown(): void {
    download(`${fileName(firstLine(this.getPlainText()) || 'Untitled')}.md`, this.getMarkdown(), 'text/markdown');
  }

  /** Web mode: opens a local file (.md as Markdown, anything else as plain text). */
  async openFile(file: File): Promise<void> {
    if (file.size > MAX_DOCUMENT_BYTES) {
      this.showNotice({ level: 'error', message: `${file.name} is ${humanSize(file.size)}; Likely opens text files up to ${humanSize(MAX_DOCUMENT_BYTES)}; not opened.` });
      return;
    }
    const bytes = new Uint8Array(await file.arrayBuffer());
    let text: string;
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    } catch {
      this.showNotice({ level: 'error', message: `${file.name} is not UTF-8 text; not opened.` });
      return;
    }
    if (text.includes('\u0000')) {
      this.showNotice({ level: 'error', message: `${file.name} looks like a binary file; not opened.` });
      return;
    }
    this.setText(text, /\.(md|markdown)$/i.test(file.name) ? 'markdown' : 'text');
    this.showNotice({ level: 'info', message: `Opened ${file.name}.` });
  }

  private makeHandle(): EditorHandle {
    return {
      getMarkdown: () => this.getMarkdown(),
      setMarkdown: (md) => this.setText(md, 'markdown'),
      getPlainText: () => this.getPlainText(),
      setPlainText: (text) => this.setText(text, 'text'),
      getText: (format) => (format === 'markdown' ? this.getMarkdown() : this.getPlainText()),
      setText: (text, format) => this.setText(text, format),
      onChange: (fn) => {
        this.changeListeners.add(fn);
        return () => this.changeListeners.delete(fn);
      },
      getExportInput: () => this.getExportInput(),
      exportHtml: (title) => this.exportHtml(title),
      setTheme: (dark) => this.setTheme(dark),
      showNotice: (n) => this.showNotice(n),
      focus: () => this.view?.focus(),
    };
  }
}

function firstLine(text: string): string {
  return (text.split('\n').find((l) => l.trim()) ?? '').trim().slice(0, 60);
}

function fileName(title: string): string {
  // Characters file systems refuse, and control characters.
  // eslint-disable-next-line no-control-regex
  return title.replace(/[\\/:*?"<>|\u0000-\u001f]+/g, ' ').trim().slice(0, 60) || 'Untitled';
}

function download(name: string, content: string, type: string): void {
  const url = URL.createObjectURL(new Blob([content], { type: `${type};charset=utf-8` }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
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
  const size = view.state.doc.content.size;
  return { from: a ? a.pos : 0, to: b ? b.pos : size };
}

function scrollToPos(view: EditorView, pos: number): void {
  const { node } = view.domAtPos(pos);
  const el = node.nodeType === 1 ? (node as Element) : node.parentElement;
  el?.scrollIntoView({ block: 'center' });
}
