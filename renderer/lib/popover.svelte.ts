/**
 * The token popover: the clicked token's numbers, the model's top-10 there, and fill-in rewrites of
 * the unlikely span around it (requested from the engine for the version it was opened on; a
 * result for an older version or a closed popover is dropped). A rewrite replaces the span as one
 * undo step of its own.
 */
import { closeHistory } from 'prosemirror-history';
import type { InfillResult, Prediction } from '../../common/api.ts';
import type { LikelyEditor } from './editor.svelte.ts';
import { tokenAt, type ScoresState, type TokenSpec } from './scores-plugin.ts';
import { textToPos } from './text-map.ts';

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

export class TokenPopover {
  current = $state.raw<PopoverData | null>(null);
  private request = 0;

  constructor(private readonly editor: LikelyEditor) {}

  /** Opens the popover for the token at the caret (or the character before it). */
  openAtSelection(): boolean {
    const head = this.editor.view?.state.selection.$head;
    if (!head) return false;
    this.openAt(head.pos, true, head.pos > head.start() ? head.pos - 1 : head.pos);
    return true;
  }

  /** Opens the popover for the token at `pos` (or at `fallback`, e.g. the character before the caret). */
  openAt(pos: number, keyboard: boolean, fallback?: number): void {
    const { view, coloring } = this.editor;
    const s = this.editor.scores();
    if (!view || !s || !coloring) return;
    const hit = tokenAt(s, pos) ?? (fallback !== undefined ? tokenAt(s, fallback) : null);
    if (!hit) return this.close(false);
    const coords = view.coordsAtPos(Math.min(hit.from, view.state.doc.content.size));
    this.current = {
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
    if (!hit.pending) this.loadDetails();
  }

  /** After new scores: a popover opened on a pending token gets its numbers once it is scored. */
  scored(s: ScoresState): void {
    const p = this.current;
    if (!p?.pending) return;
    const hit = tokenAt(s, p.pos);
    if (hit && !hit.pending) {
      this.current = { ...p, spec: hit.spec, pending: false, version: s.version };
      this.loadDetails();
    }
  }

  private loadDetails(): void {
    const p = this.current;
    if (!p) return;
    const { engine } = this.editor;
    const request = ++this.request;
    const update = (patch: Partial<PopoverData>) => {
      if (request === this.request && this.current) this.current = { ...this.current, ...patch };
    };
    const { version } = p;
    const index = p.spec.i;
    engine.call('topK', { version, index, k: 10 }).then(
      (predictions) => update({ predictions }),
      (e: Error) => update({ error: e.message }),
    );
    this.current = { ...p, infillState: 'loading' };
    engine
      .call('suggestSpan', { version, index })
      .then((span) => engine.call('infill', { version, start: span.start, end: span.end, k: 8 }))
      .then(
        (infill) => update({ infill, infillState: 'done' }),
        (e: Error) => update({ infillState: 'error', infillError: e.message }),
      );
  }

  close(refocus = true): void {
    if (!this.current) return;
    this.request++;
    this.current = null;
    if (refocus) this.editor.view?.focus();
  }

  /** Moves the picked suggestion (wrapping around); false when the popover shows none. */
  cycle(step: 1 | -1): boolean {
    const p = this.current;
    const n = p?.infillState === 'done' ? (p.infill?.suggestions.length ?? 0) : 0;
    if (!p || n === 0) return false;
    this.current = { ...p, selected: p.selected < 0 ? (step > 0 ? 0 : n - 1) : (p.selected + step + n) % n };
    return true;
  }

  /** Applies the suggestion picked with the cycle shortcut; false when none is picked. */
  applySelected(): boolean {
    const p = this.current;
    const suggestion = p && p.selected >= 0 ? p.infill?.suggestions[p.selected] : undefined;
    if (suggestion) this.apply(suggestion.text);
    return !!suggestion;
  }

  /**
   * Replaces the span of the fill-in suggestions with `text`, as one undoable step of its own (not
   * merged with typing just before or after it). The edit makes a new version, so the engine
   * re-scores from the span on.
   */
  apply(text: string): void {
    const view = this.editor.view;
    const s = this.editor.scores();
    const p = this.current;
    if (!view || !s || !p?.infill || p.version !== s.version) return;
    const { start, end } = p.infill.span;
    const from = textToPos(s.text, start, 1);
    const to = textToPos(s.text, end, -1);
    this.close();
    view.dispatch(closeHistory(view.state.tr.insertText(text, from, Math.max(from, to))).scrollIntoView());
    view.dispatch(closeHistory(view.state.tr));
    view.focus();
  }
}
