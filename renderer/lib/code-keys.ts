/**
 * Keys inside a code block, where indentation is part of the text: Tab indents the line(s) and
 * Shift+Tab outdents them (by a tab where the block indents with tabs, else four spaces), Enter
 * keeps the line's indentation, and Enter on a second empty line at the end of the block leaves it
 * (as does Ctrl+Enter anywhere in it). Outside a code block these keys do what they always do.
 */
import { exitCode } from 'prosemirror-commands';
import { Selection, type Command, type EditorState } from 'prosemirror-state';
import { schema } from './schema.ts';

function inCode(state: EditorState): boolean {
  return state.selection.$from.parent.type.spec.code === true && state.selection.$from.sameParent(state.selection.$to);
}

/** The block's indent unit: a tab if a line of it starts with one, else four spaces. */
function unit(text: string): string {
  return /(^|\n)\t/.test(text) ? '\t' : '    ';
}

/** Start positions of the lines the selection touches, in the code block. */
function lineStarts(state: EditorState): number[] {
  const { $from, $to } = state.selection;
  const text = $from.parent.textContent;
  const base = $from.start();
  const starts: number[] = [];
  let at = text.lastIndexOf('\n', $from.parentOffset - 1) + 1;
  while (at <= $to.parentOffset) {
    starts.push(base + at);
    const nl = text.indexOf('\n', at);
    if (nl === -1 || nl >= $to.parentOffset) break;
    at = nl + 1;
  }
  return starts;
}

export const indentCode: Command = (state, dispatch) => {
  if (!inCode(state)) return false;
  const ind = unit(state.selection.$from.parent.textContent);
  if (dispatch) {
    const tr = state.tr;
    if (state.selection.empty) tr.insertText(ind);
    else for (const at of lineStarts(state).reverse()) tr.insertText(ind, at);
    dispatch(tr.scrollIntoView());
  }
  return true;
};

export const outdentCode: Command = (state, dispatch) => {
  if (!inCode(state)) return false;
  if (dispatch) {
    const tr = state.tr;
    const text = state.selection.$from.parent.textContent;
    const base = state.selection.$from.start();
    for (const at of lineStarts(state).reverse()) {
      const lead = /^(\t| {1,4})/.exec(text.slice(at - base));
      if (lead) tr.delete(at, at + lead[0].length);
    }
    dispatch(tr.scrollIntoView());
  }
  return true;
};

export const newlineInCodeKeepingIndent: Command = (state, dispatch) => {
  if (!inCode(state)) return false;
  const { $from } = state.selection;
  const text = $from.parent.textContent;
  const before = text.slice(0, $from.parentOffset);
  const atEnd = state.selection.empty && $from.parentOffset === text.length;
  if (atEnd && /\n[ \t]*\n[ \t]*$/.test('\n' + before) && before.length > 0) {
    // A second empty line at the end: leave the block, dropping the empty lines.
    const trailing = /\n?[ \t]*\n[ \t]*$/.exec(before)![0].length;
    if (dispatch) {
      const tr = state.tr.delete($from.pos - trailing, $from.pos);
      const after = tr.mapping.map($from.after());
      tr.insert(after, schema.nodes.paragraph!.create());
      dispatch(tr.setSelection(Selection.near(tr.doc.resolve(after + 1))).scrollIntoView());
    }
    return true;
  }
  const line = before.slice(before.lastIndexOf('\n') + 1);
  const indent = /^[ \t]*/.exec(line)![0];
  if (dispatch) dispatch(state.tr.replaceSelectionWith(schema.text('\n' + indent)).scrollIntoView());
  return true;
};

export const leaveCode: Command = (state, dispatch) => inCode(state) && exitCode(state, dispatch);
