/** Find and replace: matches inside textblocks highlighted as decorations, next/previous, replace. DOM-free. */
import { Plugin, PluginKey, TextSelection, type Command, type EditorState, type Transaction } from 'prosemirror-state';
import { Decoration, DecorationSet } from 'prosemirror-view';
import type { Node as PMNode } from 'prosemirror-model';

export interface Match {
  from: number;
  to: number;
}

export interface FindState {
  query: string;
  caseSensitive: boolean;
  matches: readonly Match[];
  /** Index of the current match, or -1. */
  current: number;
  deco: DecorationSet;
}

export const findKey = new PluginKey<FindState>('likely-find');

type FindMeta = { query?: string; caseSensitive?: boolean; current?: number };

/** Matches of `query` inside each textblock (a match never crosses blocks or inline nodes). */
export function findMatches(doc: PMNode, query: string, caseSensitive: boolean): Match[] {
  if (!query) return [];
  const needle = caseSensitive ? query : query.toLowerCase();
  const out: Match[] = [];
  doc.descendants((node, pos) => {
    if (!node.isTextblock) return true;
    // One character per position: inline nodes become U+FFFC, so offsets map 1:1.
    let text = node.textBetween(0, node.content.size, undefined, '\ufffc');
    if (!caseSensitive) text = text.toLowerCase();
    for (let i = text.indexOf(needle); i >= 0; i = text.indexOf(needle, i + Math.max(1, needle.length))) out.push({ from: pos + 1 + i, to: pos + 1 + i + needle.length });
    return false;
  });
  return out;
}

function decorate(doc: PMNode, matches: readonly Match[], current: number): DecorationSet {
  if (!matches.length) return DecorationSet.empty;
  return DecorationSet.create(
    doc,
    matches.map((m, i) => Decoration.inline(m.from, m.to, { class: i === current ? 'find-match find-current' : 'find-match' })),
  );
}

function compute(doc: PMNode, query: string, caseSensitive: boolean, current: number): FindState {
  const matches = findMatches(doc, query, caseSensitive);
  const cur = matches.length ? Math.min(Math.max(current, 0), matches.length - 1) : -1;
  return { query, caseSensitive, matches, current: cur, deco: decorate(doc, matches, cur) };
}

export function findPlugin(): Plugin<FindState> {
  return new Plugin<FindState>({
    key: findKey,
    state: {
      init: () => ({ query: '', caseSensitive: false, matches: [], current: -1, deco: DecorationSet.empty }),
      apply(tr, s) {
        const meta = tr.getMeta(findKey) as FindMeta | undefined;
        if (!meta && !tr.docChanged) return s;
        const query = meta?.query ?? s.query;
        const caseSensitive = meta?.caseSensitive ?? s.caseSensitive;
        if (!meta && s.query === '') return s;
        return compute(tr.doc, query, caseSensitive, meta?.current ?? s.current);
      },
    },
    props: {
      decorations: (state) => findKey.getState(state)?.deco,
    },
  });
}

export function setFind(state: EditorState, meta: FindMeta): Transaction {
  return state.tr.setMeta(findKey, meta).setMeta('addToHistory', false);
}

/** Selects the next (dir 1) or previous (dir -1) match from the selection, wrapping around. */
export function findStep(dir: 1 | -1): Command {
  return (state, dispatch) => {
    const s = findKey.getState(state);
    if (!s || !s.matches.length) return false;
    const { from, to } = state.selection;
    let i: number;
    if (dir > 0) {
      i = s.matches.findIndex((m) => m.from >= to && !(m.from === from && m.to === to));
      if (i < 0) i = 0;
    } else {
      i = -1;
      for (let k = s.matches.length - 1; k >= 0; k--)
        if (s.matches[k]!.to <= from && !(s.matches[k]!.from === from)) {
          i = k;
          break;
        }
      if (i < 0) i = s.matches.length - 1;
    }
    if (dispatch) {
      const m = s.matches[i]!;
      dispatch(state.tr.setSelection(TextSelection.create(state.doc, m.from, m.to)).setMeta(findKey, { current: i }).scrollIntoView());
    }
    return true;
  };
}

/** Replaces the current match (or the first) and selects the next one. */
export function replaceCurrent(replacement: string): Command {
  return (state, dispatch) => {
    const s = findKey.getState(state);
    if (!s || !s.matches.length) return false;
    const i = s.current >= 0 ? s.current : 0;
    const m = s.matches[i]!;
    if (dispatch) {
      const tr = state.tr.insertText(replacement, m.from, m.to);
      const after = tr.mapping.map(m.to);
      const next = findMatches(tr.doc, s.query, s.caseSensitive);
      const j = next.findIndex((n) => n.from >= after);
      const k = j >= 0 ? j : next.length ? 0 : -1;
      if (k >= 0) tr.setSelection(TextSelection.create(tr.doc, next[k]!.from, next[k]!.to)).scrollIntoView();
      dispatch(tr.setMeta(findKey, { current: k }));
    }
    return true;
  };
}

/** Replaces every match in one undoable step. */
export function replaceAll(replacement: string): Command {
  return (state, dispatch) => {
    const s = findKey.getState(state);
    if (!s || !s.matches.length) return false;
    if (dispatch) {
      const tr = state.tr;
      for (let i = s.matches.length - 1; i >= 0; i--) tr.insertText(replacement, s.matches[i]!.from, s.matches[i]!.to);
      dispatch(tr);
    }
    return true;
  };
}
