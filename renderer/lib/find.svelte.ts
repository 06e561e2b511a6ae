/** The find bar's state: the query and replacement, and the match count and current match read back from the find plugin after every transaction. */
import type { Command } from 'prosemirror-state';
import type { LikelyEditor } from './editor.svelte.ts';
import { findKey, findStep, replaceAll, replaceCurrent, setFind } from './find-plugin.ts';

export class FindReplace {
  open = $state(false);
  query = $state('');
  replacement = $state('');
  caseSensitive = $state(false);
  count = $state(0);
  /** Index of the current match, or -1. */
  current = $state(-1);

  constructor(private readonly editor: LikelyEditor) {}

  /** Opens the bar, searching for the selected text when it is short and on one line. */
  show(): void {
    this.open = true;
    const view = this.editor.view;
    if (!view) return;
    const { from, to } = view.state.selection;
    const selected = view.state.doc.textBetween(from, to, ' ');
    if (selected && !selected.includes('\n') && selected.length < 200) this.query = selected;
    view.dispatch(setFind(view.state, { query: this.query, caseSensitive: this.caseSensitive }));
  }

  hide(): void {
    this.open = false;
    const view = this.editor.view;
    if (!view) return;
    view.dispatch(setFind(view.state, { query: '' }));
    view.focus();
  }

  search(query: string, caseSensitive = this.caseSensitive): void {
    this.query = query;
    this.caseSensitive = caseSensitive;
    const view = this.editor.view;
    if (view) view.dispatch(setFind(view.state, { query, caseSensitive, current: 0 }));
  }

  step(dir: 1 | -1): void {
    this.run(findStep(dir));
  }

  replaceOne(): void {
    this.run(replaceCurrent(this.replacement));
  }

  replaceEvery(): void {
    this.run(replaceAll(this.replacement));
  }

  /** Reads the plugin's matches back (after every transaction). */
  sync(): void {
    const s = this.editor.view ? findKey.getState(this.editor.view.state) : null;
    this.count = s?.matches.length ?? 0;
    this.current = s?.current ?? -1;
  }

  private run(command: Command): void {
    const view = this.editor.view;
    if (view) command(view.state, view.dispatch);
  }
}
