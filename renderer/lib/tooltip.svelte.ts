/**
 * The light tooltip with a token's numbers: under the pointer resting on a token (after a short
 * delay, then at once while moving from token to token), and at the caret after it is moved with
 * the keyboard and rests there. It never opens on a click; typing hides it. Its "Details" button
 * opens the popover, for writers who don't know Alt+click.
 */
import type { LikelyEditor } from './editor.svelte.ts';
import { tokenAt, type TokenSpec } from './scores-plugin.ts';

export interface TooltipData {
  spec: TokenSpec;
  /** Position of the token's first piece. */
  pos: number;
  /** Viewport coordinates of the token's box. */
  left: number;
  top: number;
  bottom: number;
  source: 'hover' | 'caret';
}

const HOVER_DELAY_MS = 350;
const CARET_DELAY_MS = 700;
const HIDE_DELAY_MS = 200;

export class TokenTooltip {
  current = $state.raw<TooltipData | null>(null);
  private showTimer: ReturnType<typeof setTimeout> | undefined;
  private hideTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(private readonly editor: LikelyEditor) {}

  /** The pointer is over `el` (a token's element) or left the tokens (null). */
  pointerOver(el: HTMLElement | null): void {
    clearTimeout(this.showTimer);
    if (!el) return this.hideSoon();
    clearTimeout(this.hideTimer);
    const show = () => this.showFor(el);
    if (this.current) show();
    else this.showTimer = setTimeout(show, HOVER_DELAY_MS);
  }

  private showFor(el: HTMLElement): void {
    const view = this.editor.view;
    const s = this.editor.scores();
    if (!view || !s || !this.editor.coloring || this.editor.popover.current || !el.isConnected) return;
    let pos: number;
    try {
      pos = view.posAtDOM(el, 0);
    } catch {
      return;
    }
    const hit = tokenAt(s, pos);
    if (!hit) return;
    const r = el.getBoundingClientRect();
    this.current = { spec: hit.spec, pos: hit.from, left: r.left, top: r.top, bottom: r.bottom, source: 'hover' };
  }

  /** The caret moved without an edit: show the token there once it rests (keyboard navigation). */
  caretMoved(byKeyboard: boolean): void {
    clearTimeout(this.showTimer);
    if (this.current?.source === 'caret') this.current = null;
    if (!byKeyboard) return;
    this.showTimer = setTimeout(() => {
      const view = this.editor.view;
      const s = this.editor.scores();
      if (!view || !s || !view.hasFocus() || !this.editor.coloring || this.editor.popover.current) return;
      const sel = view.state.selection;
      if (!sel.empty) return;
      const head = sel.$head;
      const hit = tokenAt(s, head.pos) ?? ((head.pos > head.start() && tokenAt(s, head.pos - 1)) || null);
      if (!hit) return;
      const c = view.coordsAtPos(hit.from, 1);
      this.current = { spec: hit.spec, pos: hit.from, left: c.left, top: c.top, bottom: c.bottom, source: 'caret' };
    }, CARET_DELAY_MS);
  }

  /** The pointer entered the tooltip itself: keep it. */
  keep(): void {
    clearTimeout(this.hideTimer);
  }

  hideSoon(): void {
    clearTimeout(this.hideTimer);
    this.hideTimer = setTimeout(() => this.hide(), HIDE_DELAY_MS);
  }

  hide(): void {
    clearTimeout(this.showTimer);
    clearTimeout(this.hideTimer);
    this.current = null;
  }

  /** The Details button: the popover for this token. */
  details(): void {
    const c = this.current;
    this.hide();
    if (!c) return;
    // The text keeps the focus (the button is gone): Escape closes, typing goes on.
    if (c.source === 'hover') this.editor.view?.focus();
    this.editor.popover.openAt(c.pos, c.source === 'caret');
  }
}
