/** The editor's keys: the command table (commands.ts), the popover's, find's and code blocks' keys, then ProseMirror's base keymap. */
import { baseKeymap, chainCommands, exitCode } from 'prosemirror-commands';
import { redo } from 'prosemirror-history';
import { keymap } from 'prosemirror-keymap';
import { splitListItem } from 'prosemirror-schema-list';
import type { Command, EditorState, Plugin } from 'prosemirror-state';
import { indentCode, leaveCode, newlineInCodeKeepingIndent, outdentCode } from './code-keys.ts';
import { COMMANDS, isMac } from './commands.ts';
import type { LikelyEditor } from './editor.svelte.ts';
import { fenceOnEnter, undoInputRule } from './input-rules.ts';
import { schema } from './schema.ts';

export function editorKeymap(editor: LikelyEditor): Plugin[] {
  const { popover, find } = editor;
  const formatting = (_state: EditorState) => editor.format === 'markdown';
  const keys: Record<string, Command> = {
    ...Object.fromEntries(COMMANDS.map((c) => [c.key, c.markdownOnly ? (state, dispatch, view) => formatting(state) && c.command(state, dispatch, view) : c.command])),
    // With a suggestion picked in the popover, Enter replaces the span with it.
    Enter: chainCommands(() => popover.applySelected(), fenceOnEnter(formatting), newlineInCodeKeepingIndent, splitListItem(schema.nodes.list_item!)),
    'Mod-Enter': leaveCode,
    Tab: indentCode,
    'Shift-Tab': outdentCode,
    Backspace: undoInputRule,
    'Alt-ArrowDown': () => popover.cycle(1),
    'Alt-ArrowUp': () => popover.cycle(-1),
    'Shift-Enter': chainCommands(exitCode, (state, dispatch) => {
      dispatch?.(state.tr.replaceSelectionWith(schema.nodes.hard_break!.create()).scrollIntoView());
      return true;
    }),
    'Mod-.': () => popover.openAtSelection(),
    'Alt-Enter': () => popover.openAtSelection(),
    'Mod-f': () => {
      find.show();
      return true;
    },
    Escape: () => {
      if (popover.current) popover.close();
      else if (find.open) find.hide();
      else return false;
      return true;
    },
  };
  if (!isMac) keys['Mod-y'] = redo;
  return [keymap(keys), keymap(baseKeymap)];
}
