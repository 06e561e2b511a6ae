/** The editor's keys: the command table (commands.ts), the popover's and find's keys, then ProseMirror's base keymap. */
import { baseKeymap, chainCommands, exitCode } from 'prosemirror-commands';
import { redo } from 'prosemirror-history';
import { keymap } from 'prosemirror-keymap';
import { splitListItem } from 'prosemirror-schema-list';
import type { Command, Plugin } from 'prosemirror-state';
import { COMMANDS, isMac } from './commands.ts';
import type { LikelyEditor } from './editor.svelte.ts';
import { schema } from './schema.ts';

export function editorKeymap(editor: LikelyEditor): Plugin[] {
  const { popover, find } = editor;
  const keys: Record<string, Command> = {
    ...Object.fromEntries(COMMANDS.map((c) => [c.key, c.command])),
    // With a suggestion picked in the popover, Enter replaces the span with it.
    Enter: chainCommands(() => popover.applySelected(), splitListItem(schema.nodes.list_item!)),
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
