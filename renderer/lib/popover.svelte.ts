/**
 * The token popover, opened only when asked (Alt/Ctrl/⌘+click on a token, Alt+Enter or Ctrl+. at
 * the caret, or the hover tooltip's Details): the token's numbers, the model's top-10 there, and
 * rewrites of a span around it that fit both sides.
 *
 * The span is shown in the text while the popover is open (overlay-plugin.ts) and the writer
 * chooses how much it covers: the word (the default) or the phrase of unlikely words around it
 * (the engine's `suggestSpan`). Rewrites come from the engine's fill-in-the-blank, ranked by the
 * whole sentence's likelihood; by default only rewrites that make the sentence more likely than
 * the original are listed ("show less likely ones too" asks for the rest). The picked (or hovered)
 * rewrite is previewed in its sentence. Every request is for the version the popover opened on; a
 * result for an older version, another span or a closed popover is dropped without a word (a
 * superseded request is normal, not an error). A rewrite replaces the span as one undo step.
 */
import { closeHistory } from 'prosemirror-history';
import type { AttendedToken, AttentionResult, InfillResult, Prediction } from '../../common/api.ts';
import { rewriteEdit } from '../../common/rewrite.ts';
import type { LikelyEditor } from './editor.svelte.ts';
import { overlayTransaction } from './overlay-plugin.ts';
import { tokenAt, type ScoresState, type TokenSpec } from './scores-plugin.ts';
import { textToPos } from './text-map.ts';

export interface TextSpan {
  start: number;
  end: number;
  text: string;
}

export type SpanKind = 'word' | 'phrase';

/** Rewrites of one span (with or without the less likely ones). */
export interface Rewrites {
  state: 'loading' | 'done' | 'error';
  result?: InfillResult;
  error?: string;
}

export interface PopoverData {
  /** Positions of the token's first piece (the anchor). */
  from: number;
  to: number;
  spec: TokenSpec;
  pending: boolean;
  version: number;
  predictions: Prediction[] | null;
  error: string | null;
  /** The word around the token, and the engine's phrase (null until it answers, or when it is the word). */
  word: TextSpan;
  phrase: TextSpan | null;
  spanKind: SpanKind;
  /** List the rewrites that make the sentence less likely too. */
  showWorse: boolean;
  rewrites: Rewrites;
  /** The suggestion picked with Alt+↓/↑, applied by Enter; -1 for none. */
  selected: number;
  /** The suggestion under the pointer (previewed), -1 for none. */
  hovered: number;
  /** The sentence around the span, [start, end) in the text. */
  sentence: { start: number; end: number };
  text: string;
  /** Opened from the keyboard: focus moves into the popover. */
  keyboard: boolean;
  /** The left column: what the model expected, or why (what it looked at). */
  view: 'expected' | 'why';
  attention: { state: 'idle' | 'loading' | 'done' | 'error'; result?: AttentionResult; error?: string };
  /** The head whose attention is painted in the text; null: the most focused one. */
  head: { layer: number; head: number } | null;
}

/**
 * The head "Looked at" shows when none is picked: the head that copied, when the token was copied;
 * else the one that puts the most weight on one earlier token (not the start of the text, not the
 * query token itself). Averaged over heads, most of a layer's attention sits on the first token (an
 * attention sink) or on the token itself, and the rest is spread thin; the most focused head's
 * sources read as what the model looked at.
 */
export function strongestHead(r: AttentionResult): { layer: number; head: number } | null {
  if (r.copiedFrom) return { layer: r.copiedFrom.layer, head: r.copiedFrom.head };
  let best: { layer: number; head: number; w: number } | null = null;
  r.layers.forEach((layer, l) =>
    layer.heads.forEach((h, i) => {
      const top = h.top.find((t) => t.index >= 0 && t.index !== r.query.index);
      if (top && (!best || top.weight > best.w)) best = { layer: l, head: i, w: top.weight };
    }),
  );
  const b = best as { layer: number; head: number } | null;
  return b ? { layer: b.layer, head: b.head } : null;
}

/** The sources a popover shows for a head: its strongest ones, the start of the text left out. */
export function lookedAt(r: AttentionResult, at: { layer: number; head: number }): AttendedToken[] {
  return (r.layers[at.layer]?.heads[at.head]?.top ?? []).filter((t) => t.index >= 0);
}

const WORD_CHAR = /[\p{L}\p{N}'’-]/u;

/** The word around text offsets [start, end) (letters, digits, apostrophes, hyphens); the token itself when it holds none. */
export function wordAround(text: string, start: number, end: number): TextSpan {
  let a = start;
  while (a < end && !WORD_CHAR.test(text[a]!)) a++;
  if (a === end) {
    // Punctuation or space: the token's non-space characters.
    let s = start;
    let e = end;
    while (s < e && /\s/.test(text[s]!)) s++;
    while (e > s && /\s/.test(text[e - 1]!)) e--;
    return s < e ? { start: s, end: e, text: text.slice(s, e) } : { start, end, text: text.slice(start, end) };
  }
  let b = a;
  while (b < text.length && WORD_CHAR.test(text[b]!)) b++;
  while (a > 0 && WORD_CHAR.test(text[a - 1]!)) a--;
  while (b > a && /['’-]/.test(text[b - 1]!)) b--;
  while (a < b && /['’-]/.test(text[a]!)) a++;
  return { start: a, end: b, text: text.slice(a, b) };
}

/** The sentence holding [start, end): from after the previous . ! ? or blank line to the next one (inclusive). */
export function sentenceAround(text: string, start: number, end: number): { start: number; end: number } {
  let a = start;
  while (a > 0 && !/[.!?]\s/.test(text.slice(a - 1, a + 1)) && text.slice(a - 2, a) !== '\n\n') a--;
  while (a < start && /\s/.test(text[a]!)) a++;
  let b = end;
  while (b < text.length && !/[.!?]/.test(text[b - 1] ?? '') && text.slice(b, b + 2) !== '\n\n') b++;
  if (b > end && /[.!?]/.test(text[b - 1] ?? '')) {
    while (b < text.length && /[.!?"'”’)]/.test(text[b]!)) b++;
  }
  return { start: Math.min(a, start), end: Math.max(b, end) };
}

export class TokenPopover {
  current = $state.raw<PopoverData | null>(null);
  private request = 0;
  /** Rewrites computed (or asked for) for the current version, by span and "show every rewrite": kept across openings, so the Review panel's prefetched ones show at once. */
  private cache = new Map<string, Rewrites>();
  private cacheVersion = -1;

  constructor(private readonly editor: LikelyEditor) {}

  /** Opens the popover for the token at the caret (or the character before it). */
  openAtSelection(): boolean {
    const head = this.editor.view?.state.selection.$head;
    if (!head) return false;
    this.openAt(head.pos, true, head.pos > head.start() ? head.pos - 1 : head.pos);
    return true;
  }

  /** Opens the popover on a span of the text (the Review panel): its first token's numbers, the span as the phrase to rewrite. */
  openSpan(span: TextSpan, keyboard: boolean): void {
    const s = this.editor.scores();
    if (!s) return;
    this.openAt(textToPos(s.text, span.start, 1), keyboard, undefined, span);
  }

  /** Asks for the rewrites of a span ahead of opening it (kept for this version). */
  prefetch(span: TextSpan): void {
    const s = this.editor.scores();
    if (!s) return;
    this.fetch(s.version, span, false);
  }

  private cacheFor(version: number): Map<string, Rewrites> {
    if (version !== this.cacheVersion) {
      this.cache = new Map();
      this.cacheVersion = version;
    }
    return this.cache;
  }

  /** The rewrites of `span` in `version` (cached, or asked for now); `then` runs when they are known. */
  private fetch(version: number, span: TextSpan, showWorse: boolean, then?: (r: Rewrites) => void): Rewrites {
    const cache = this.cacheFor(version);
    const key = `${span.start}:${span.end}:${showWorse}`;
    const known = cache.get(key);
    if (known) {
      if (known.state !== 'loading') then?.(known);
      else this.waiting.set(key, [...(this.waiting.get(key) ?? []), then ?? (() => {})]);
      return known;
    }
    const loading: Rewrites = { state: 'loading' };
    cache.set(key, loading);
    if (then) this.waiting.set(key, [then]);
    const settle = (r: Rewrites) => {
      if (this.cacheVersion !== version) return;
      cache.set(key, r);
      for (const fn of this.waiting.get(key) ?? []) fn(r);
      this.waiting.delete(key);
    };
    this.editor.engine.call('infill', { version, start: span.start, end: span.end, k: 8, ...(showWorse ? { includeWorse: true } : {}) }).then(
      (result) => settle({ state: 'done', result }),
      (e: Error) => {
        // Superseded by an edit: nobody waits for it any more; nothing to say.
        if (this.cacheVersion === version && this.editor.scores()?.version === version) settle({ state: 'error', error: e.message });
        else cache.delete(key);
      },
    );
    return loading;
  }

  private waiting = new Map<string, ((r: Rewrites) => void)[]>();
  /** The left column the writer last chose (Expected or Why), for the next popover. */
  private lastView: 'expected' | 'why' = 'expected';

  /** Opens the popover for the token at `pos` (or at `fallback`, e.g. the character before the caret); `span`: rewrite that span (the Review panel's) instead of the word. */
  openAt(pos: number, keyboard: boolean, fallback?: number, span?: TextSpan): void {
    const { view, coloring } = this.editor;
    const s = this.editor.scores();
    if (!view || !s || !coloring) return;
    const hit = tokenAt(s, pos) ?? (fallback !== undefined ? tokenAt(s, fallback) : null);
    if (!hit) return this.close(false);
    const text = s.text.text;
    const word = wordAround(text, hit.spec.t.start, hit.spec.t.end);
    const given = span && !(span.start === word.start && span.end === word.end) ? span : null;
    this.current = {
      from: hit.from,
      to: hit.to,
      spec: hit.spec,
      pending: hit.pending,
      version: s.version,
      predictions: null,
      error: null,
      word,
      phrase: given,
      spanKind: given ? 'phrase' : 'word',
      showWorse: false,
      rewrites: { state: 'loading' },
      selected: -1,
      hovered: -1,
      sentence: sentenceAround(text, (given ?? word).start, (given ?? word).end),
      text,
      keyboard,
      view: this.lastView,
      attention: { state: 'idle' },
      head: null,
    };
    this.markSpan();
    if (!hit.pending) this.loadDetails();
  }

  /** After new scores: a popover opened on a pending token gets its numbers once it is scored. */
  scored(s: ScoresState): void {
    const p = this.current;
    if (!p?.pending) return;
    const hit = tokenAt(s, p.from);
    if (hit && !hit.pending) {
      this.current = { ...p, spec: hit.spec, pending: false, version: s.version };
      this.loadDetails();
    }
  }

  private update(request: number, patch: Partial<PopoverData>): void {
    if (request === this.request && this.current) this.current = { ...this.current, ...patch };
  }

  private loadDetails(): void {
    const p = this.current;
    if (!p) return;
    const { engine } = this.editor;
    const request = ++this.request;
    const { version } = p;
    engine.call('topK', { version, index: p.spec.i, k: 10 }).then(
      (predictions) => this.update(request, { predictions }),
      (e: Error) => this.update(request, { error: e.message }),
    );
    engine.call('suggestSpan', { version, index: p.spec.i }).then(
      (span) => {
        const cur = this.current;
        if (request !== this.request || !cur || cur.phrase) return;
        const phrase = { start: span.start, end: span.end, text: cur.text.slice(span.start, span.end) };
        this.update(request, { phrase: phrase.start === cur.word.start && phrase.end === cur.word.end ? null : phrase });
      },
      () => {},
    );
    this.loadRewrites(request);
    if (this.current?.view === 'why') this.loadAttention(request);
  }

  /** Expected or Why in the left column; Why asks the engine what the model looked at (once per popover). */
  setView(view: 'expected' | 'why'): void {
    const p = this.current;
    if (!p || p.view === view) return;
    this.lastView = view;
    this.current = { ...p, view };
    if (view === 'why') this.loadAttention(this.request);
    this.paintAttention();
  }

  private loadAttention(request: number): void {
    const p = this.current;
    if (!p || p.pending || p.attention.state !== 'idle') return;
    this.update(request, { attention: { state: 'loading' } });
    this.editor.engine.call('attention', { version: p.version, index: p.spec.i, k: 8 }).then(
      (result) => {
        this.update(request, { attention: { state: 'done', result } });
        this.paintAttention();
      },
      (e: Error) => {
        if (request === this.request && this.current?.version === p.version) this.update(request, { attention: { state: 'error', error: e.message } });
      },
    );
  }

  /** Paints one head's attention in the text (the heads grid's pick). */
  selectHead(at: { layer: number; head: number } | null): void {
    const p = this.current;
    if (!p) return;
    this.current = { ...p, head: at };
    this.paintAttention();
  }

  /** The head painted now: the picked one, else the most focused one. */
  paintedHead(): { layer: number; head: number } | null {
    const p = this.current;
    const r = p?.attention.result;
    if (!p || !r || r.unavailable) return null;
    return p.head ?? strongestHead(r);
  }

  /** What the model looked at, marked in the text while Why is shown: outline strength by weight, the strongest source over-lined, the copy source dashed. */
  private paintAttention(): void {
    const view = this.editor.view;
    const s = this.editor.scores();
    const p = this.current;
    if (!view || !s) return;
    const ranges = [];
    const r = p?.attention.result;
    const head = this.paintedHead();
    if (p && p.view === 'why' && r && head && s.version === p.version) {
      const sources = lookedAt(r, head);
      const max = Math.max(1e-9, ...sources.map((t) => t.weight));
      sources.forEach((t, i) => {
        if (t.end <= t.start) return;
        ranges.push({ from: textToPos(s.text, t.start, 1), to: textToPos(s.text, t.end, -1), class: i === 0 ? 'attn attn-top' : 'attn', weight: t.weight / max, title: `attention ${(100 * t.weight).toFixed(1)}% (layer ${head.layer}, head ${head.head})` });
      });
      const c = r.copiedFrom;
      if (c && c.end > c.start) ranges.push({ from: textToPos(s.text, c.start, 1), to: textToPos(s.text, c.end, -1), class: 'attn-copy', title: `copied from here (layer ${c.layer}, head ${c.head})` });
    }
    view.dispatch(overlayTransaction(view.state, 'attention', ranges));
  }

  /** Scrolls the copy source into view (Copied from ▸ Show). */
  revealSource(): void {
    const view = this.editor.view;
    const s = this.editor.scores();
    const c = this.current?.attention.result?.copiedFrom;
    if (!view || !s || !c) return;
    const { node } = view.domAtPos(textToPos(s.text, c.start, 1));
    (node.nodeType === 1 ? (node as Element) : node.parentElement)?.scrollIntoView({ block: 'center', behavior: 'smooth' });
  }

  private span(p: PopoverData): TextSpan {
    return p.spanKind === 'phrase' && p.phrase ? p.phrase : p.word;
  }

  /** Fetches (or takes from the cache) the rewrites of the current span. */
  private loadRewrites(request = this.request): void {
    const p = this.current;
    if (!p || p.pending) return;
    const span = this.span(p);
    const now = this.fetch(p.version, span, p.showWorse, (r) => {
      const cur = this.current;
      if (request !== this.request || !cur) return;
      const at = this.span(cur);
      if (at.start === span.start && at.end === span.end && cur.showWorse === p.showWorse) this.update(request, { rewrites: r });
    });
    this.update(request, { rewrites: now, selected: -1, hovered: -1 });
  }

  /** Where the token is on screen (viewport coordinates), for placing the popover. */
  anchorRect(): { top: number; bottom: number; left: number } | null {
    const view = this.editor.view;
    const p = this.current;
    if (!view || !p) return null;
    const size = view.state.doc.content.size;
    const a = view.coordsAtPos(Math.min(p.from, size), 1);
    const b = view.coordsAtPos(Math.min(p.to, size), -1);
    return { top: Math.min(a.top, b.top), bottom: Math.max(a.bottom, b.bottom), left: a.left };
  }

  /** Word or phrase: which span the rewrites replace. */
  setSpanKind(kind: SpanKind): void {
    const p = this.current;
    if (!p || p.spanKind === kind || (kind === 'phrase' && !p.phrase)) return;
    const span = kind === 'phrase' && p.phrase ? p.phrase : p.word;
    this.current = { ...p, spanKind: kind, sentence: sentenceAround(p.text, span.start, span.end) };
    this.markSpan();
    this.loadRewrites();
  }

  setShowWorse(on: boolean): void {
    const p = this.current;
    if (!p || p.showWorse === on) return;
    this.current = { ...p, showWorse: on };
    this.loadRewrites();
  }

  hover(i: number): void {
    if (this.current && this.current.hovered !== i) this.current = { ...this.current, hovered: i };
  }

  /** Shows the span the rewrites replace in the text (cleared when the popover closes). */
  private markSpan(): void {
    const view = this.editor.view;
    const s = this.editor.scores();
    const p = this.current;
    if (!view || !s) return;
    const ranges = [];
    if (p) {
      const span = this.span(p);
      ranges.push({ from: textToPos(s.text, span.start, 1), to: textToPos(s.text, span.end, -1), class: 'rewrite-span', title: 'The rewrites replace this' });
    }
    view.dispatch(overlayTransaction(view.state, 'rewrite', ranges));
  }

  close(refocus = true): void {
    if (!this.current) return;
    this.request++;
    this.current = null;
    const view = this.editor.view;
    if (view) {
      view.dispatch(overlayTransaction(view.state, 'rewrite', []));
      view.dispatch(overlayTransaction(view.state, 'attention', []));
    }
    if (refocus) view?.focus();
  }

  /** Moves the picked suggestion (wrapping around); false when the popover shows none. */
  cycle(step: 1 | -1): boolean {
    const p = this.current;
    const n = p?.rewrites.state === 'done' ? (p.rewrites.result?.suggestions.length ?? 0) : 0;
    if (!p || n === 0) return false;
    this.current = { ...p, selected: p.selected < 0 ? (step > 0 ? 0 : n - 1) : (p.selected + step + n) % n };
    return true;
  }

  /** Applies the suggestion picked with the cycle shortcut; false when none is picked. */
  applySelected(): boolean {
    const p = this.current;
    const suggestion = p && p.selected >= 0 ? p.rewrites.result?.suggestions[p.selected] : undefined;
    if (suggestion) this.apply(suggestion.text);
    return !!suggestion;
  }

  /**
   * Replaces the span with `text`, as one undoable step of its own (not merged with typing just
   * before or after it). Deleting a word takes one of the spaces around it too. The edit makes a
   * new version, so the engine re-scores from the span on.
   */
  apply(text: string): void {
    const view = this.editor.view;
    const s = this.editor.scores();
    const p = this.current;
    const result = p?.rewrites.result;
    if (!view || !s || !p || !result || p.version !== s.version) return;
    const edit = rewriteEdit(s.text.text, result.span.start, result.span.end, text);
    const from = textToPos(s.text, edit.start, 1);
    const to = textToPos(s.text, edit.end, -1);
    this.close();
    view.dispatch(closeHistory(view.state.tr.insertText(edit.insert, from, Math.max(from, to))).scrollIntoView());
    view.dispatch(closeHistory(view.state.tr));
    view.focus();
  }
}
