/**
 * Marks laid over the text while a panel shows something about it: the span a rewrite would
 * replace, what the model looked at (each range with a strength), a review span. Ranges are
 * positions, given in text offsets and placed with text-map.ts, mapped through every edit, and
 * each layer is set or cleared as a whole by transaction meta. Every mark has a class (styles.css:
 * an outline or underline, never a color alone) and optionally a `--w` strength and a title.
 * DOM-free.
 */
import { Plugin, PluginKey, type EditorState, type Transaction } from 'prosemirror-state';
import { Decoration, DecorationSet } from 'prosemirror-view';

export type OverlayLayer = 'rewrite' | 'attention' | 'review';

export interface OverlayRange {
  from: number;
  to: number;
  class: string;
  /** 0–1, drawn as the mark's strength (CSS `--w`). */
  weight?: number;
  title?: string;
}

type OverlayState = Record<OverlayLayer, DecorationSet>;

export const overlayKey = new PluginKey<OverlayState>('likely-overlay');

const EMPTY: OverlayState = { rewrite: DecorationSet.empty, attention: DecorationSet.empty, review: DecorationSet.empty };

function decorate(state: EditorState, ranges: readonly OverlayRange[]): DecorationSet {
  const size = state.doc.content.size;
  return DecorationSet.create(
    state.doc,
    ranges
      .filter((r) => r.to > r.from && r.from >= 0 && r.to <= size)
      .map((r) => {
        const attrs: Record<string, string> = { class: r.class };
        if (r.weight !== undefined) attrs.style = `--w: ${Math.round(Math.max(0, Math.min(1, r.weight)) * 1000) / 1000}`;
        if (r.title) attrs.title = r.title;
        return Decoration.inline(r.from, r.to, attrs);
      }),
  );
}

export function overlayPlugin(): Plugin<OverlayState> {
  return new Plugin<OverlayState>({
    key: overlayKey,
    state: {
      init: () => EMPTY,
      apply(tr, s, _old, state) {
        const meta = tr.getMeta(overlayKey) as { layer: OverlayLayer; ranges: readonly OverlayRange[] } | undefined;
        let next = s;
        if (tr.docChanged) next = { rewrite: s.rewrite.map(tr.mapping, tr.doc), attention: s.attention.map(tr.mapping, tr.doc), review: s.review.map(tr.mapping, tr.doc) };
        if (meta) next = { ...next, [meta.layer]: decorate(state, meta.ranges) };
        return next;
      },
    },
    props: {
      decorations: (state) => {
        const s = overlayKey.getState(state);
        if (!s) return null;
        const all = [...s.rewrite.find(), ...s.attention.find(), ...s.review.find()];
        return all.length ? DecorationSet.create(state.doc, all) : null;
      },
    },
  });
}

/** A transaction that replaces one layer's marks (an empty list clears it). Not an undoable change. */
export function overlayTransaction(state: EditorState, layer: OverlayLayer, ranges: readonly OverlayRange[]): Transaction {
  return state.tr.setMeta(overlayKey, { layer, ranges }).setMeta('addToHistory', false);
}
