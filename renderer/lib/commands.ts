/**
 * The editing commands with a key, as one table: the keymap binds every `key`, the toolbar shows
 * the entries with a `label` and writes the key in their tooltip.
 */
import { setBlockType, toggleMark } from 'prosemirror-commands';
import { redo, undo } from 'prosemirror-history';
import { liftListItem, sinkListItem, wrapInList } from 'prosemirror-schema-list';
import type { Command } from 'prosemirror-state';
import { schema } from './schema.ts';

export interface EditCommand {
  /** ProseMirror key name ("Shift-Ctrl-1", "Mod-b"). */
  key: string;
  command: Command;
  name: string;
  /** Shown on the toolbar when set. */
  label?: string;
  group?: 'edit' | 'format';
  /** Markdown formatting, which a plain-text (.txt) document cannot hold: off there. */
  markdownOnly?: boolean;
}

/** Turns the block at the caret into a code block, or a code block back into a paragraph. */
export const toggleCodeBlock: Command = (state, dispatch) => {
  const { $from } = state.selection;
  if ($from.parent.type === schema.nodes.code_block) return setBlockType(schema.nodes.paragraph!)(state, dispatch);
  return setBlockType(schema.nodes.code_block!)(state, dispatch);
};

const n = schema.nodes;
const m = schema.marks;

export const COMMANDS: readonly EditCommand[] = [
  { key: 'Mod-z', command: undo, name: 'Undo', label: '↶', group: 'edit' },
  { key: 'Shift-Mod-z', command: redo, name: 'Redo', label: '↷', group: 'edit' },
  { key: 'Shift-Ctrl-0', command: setBlockType(n.paragraph!), name: 'Paragraph', label: '¶', group: 'format' },
  { key: 'Shift-Ctrl-1', command: setBlockType(n.heading!, { level: 1 }), name: 'Heading 1', label: 'H1', group: 'format', markdownOnly: true },
  { key: 'Shift-Ctrl-2', command: setBlockType(n.heading!, { level: 2 }), name: 'Heading 2', label: 'H2', group: 'format', markdownOnly: true },
  { key: 'Shift-Ctrl-3', command: setBlockType(n.heading!, { level: 3 }), name: 'Heading 3', markdownOnly: true },
  { key: 'Shift-Ctrl-8', command: wrapInList(n.bullet_list!), name: 'Bullet list', label: '•', group: 'format', markdownOnly: true },
  { key: 'Shift-Ctrl-9', command: wrapInList(n.ordered_list!), name: 'Numbered list', label: '1.', group: 'format', markdownOnly: true },
  { key: 'Mod-b', command: toggleMark(m.strong!), name: 'Strong', label: 'B', group: 'format', markdownOnly: true },
  { key: 'Mod-i', command: toggleMark(m.em!), name: 'Emphasis', label: 'I', group: 'format', markdownOnly: true },
  { key: 'Mod-Alt-c', command: toggleCodeBlock, name: 'Code block', label: '</>', group: 'format' },
  { key: 'Mod-`', command: toggleMark(m.code!), name: 'Code', markdownOnly: true },
  { key: 'Mod-[', command: liftListItem(n.list_item!), name: 'Lift list item', markdownOnly: true },
  { key: 'Mod-]', command: sinkListItem(n.list_item!), name: 'Sink list item', markdownOnly: true },
];

export const isMac = typeof navigator !== 'undefined' && /Mac|iPhone|iPad/.test(navigator.platform);

/** "Shift-Ctrl-1" → "Ctrl+Shift+1", "Mod-b" → "Ctrl+B" (⌘B on a Mac). */
export function keyLabel(key: string): string {
  const parts = key.split('-');
  const last = parts.pop()!;
  const mods = ['Ctrl', 'Alt', 'Shift'].filter((mod) => parts.includes(mod) || (mod === 'Ctrl' && parts.includes('Mod') && !isMac));
  if (isMac && parts.includes('Mod')) mods.unshift('⌘');
  return [...mods, last.length === 1 ? last.toUpperCase() : last].join('+').replace('⌘+', '⌘');
}
