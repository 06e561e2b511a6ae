/**
 * Markdown typed as you write it: `# ` to `###### ` make a heading, `- `, `* ` or `+ ` a bullet
 * list, `1. ` a numbered list, `> ` a quote, ```` ``` ```` (optionally with a language, then a space or
 * Enter) a code block, and `**bold**`, `*em*` / `_em_`, `` `code` `` their marks. Backspace right
 * after a rule undoes it (the typed characters come back). Off in a plain-text (.txt) document,
 * which has no formatting to write, and inside code.
 */
import { InputRule, inputRules, textblockTypeInputRule, undoInputRule, wrappingInputRule } from 'prosemirror-inputrules';
import type { MarkType } from 'prosemirror-model';
import type { Command, EditorState, Plugin, Transaction } from 'prosemirror-state';
import { schema } from './schema.ts';

const n = schema.nodes;
const m = schema.marks;

type Handler = (state: EditorState, match: RegExpMatchArray, start: number, end: number, typed: string) => Transaction | null;

/** `**x**`-style rule: the text between the delimiters gets `mark`, the delimiters go. */
function markRule(pattern: RegExp, mark: MarkType): InputRule {
  const handler: Handler = (state, match, start, end, typed) => {
    const [whole, lead, inner] = match as unknown as [string, string, string];
    if (!inner.trim()) return null;
    const from = start + lead.length;
    const delimiter = (whole.length - lead.length - inner.length) / 2;
    // [start, end) holds the match but for the character just typed, which is not in the document yet.
    const closingInDoc = delimiter - typed.length;
    const tr = state.tr;
    if (closingInDoc > 0) tr.delete(end - closingInDoc, end);
    tr.delete(from, from + delimiter);
    return tr.addMark(from, from + inner.length, mark.create()).removeStoredMark(mark);
  };
  return new InputRule(pattern, handler as never);
}

export function markdownInputRules(enabled: (state: EditorState) => boolean): Plugin {
  const rules = [
    textblockTypeInputRule(/^(#{1,6})\s$/, n.heading!, (match) => ({ level: match[1]!.length })),
    wrappingInputRule(/^\s*([-+*])\s$/, n.bullet_list!, (match) => ({ bullet: match[1] })),
    wrappingInputRule(
      /^(\d+)\.\s$/,
      n.ordered_list!,
      (match) => ({ order: Number(match[1]) }),
      (match, node) => node.childCount + Number(node.attrs.order) === Number(match[1]),
    ),
    wrappingInputRule(/^\s*>\s$/, n.blockquote!),
    textblockTypeInputRule(/^```([\w+#.-]*)\s$/, n.code_block!, (match) => ({ params: match[1] ?? '' })),
    markRule(/(^|[^*\w])(?:\*\*)([^*\s](?:[^*]*[^*\s])?)(?:\*\*)$/, m.strong!),
    markRule(/(^|[^*\w])(?:\*)([^*\s](?:[^*]*[^*\s])?)(?:\*)$/, m.em!),
    markRule(/(^|[^_\w])(?:_)([^_\s](?:[^_]*[^_\s])?)(?:_)$/, m.em!),
    markRule(/(^|[^`])(?:`)([^`]+)(?:`)$/, m.code!),
  ].map(
    (rule) => {
      // The same rule, run only where formatting is allowed.
      const { match, handler } = rule as unknown as { match: RegExp; handler: Handler };
      const guarded: Handler = (state, ...args) => (enabled(state) ? handler(state, ...args) : null);
      return new InputRule(match, guarded as never);
    },
  );
  return inputRules({ rules });
}

/** Enter on a line holding only ```` ``` ```` (or ```` ```lang ````) turns it into a code block. */
export const fenceOnEnter =
  (enabled: (state: EditorState) => boolean): Command =>
  (state, dispatch) => {
    const { $from, empty } = state.selection;
    if (!empty || !enabled(state) || $from.parent.type !== n.paragraph || $from.parentOffset !== $from.parent.content.size) return false;
    const match = /^```([\w+#.-]*)$/.exec($from.parent.textContent);
    if (!match) return false;
    if (dispatch) {
      const start = $from.start();
      dispatch(state.tr.delete(start, $from.pos).setBlockType(start, start, n.code_block!, { params: match[1] ?? '' }).scrollIntoView());
    }
    return true;
  };

export { undoInputRule };
