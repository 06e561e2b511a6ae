/**
 * The Review panel: a second pass over the draft, as LanguageTool or VS Code's F8 make one. The
 * lists are common/review.ts's `reviewSpans` of the text and its scores (the same spans, in the
 * same order, as `likely review`), less what the writer chose to keep ("Ignore", "Ignore all like
 * this"). F8 / Shift+F8 (or the buttons) walk the surprising spans in rank order: each is selected
 * in the text, scrolled into view and opened in the popover with its rewrites; a rewrite is
 * accepted as one undoable step, the text is scored again and the list follows. The rewrites of
 * the next two spans are asked for ahead (the popover's cache), so Next shows them at once; an
 * edit makes those requests stale, and the engine drops them.
 *
 * The lists are rebuilt after score updates (at most every 150 ms, and only for a version whose
 * scores are complete up to where they are shown), not on keystrokes: typing never waits on them.
 * The counts show in the status bar whether the panel is open or not. Ignored spans are kept per
 * document (the draft in the browser, the file in the desktop app) in the page's storage, so they
 * stay ignored after a reload, until their text changes.
 */
import { applyIgnores, ignoreAllLikeThis, ignoreSpan, reviewSpans, type Review, type ReviewIgnores, type ReviewSpan } from '../../common/review.ts';
import type { LikelyEditor } from './editor.svelte.ts';
import { overlayTransaction } from './overlay-plugin.ts';
import { allFresh } from './scores-plugin.ts';
import { textToPos } from './text-map.ts';
import { TextSelection } from 'prosemirror-state';

export type ReviewList = 'surprising' | 'predictable' | 'repeats';

const REBUILD_MS = 150;
const PREFETCH = 2;
const STORE = 'likely:review-ignored:';

export class ReviewPanel {
  open = $state(false);
  list = $state<ReviewList>('surprising');
  /** The review of the current scores, the writer's ignores applied. */
  review = $state.raw<Review | null>(null);
  /** Index in `review.surprising` of the span F8 last went to, or -1. */
  current = $state(-1);
  /** The scored version the lists are for, and its text. */
  version = $state(-1);
  text = $state.raw('');
  private ignores: { keys: string[]; words: string[] } = { keys: [], words: [] };
  private documentKey = '';
  private timer: ReturnType<typeof setTimeout> | null = null;
  /** The last span walked to, so the walk goes on from it after the list changes. */
  private lastKey: string | null = null;
  private builtFrom: unknown = null;

  constructor(private readonly editor: LikelyEditor) {}

  get counts(): { surprising: number; predictable: number; repeats: number } | null {
    const r = this.review;
    return r ? { surprising: r.surprising.length, predictable: r.predictable.length, repeats: r.repeats.length } : null;
  }

  /** The document the ignores belong to changed (another draft, another file). */
  setDocument(key: string): void {
    if (key === this.documentKey) return;
    this.documentKey = key;
    try {
      const raw = JSON.parse(localStorage.getItem(STORE + key) ?? '{}') as Partial<{ keys: unknown; words: unknown }>;
      const strings = (v: unknown) => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);
      this.ignores = { keys: strings(raw.keys), words: strings(raw.words) };
    } catch {
      this.ignores = { keys: [], words: [] };
    }
    this.current = -1;
    this.lastKey = null;
    this.rebuild(true);
  }

  toggle(): void {
    this.open = !this.open;
    if (this.open) this.rebuild();
    else this.mark(null);
  }

  show(list: ReviewList = this.list): void {
    this.list = list;
    if (!this.open) this.toggle();
  }

  /** New scores (or an edit): rebuild soon, off the typing path. */
  scored(): void {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.rebuild();
    }, REBUILD_MS);
  }

  private rebuild(force = false): void {
    const s = this.editor.scores();
    if (!s) return;
    // The same scores as last time (a caret move, a selection): nothing to redo.
    if (!force && s.mirror.tokens === this.builtFrom) return;
    // Only a version scored to its end makes a list whose cutoff (mean − 1.5 sd) holds still; until
    // then the lists of the version before stay.
    if (!allFresh(s)) return;
    const text = s.text.text;
    this.builtFrom = s.mirror.tokens;
    const review = applyIgnores(reviewSpans(text, s.mirror.tokens), this.ignores);
    this.review = review;
    this.version = s.version;
    this.text = text;
    const at = this.lastKey === null ? -1 : review.surprising.findIndex((x) => x.key === this.lastKey);
    this.current = at;
  }

  /** F8 (step 1) and Shift+F8 (step −1): the next or previous surprising span, in rank order. */
  step(dir: 1 | -1): boolean {
    const r = this.review;
    if (!r || !r.surprising.length) {
      if (!this.open) this.show('surprising');
      return !!r;
    }
    const n = r.surprising.length;
    const i = this.current < 0 ? (dir > 0 ? 0 : n - 1) : (this.current + dir + n) % n;
    this.goTo(r.surprising[i]!, i);
    return true;
  }

  /** Selects a span in the text, scrolls to it, opens its rewrites (surprising and predictable spans) and asks for the next ones ahead. */
  goTo(span: ReviewSpan, index = -1): void {
    const view = this.editor.view;
    const s = this.editor.scores();
    if (!view || !s || s.version !== this.version) return;
    if (span.kind === 'surprising') {
      this.current = index;
      this.lastKey = span.key;
    }
    this.list = span.kind === 'repeat' ? 'repeats' : span.kind;
    const from = textToPos(s.text, span.start, 1);
    const to = textToPos(s.text, span.end, -1);
    view.dispatch(view.state.tr.setSelection(TextSelection.create(view.state.doc, from, Math.max(from, to))).scrollIntoView());
    view.focus();
    if (span.kind === 'repeat' && 'source' in span) this.mark(span as ReviewSpan & { source: { start: number; end: number } });
    else this.mark(null);
    if (span.kind !== 'repeat') this.editor.popover.openSpan({ start: span.start, end: span.end, text: span.text }, true);
    if (span.kind === 'surprising') this.prefetch(index);
  }

  /** Asks for the rewrites of the next spans now, so Next shows them at once. */
  private prefetch(index: number): void {
    const r = this.review;
    if (!r) return;
    for (let k = 1; k <= PREFETCH; k++) {
      const next = r.surprising[index + k];
      if (next) this.editor.popover.prefetch({ start: next.start, end: next.end, text: next.text });
    }
  }

  /** A repeat's source, marked while it is selected. */
  private mark(repeat: (ReviewSpan & { source: { start: number; end: number } }) | null): void {
    const view = this.editor.view;
    const s = this.editor.scores();
    if (!view || !s) return;
    const ranges = repeat ? [{ from: textToPos(s.text, repeat.source.start, 1), to: textToPos(s.text, repeat.source.end, -1), class: 'review-source', title: 'Copied from here' }] : [];
    view.dispatch(overlayTransaction(view.state, 'review', ranges));
  }

  ignore(span: ReviewSpan): void {
    this.keep(ignoreSpan(this.ignores, span));
  }

  ignoreAllLikeThis(span: ReviewSpan): void {
    this.keep(ignoreAllLikeThis(this.ignores, span));
  }

  /** Forgets every ignore of this document. */
  clearIgnores(): void {
    this.keep({ keys: [], words: [] });
  }

  get ignoredCount(): number {
    return this.ignores.keys.length + this.ignores.words.length;
  }

  private keep(ignores: { keys: string[]; words: string[] }): void {
    this.ignores = ignores;
    try {
      if (ignores.keys.length || ignores.words.length) localStorage.setItem(STORE + this.documentKey, JSON.stringify(ignores));
      else localStorage.removeItem(STORE + this.documentKey);
    } catch {
      // Not kept past this page; the list still hides them now.
    }
    const at = this.current;
    this.rebuild(true);
    // The walk goes on from where it was.
    if (this.review && at >= 0) this.current = Math.min(at, this.review.surprising.length) - 1;
  }

  /** The writer's ignores (tests). */
  get ignored(): ReviewIgnores {
    return this.ignores;
  }
}
