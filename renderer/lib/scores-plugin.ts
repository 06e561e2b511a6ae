/**
 * The ProseMirror plugin that keeps the engine's scores on their tokens. DOM-free (apart from the
 * widget markers it creates when a view draws them), so its state logic runs in node tests.
 *
 * State
 * - `version`/`text`: the document's engine text (lib/text-map.ts) and its version; the version
 *   goes up whenever the text changes (not on a change of structure alone), and the plugin view
 *   sends `update(version, text)`.
 * - `mirror`: the engine's newest version as received: its tokens scored so far, exactly as the
 *   engine holds them (tokens before a version's `firstChanged` are kept from the previous one).
 * - `deco`: a DecorationSet with one inline decoration per token piece (and a widget for a token
 *   made of line breaks only), its score in the spec. Mapped through every transaction, so colors
 *   stay on their text while new scores are computed.
 * - `fresh`: mirror tokens [0, fresh) carry scores that are right for the current text. An edit
 *   at text offset x keeps only tokens that end before x (a token ending at x may merge with what
 *   is typed after it, and every later token has new context); the rest show as pending. Incoming
 *   chunks move `fresh` forward and replace the decorations of [old fresh, new fresh).
 * - `display`: what the view draws: the decorations near the viewport, colored by `scale`, pending
 *   ones marked. Kept up to date incrementally: mapped through edits, and only the ranges whose
 *   decorations changed (new scores, tokens turning pending or fresh, the viewport moving) are
 *   rebuilt, so a keystroke or a chunk costs the tokens it touches, and the view leaves the rest
 *   of the DOM alone. A change of options or of the scale rebuilds the drawn range.
 * - `scale`: token → color. The log-prob and entropy scales depend on the whole document (mean ±
 *   2.5 σ), so the scale is computed when a version is completely scored (and, before the first
 *   one is, each time the scored tokens have doubled), never per chunk: a hair's shift of the
 *   mean changes most hues, which would recolor every token on screen with every chunk and make
 *   colors wander while a version streams in.
 *
 * Chunks of a version older than the mirror's are stale and ignored. A chunk of a version older
 * than the current text still counts for the tokens that end before the first difference between
 * its text and the current one (its scores are exactly right there).
 */
import { Plugin, PluginKey, type EditorState, type Transaction } from 'prosemirror-state';
import { Decoration, DecorationSet, type EditorView } from 'prosemirror-view';
import type { Node as PMNode } from 'prosemirror-model';
import type { ScoreUpdate, TokenScore } from '../../common/api.ts';
import { colorScale, type ColorMode, type Look, type Palette, type Theme } from '../../common/colors.ts';
import { tokenLabel } from '../../common/format.ts';
import { commonPrefix, docToText, placeToken, textToPos, type DocText } from './text-map.ts';

export interface TokenSpec {
  /** Index of the token in the mirror (and in the current version while it is fresh). */
  i: number;
  t: TokenScore;
  /** Following tokens with empty text: the rest of a character whose bytes span several tokens. */
  tail?: readonly TokenScore[];
  /** The token is whitespace only (drawn with a faint marker so its color shows). */
  ws?: boolean;
  /** A widget standing for a token made of line breaks only. */
  marker?: boolean;
}

export interface Mirror {
  /** -1 before the first scores. */
  version: number;
  tokens: readonly TokenScore[];
  tokenCount: number;
  done: boolean;
}

/** How a token shows its color: as its background, or as an underline (the text keeps the page's background). */
export type MarkStyle = 'background' | 'underline';

export interface DisplayOptions {
  mode: ColorMode;
  theme: Theme;
  palette: Palette;
  style: MarkStyle;
  /** Only tokens less likely than this probability are marked (null: every token). */
  threshold: number | null;
  enabled: boolean;
  /** Mirror token indexes to highlight (e.g. a histogram bar), or null. */
  highlight: ReadonlySet<number> | null;
}

export interface ScoresState {
  version: number;
  text: DocText;
  /** Texts of the versions the mirror may still move to (the mirror's own and newer). */
  sent: ReadonlyMap<number, string>;
  mirror: Mirror;
  fresh: number;
  deco: DecorationSet;
  options: DisplayOptions;
  /** Range of positions to draw, or null for the whole document. */
  viewport: { from: number; to: number } | null;
  scale: (t: TokenScore) => string;
  /** The tokens `scale` was computed from, and whether they were a whole version. */
  scaleBasis: { tokens: readonly TokenScore[]; complete: boolean };
  display: DecorationSet;
}

export type ScoresMeta =
  | { type: 'scores'; update: ScoreUpdate | readonly ScoreUpdate[] }
  | { type: 'options'; options: Partial<DisplayOptions> }
  | { type: 'viewport'; viewport: { from: number; to: number } | null }
  /** Send the same text again as a new version (the engine lost its state, e.g. a reconnect). */
  | { type: 'resend' };

export const scoresKey = new PluginKey<ScoresState>('likely-scores');

export interface ScoresPluginConfig {
  /** A new document version number (must increase across editor states: the engine ignores older ones). */
  nextVersion: () => number;
  /** Called by the plugin view when the text of a new version should be scored. */
  onText?: (version: number, text: string) => void;
  /** Called by the plugin view after every state update (status bar, stats). */
  onUpdate?: (state: ScoresState, view: EditorView) => void;
  /** The range of positions visible on screen (the plugin draws that plus a margin); null draws everything. */
  measureViewport?: (view: EditorView) => { from: number; to: number } | null;
  options?: Partial<DisplayOptions>;
}

/** Documents up to this many positions are drawn whole; larger ones near the viewport only. */
const SMALL_DOCUMENT = 4000;
/**
 * Positions drawn beyond each edge of the visible range: half a screen's worth, at least this. The
 * drawn range moves on (drawing only what it newly covers) once the visible range comes within
 * half a margin of its edge, so scrolling draws a little every frame or two, and a fresh set of
 * scores (or a new scale) redraws about two screens, not the document (browser bench: ~400 of
 * 5,000 tokens at 1280×800).
 */
const VIEWPORT_MARGIN = 600;
/** Positions the document may grow or shrink by before the viewport is measured again. */
const MEASURE_AFTER_CHANGE = 256;
const DEFAULT_OPTIONS: DisplayOptions = { mode: 'logprob', theme: 'light', palette: 'red-green', style: 'background', threshold: null, enabled: true, highlight: null };

/** The colors of a set of options. */
function scaleFor(options: DisplayOptions, tokens: readonly TokenScore[]): (t: TokenScore) => string {
  const look: Look = { palette: options.palette, variant: options.style === 'underline' ? 'line' : 'fill' };
  return colorScale(options.mode, tokens, options.theme, look);
}

/** Whether a set of options colors tokens differently from another (a new scale is needed). */
const newColors = (a: DisplayOptions, b: DisplayOptions) => a.mode !== b.mode || a.theme !== b.theme || a.palette !== b.palette || a.style !== b.style;
const NO_MIRROR: Mirror = { version: -1, tokens: [], tokenCount: 0, done: false };

/** Number of tokens (of a sorted, contiguous list) whose end is < offset, searched in [0, limit). */
function tokensEndingBefore(tokens: readonly TokenScore[], offset: number, limit: number): number {
  let lo = 0;
  let hi = limit;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (tokens[mid]!.end < offset) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

const placeholderWidget = () => {
  throw new Error('the full decoration set is never drawn');
};

/** Decorations (with specs, no attributes) for tokens [a, b) placed in the current text. */
function tokenDecorations(dt: DocText, tokens: readonly TokenScore[], a: number, b: number): Decoration[] {
  const out: Decoration[] = [];
  for (let i = a; i < b; i++) {
    const t = tokens[i]!;
    if (t.text === '' && i > a) continue; // folded into the token holding the character
    let j = i + 1;
    while (j < tokens.length && tokens[j]!.text === '') j++;
    const spec: TokenSpec = { i, t };
    if (j > i + 1) spec.tail = tokens.slice(i + 1, j);
    const place = placeToken(dt, t.start, t.end);
    if (place.pieces.length && t.text.trim() === '') spec.ws = true;
    for (const p of place.pieces) out.push(Decoration.inline(p.from, p.to, {}, spec));
    if (place.marker !== null) out.push(Decoration.widget(place.marker, placeholderWidget, { ...spec, marker: true, side: 1 }));
  }
  return out;
}

/** A position range [from, to] whose drawn decorations must be rebuilt. */
type Dirty = [number, number];

/**
 * Replaces the decorations of the text covered by tokens [a, b) with theirs, and notes the range.
 * A replacement of most of the document builds a new set: removing thousands of decorations from
 * a set one by one costs far more than building it again.
 */
function replaceTokens(deco: DecorationSet, doc: PMNode, dt: DocText, tokens: readonly TokenScore[], a: number, b: number, dirty: Dirty[]): DecorationSet {
  if (b <= a) return deco;
  const from = textToPos(dt, tokens[a]!.start, -1);
  const to = textToPos(dt, tokens[b - 1]!.end, 1);
  dirty.push([from, to]);
  // Keep the decorations of fresh tokens before a: a line-break marker of the token before can sit
  // at `from` (two "\n" tokens between paragraphs share the end of the first paragraph).
  const keep = (spec: TokenSpec) => spec.i < a && tokens[spec.i] === spec.t;
  const replaced = (d: Decoration) => !keep(d.spec as TokenSpec) && (d.from === d.to ? d.from >= from && d.from < to : d.from < to && d.to > from);
  const added = tokenDecorations(dt, tokens, a, b);
  if (2 * (b - a) > tokens.length) return DecorationSet.create(doc, deco.find().filter((d) => !replaced(d)).concat(added));
  return deco.remove(deco.find(from, to).filter(replaced)).add(doc, added);
}

function applyScores(s: ScoresState, up: ScoreUpdate, doc: PMNode, dirty: Dirty[]): ScoresState {
  if (up.version < s.mirror.version) return s;
  const versionText = s.sent.get(up.version);
  if (versionText === undefined) return s;
  let tokens: readonly TokenScore[];
  let fresh = s.fresh;
  let sent = s.sent;
  if (up.version > s.mirror.version) {
    const keep = Math.min(up.firstChanged, s.mirror.tokens.length);
    tokens = s.mirror.tokens.slice(0, keep);
    fresh = Math.min(fresh, keep);
    const pruned = new Map<number, string>();
    for (const [v, text] of s.sent) if (v >= up.version) pruned.set(v, text);
    sent = pruned;
  } else if (up.from < s.mirror.tokens.length) {
    // The engine sent this version again from an earlier token (it restarted).
    tokens = s.mirror.tokens.slice(0, up.from);
    fresh = Math.min(fresh, up.from);
  } else tokens = s.mirror.tokens;
  // Chunks arrive in order; a gap means something was lost, and its tokens cannot be indexed.
  if (up.from === tokens.length && up.tokens.length) tokens = tokens.concat(up.tokens);
  const mirror: Mirror = { version: up.version, tokens, tokenCount: up.tokenCount, done: up.done && tokens.length === up.tokenCount };

  const valid = up.version === s.version ? tokens.length : tokensEndingBefore(tokens, commonPrefix(versionText, s.text.text), tokens.length);
  let deco = s.deco;
  if (up.version === s.version && mirror.done && up.tokenCount === 0) deco = DecorationSet.empty;
  else if (valid > fresh) {
    // Start at the token holding the character of an empty token, so its tail is complete.
    let a = fresh;
    while (a > 0 && tokens[a]!.text === '') a--;
    deco = replaceTokens(deco, doc, s.text, tokens, a, valid, dirty);
    fresh = valid;
  }
  return { ...s, sent, mirror, fresh, deco };
}

/** Recomputes the scale when a version is complete, or (none yet) when the scored tokens doubled. */
function updateScale(s: ScoresState): ScoresState {
  const { tokens, done } = s.mirror;
  const basis = s.scaleBasis;
  if (tokens === basis.tokens || !(done || (!basis.complete && tokens.length > 0 && tokens.length >= 2 * basis.tokens.length))) return s;
  return { ...s, scale: scaleFor(s.options, tokens), scaleBasis: { tokens, complete: done } };
}

function applyDocChange(s: ScoresState, tr: Transaction, config: ScoresPluginConfig): ScoresState {
  const text = docToText(tr.doc);
  const deco = s.deco.map(tr.mapping, tr.doc);
  const viewport = s.viewport && { from: tr.mapping.map(s.viewport.from, -1), to: tr.mapping.map(s.viewport.to, 1) };
  if (text.text === s.text.text) return { ...s, text, deco, viewport };
  const x = commonPrefix(s.text.text, text.text);
  const fresh = tokensEndingBefore(s.mirror.tokens, x, Math.min(s.fresh, s.mirror.tokens.length));
  const version = config.nextVersion();
  const sent = new Map(s.sent);
  sent.set(version, text.text);
  return { ...s, version, text, sent, fresh, deco, viewport };
}

/** Whether the whole current text is scored and shown. */
export function allFresh(s: ScoresState): boolean {
  return s.mirror.version === s.version && s.mirror.done && s.fresh >= s.mirror.tokenCount;
}

/** Positions at or after this show pending decorations. */
export function freshEnd(s: ScoresState): number {
  if (allFresh(s)) return Infinity;
  const n = Math.min(s.fresh, s.mirror.tokens.length);
  if (n === 0) return -1;
  return textToPos(s.text, s.mirror.tokens[n - 1]!.end, -1);
}

const labels = new WeakMap<TokenScore, string>();
function labelOf(spec: TokenSpec): string {
  let l = labels.get(spec.t);
  if (l === undefined) {
    l = tokenLabel(spec.t, spec.tail);
    labels.set(spec.t, l);
  }
  return l;
}

function markerDOM(className: string, color: string, title: string, index: string | null): () => HTMLElement {
  return () => {
    const el = document.createElement('span');
    el.className = className;
    el.style.setProperty('--c', color);
    el.setAttribute('aria-description', title);
    if (index !== null) el.dataset.i = index;
    el.textContent = '↵';
    return el;
  };
}

/** Drawn decorations for entries of the full set: colored, pending ones (at or after `boundary`) marked. */
function displayDecorations(s: ScoresState, entries: Iterable<Decoration>, boundary: number): Decoration[] {
  const highlight = s.options.highlight;
  // "Show only p < x": likelier tokens keep their numbers (hover, popover) but no color.
  const quietFrom = s.options.threshold === null ? Infinity : Math.log(s.options.threshold);
  const colors = new Map<TokenScore, string>();
  const out: Decoration[] = [];
  for (const d of entries) {
    const spec = d.spec as TokenSpec;
    const quiet = spec.t.logprob >= quietFrom;
    let color = quiet ? 'transparent' : colors.get(spec.t);
    if (color === undefined) colors.set(spec.t, (color = s.scale(spec.t)));
    const pending = d.from >= boundary;
    let cls = quiet ? 'tok quiet' : 'tok';
    if (pending) cls += ' pending';
    if (spec.ws) cls += ' ws';
    if (!pending && highlight?.has(spec.i)) cls += ' hl';
    const index = pending ? null : String(spec.i);
    const title = labelOf(spec);
    if (spec.marker) {
      cls += ' nl';
      out.push(Decoration.widget(d.from, markerDOM(cls, color, title, index), { side: 1, key: `${cls}|${color}|${index}|${title}`, ignoreSelection: true, tok: spec, color }));
    } else {
      // The numbers are the token's description (read by screen readers; the hover tooltip shows them).
      const attrs: Record<string, string> = { class: cls, style: `--c: ${color}`, 'aria-description': title };
      if (index !== null) attrs['data-i'] = index;
      out.push(Decoration.inline(d.from, d.to, attrs, spec));
    }
  }
  return out;
}

/** The decorations the view draws, built from scratch: tokens near the viewport, colored, pending ones marked. */
export function buildDisplay(s: ScoresState, doc: PMNode): DecorationSet {
  if (!s.options.enabled || s.deco === DecorationSet.empty) return DecorationSet.empty;
  const range = s.viewport ?? { from: 0, to: doc.content.size };
  return DecorationSet.create(doc, displayDecorations(s, s.deco.find(range.from, range.to), freshEnd(s)));
}

/** Where a transaction changed the document, as ranges of the new document. */
function changedRanges(tr: Transaction, dirty: Dirty[]): void {
  const maps = tr.mapping.maps;
  for (let i = 0; i < maps.length; i++) {
    const rest = tr.mapping.slice(i + 1);
    maps[i]!.forEach((_a, _b, from, to) => dirty.push([rest.map(from, -1), rest.map(to, 1)]));
  }
}

/**
 * The drawn decorations after a transaction: the previous ones mapped through it, with the ranges
 * whose decorations changed rebuilt (`dirty`: new scores and edits), those that turned pending or
 * fresh, and what the viewport newly covers; what it left is dropped. Equal to buildDisplay(next).
 */
function updateDisplay(prev: ScoresState, next: ScoresState, tr: Transaction, dirty: Dirty[]): DecorationSet {
  const doc = tr.doc;
  if (!next.options.enabled || next.deco === DecorationSet.empty) return DecorationSet.empty;
  if (prev.display === DecorationSet.empty || prev.options !== next.options || prev.scale !== next.scale || !prev.viewport !== !next.viewport) return buildDisplay(next, doc);
  const size = doc.content.size;
  let display = tr.docChanged ? prev.display.map(tr.mapping, doc) : prev.display;
  if (tr.docChanged) changedRanges(tr, dirty);
  // Tokens between the old and the new pending boundary changed state (±1 for mapping at the edges).
  const clamp = (b: number) => (b === Infinity ? size : Math.max(0, Math.min(size, b)));
  let before = freshEnd(prev);
  if (tr.docChanged && before >= 0 && before !== Infinity) before = tr.mapping.map(before, -1);
  const boundary = freshEnd(next);
  if (before !== boundary) dirty.push([Math.max(0, clamp(Math.min(before, boundary)) - 1), Math.min(size, clamp(Math.max(before, boundary)) + 1)]);
  const view = next.viewport ?? { from: 0, to: size };
  const drop: Decoration[] = [];
  const was = tr.docChanged && prev.viewport ? { from: tr.mapping.map(prev.viewport.from, -1), to: tr.mapping.map(prev.viewport.to, 1) } : prev.viewport;
  if (was && next.viewport && (was.from !== view.from || was.to !== view.to)) {
    for (const d of display.find(0, view.from)) if (d.to < view.from) drop.push(d);
    for (const d of display.find(view.to, size)) if (d.from > view.to) drop.push(d);
    if (was.to < view.from || was.from > view.to) dirty.push([view.from, view.to]);
    else {
      if (view.from < was.from) dirty.push([view.from, was.from]);
      if (view.to > was.to) dirty.push([was.to, view.to]);
    }
  }
  // Rebuild the dirty ranges that are drawn; when they cover most of the view, rebuild it all.
  const ranges = dirty
    .map(([a, b]): Dirty => [Math.max(a, view.from), Math.min(b, view.to)])
    .filter(([a, b]) => a <= b)
    .sort((x, y) => x[0] - y[0]);
  const merged: Dirty[] = [];
  for (const r of ranges) {
    const last = merged[merged.length - 1];
    if (last && r[0] <= last[1]) last[1] = Math.max(last[1], r[1]);
    else merged.push([r[0], r[1]]);
  }
  let covered = 0;
  for (const [a, b] of merged) covered += b - a;
  if (2 * covered > view.to - view.from) return buildDisplay(next, doc);
  // find() returns copies: a token piece reaching into two ranges is found twice.
  const entries: Decoration[] = [];
  const seen = new Map<TokenSpec, number[]>();
  const stale: Decoration[] = drop;
  for (const [a, b] of merged) {
    for (const d of next.deco.find(a, b)) {
      const spec = d.spec as TokenSpec;
      const at = seen.get(spec);
      if (at?.includes(d.from)) continue;
      if (at) at.push(d.from);
      else seen.set(spec, [d.from]);
      entries.push(d);
    }
    stale.push(...display.find(a, b));
  }
  if (stale.length) display = display.remove(stale);
  if (entries.length) display = display.add(doc, displayDecorations(next, entries, boundary));
  return display;
}

export function initialScoresState(doc: PMNode, config: ScoresPluginConfig): ScoresState {
  const text = docToText(doc);
  const version = config.nextVersion();
  const options = { ...DEFAULT_OPTIONS, ...config.options };
  const s: ScoresState = {
    version,
    text,
    sent: new Map([[version, text.text]]),
    mirror: NO_MIRROR,
    fresh: 0,
    deco: DecorationSet.empty,
    options,
    viewport: null,
    scale: scaleFor(options, []),
    scaleBasis: { tokens: [], complete: false },
    display: DecorationSet.empty,
  };
  return s;
}

export function applyScoresTransaction(s: ScoresState, tr: Transaction, config: ScoresPluginConfig): ScoresState {
  const meta = tr.getMeta(scoresKey) as ScoresMeta | undefined;
  if (!tr.docChanged && !meta) return s;
  let next = tr.docChanged ? applyDocChange(s, tr, config) : s;
  const dirty: Dirty[] = [];
  if (meta?.type === 'scores') {
    const updates = Array.isArray(meta.update) ? meta.update : [meta.update as ScoreUpdate];
    for (const up of updates) next = applyScores(next, up, tr.doc, dirty);
    next = updateScale(next);
  } else if (meta?.type === 'options') {
    const options = { ...next.options, ...meta.options };
    const { tokens, complete } = next.scaleBasis;
    const scale = newColors(options, next.options) ? scaleFor(options, tokens) : next.scale;
    next = { ...next, options, scale, scaleBasis: { tokens, complete } };
  } else if (meta?.type === 'viewport') next = { ...next, viewport: meta.viewport };
  else if (meta?.type === 'resend') {
    const version = config.nextVersion();
    const sent = new Map(next.sent);
    sent.set(version, next.text.text);
    next = { ...next, version, sent };
  }
  return { ...next, display: updateDisplay(s, next, tr, dirty) };
}

/** The token at a position: the piece containing it, else one ending or a marker sitting there. */
export function tokenAt(s: ScoresState, pos: number): { spec: TokenSpec; from: number; to: number; pending: boolean } | null {
  const found = s.deco.find(pos, pos);
  const pick = found.find((d) => d.from <= pos && pos < d.to) ?? found.find((d) => d.to === pos && d.from < pos) ?? found.find((d) => d.from === d.to);
  if (!pick) return null;
  return { spec: pick.spec as TokenSpec, from: pick.from, to: pick.to, pending: pick.from >= freshEnd(s) };
}

export function scoresPlugin(config: ScoresPluginConfig): Plugin<ScoresState> {
  return new Plugin<ScoresState>({
    key: scoresKey,
    state: {
      init: (_, state) => initialScoresState(state.doc, config),
      apply: (tr, s) => applyScoresTransaction(s, tr, config),
    },
    props: {
      decorations: (state) => scoresKey.getState(state)?.display,
      // The document's class says how tokens show their color (styles.css).
      attributes: (state): Record<string, string> => ({ class: `marks-${scoresKey.getState(state)?.options.style ?? 'background'}` }),
    },
    view: (view) => {
      let sentVersion = -1;
      let frame = 0;
      let measuredSize = -Infinity;
      const measure = () => {
        frame = 0;
        const s = scoresKey.getState(view.state)!;
        const size = view.state.doc.content.size;
        measuredSize = size;
        const visible = size > SMALL_DOCUMENT && config.measureViewport ? config.measureViewport(view) : null;
        let want: { from: number; to: number } | null = null;
        if (visible) {
          const margin = Math.max(VIEWPORT_MARGIN, (visible.to - visible.from) / 2);
          const v = s.viewport;
          if (v && (v.from === 0 || visible.from >= v.from + margin / 2) && (v.to === size || visible.to <= v.to - margin / 2)) return;
          want = { from: Math.max(0, visible.from - margin), to: Math.min(size, visible.to + margin) };
        } else if (s.viewport === null) return;
        view.dispatch(view.state.tr.setMeta(scoresKey, { type: 'viewport', viewport: want } satisfies ScoresMeta).setMeta('addToHistory', false));
      };
      const schedule = () => {
        if (!frame) frame = requestAnimationFrame(measure);
      };
      const hasWindow = typeof window !== 'undefined';
      if (hasWindow) {
        window.addEventListener('scroll', schedule, { capture: true, passive: true });
        window.addEventListener('resize', schedule);
      }
      const update = (v: EditorView, prev: EditorState | null) => {
        const s = scoresKey.getState(v.state)!;
        if (s.version !== sentVersion) {
          sentVersion = s.version;
          config.onText?.(s.version, s.text.text);
        }
        // Typing moves the visible range by a few positions, which the margin absorbs (the drawn
        // range is mapped through edits): measure again (layout, posAtCoords) only after bigger changes.
        if (hasWindow && (!prev || (prev.doc !== v.state.doc && Math.abs(v.state.doc.content.size - measuredSize) > MEASURE_AFTER_CHANGE))) schedule();
        config.onUpdate?.(s, v);
      };
      update(view, null);
      return {
        update: (v, prev) => update(v, prev),
        destroy: () => {
          if (frame) cancelAnimationFrame(frame);
          if (hasWindow) {
            window.removeEventListener('scroll', schedule, { capture: true });
            window.removeEventListener('resize', schedule);
          }
        },
      };
    },
  });
}

/** A transaction that hands chunks of scores to the plugin (not an undoable change). */
export function scoresTransaction(state: EditorState, update: ScoreUpdate | readonly ScoreUpdate[]): Transaction {
  return state.tr.setMeta(scoresKey, { type: 'scores', update } satisfies ScoresMeta).setMeta('addToHistory', false);
}

export function optionsTransaction(state: EditorState, options: Partial<DisplayOptions>): Transaction {
  return state.tr.setMeta(scoresKey, { type: 'options', options } satisfies ScoresMeta).setMeta('addToHistory', false);
}

/** A transaction that makes the plugin send the current text again as a new version. */
export function resendTransaction(state: EditorState): Transaction {
  return state.tr.setMeta(scoresKey, { type: 'resend' } satisfies ScoresMeta).setMeta('addToHistory', false);
}
