/**
 * What a paste (or a drop of text) puts in the document:
 * - nothing, said at once, when it would make the draft longer than the engine scores
 *   (`MAX_UPDATE_CHARS`): the clipboard still holds it, and the page never parses megabytes;
 * - code-looking plain text (looks-like-code.ts) as one code block, its indentation exact, with a
 *   notice offering to paste it as text instead;
 * - other plain text as lines (hard breaks) and blank-line separated blocks, not a paragraph per line;
 * - HTML reduced to the schema as a string before anything parses it (sanitize-html.ts): no
 *   scripts, handlers, styles or classes, links only to http(s)/mailto, images as their alt text,
 *   so nothing of it reaches the page's DOM or trips its Content-Security-Policy.
 */
import { closeHistory, undo } from 'prosemirror-history';
import { TextSelection } from 'prosemirror-state';
import type { EditorProps, EditorView } from 'prosemirror-view';
import { humanSize, MAX_UPDATE_CHARS } from '../../common/limits.ts';
import type { Notice } from '../../common/shell.ts';
import { looksLikeCode } from './looks-like-code.ts';
import { plainTextSlice } from './plain-text.ts';
import { sanitizeHtml } from './sanitize-html.ts';
import { schema } from './schema.ts';

export interface NoticeAction {
  label: string;
  run: () => void;
}

export interface PasteHost {
  showNotice(notice: (Notice & { actions?: NoticeAction[] }) | null): void;
  /** Length of the draft's text now (UTF-16 units, as the engine counts). */
  textLength(): number;
}

function refuseIfTooLong(host: PasteHost, pasted: number): boolean {
  const total = host.textLength() + pasted;
  if (total <= MAX_UPDATE_CHARS) return false;
  host.showNotice({
    level: 'error',
    message: `Not pasted: the clipboard holds ${humanSize(pasted)} of text, and a draft can hold ${humanSize(MAX_UPDATE_CHARS)} (what the model scores). It is still in your clipboard.`,
  });
  return true;
}

function pasteAsCode(view: EditorView, host: PasteHost, text: string): void {
  const code = schema.nodes.code_block!.create(null, schema.text(text.replace(/\r\n?/g, '\n')));
  const tr = view.state.tr.replaceSelectionWith(code);
  // The writer goes on writing prose after the pasted block: the caret goes below it.
  const $end = tr.selection.$from;
  let depth = $end.depth;
  while (depth > 1 && $end.node(depth).type !== schema.nodes.code_block) depth--;
  const after = $end.node(depth).type === schema.nodes.code_block ? $end.after(depth) : $end.after(1);
  if (!tr.doc.nodeAt(after)?.isTextblock || tr.doc.nodeAt(after)?.type.spec.code) tr.insert(after, schema.nodes.paragraph!.create());
  tr.setSelection(TextSelection.create(tr.doc, after + 1));
  view.dispatch(closeHistory(tr.scrollIntoView()));
  view.dispatch(closeHistory(view.state.tr));
  host.showNotice({
    level: 'info',
    message: 'Pasted as a code block: indentation kept exactly.',
    actions: [
      {
        label: 'Paste as text instead',
        run: () => {
          undo(view.state, view.dispatch);
          view.dispatch(view.state.tr.replaceSelection(plainTextSlice(text)).scrollIntoView());
          host.showNotice(null);
          view.focus();
        },
      },
    ],
  });
}

/** The editor props that implement the rules above. */
export function pasteProps(host: PasteHost): EditorProps {
  return {
    handleDOMEvents: {
      // Before ProseMirror parses anything: a refused paste costs nothing.
      paste: (view, event) => {
        const data = event.clipboardData;
        if (!data) return false;
        const text = data.getData('text/plain');
        const html = data.getData('text/html');
        // The text of HTML is at most as long as its markup; most clipboards carry both.
        if (refuseIfTooLong(host, text ? text.length : html.length)) {
          event.preventDefault();
          return true;
        }
        const inCode = view.state.selection.$from.parent.type.spec.code === true;
        if (!inCode && text.includes('\n') && looksLikeCode(text)) {
          event.preventDefault();
          pasteAsCode(view, host, text);
          return true;
        }
        return false;
      },
    },
    transformPastedHTML: (html) => sanitizeHtml(html),
    // Plain text outside code (ProseMirror inserts it raw inside code itself).
    clipboardTextParser: (text) => plainTextSlice(text),
  };
}
