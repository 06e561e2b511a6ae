import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ExportReply, LikelyShell, ShellDocument, ShellEvents } from '../../common/shell.ts';
import type { EditorHandle } from './editor-handle.ts';
import { connectShell } from './shell-bridge.ts';

// The bridge touches only window.addEventListener: a minimal page.
const windowListeners = new Map<string, (e: unknown) => void>();
Object.assign(globalThis, {
  window: { addEventListener: (t: string, fn: (e: unknown) => void) => windowListeners.set(t, fn), removeEventListener: (t: string) => windowListeners.delete(t) },
});

/** A shell that records what the bridge sends and lets the test push events, like main would. */
function fakeShell(doc: ShellDocument) {
  const listeners = new Map<string, Set<(d: unknown) => void>>();
  const sent = { edited: 0, content: [] as [number, string][], exports: [] as [number, ExportReply][], dropped: [] as unknown[] };
  const shell: LikelyShell = {
    ready: async () => doc,
    edited: () => void sent.edited++,
    provideContent: (id, text) => void sent.content.push([id, text]),
    provideExport: (id, reply) => void sent.exports.push([id, reply]),
    command: async () => {},
    openDroppedFile: async (f) => void sent.dropped.push(f),
    on: (event, fn) => {
      let set = listeners.get(event);
      if (!set) listeners.set(event, (set = new Set()));
      set.add(fn as (d: unknown) => void);
      return () => set.delete(fn as (d: unknown) => void);
    },
  };
  const push = <E extends keyof ShellEvents>(event: E, data: ShellEvents[E]) => listeners.get(event)?.forEach((fn) => fn(data));
  return { shell, sent, push };
}

/** An editor whose Markdown serializer normalizes (as prosemirror-markdown does) and fires onChange on every set; it records themes and notices. */
function fakeEditor() {
  let text = '';
  const fns = new Set<() => void>();
  const changed = () => fns.forEach((f) => f());
  const editor: EditorHandle & { type(s: string): void; plainLoads: number; seen: string[] } = {
    plainLoads: 0,
    seen: [],
    getMarkdown: () => text.replace(/\*(\w+)\*/g, '_$1_'),
    getPlainText: () => text.replace(/[*_]/g, ''),
    setMarkdown: (md) => {
      text = md;
      changed();
    },
    setPlainText(t) {
      this.plainLoads++;
      text = t;
      changed();
    },
    onChange: (fn) => {
      fns.add(fn);
      return () => fns.delete(fn);
    },
    type: (s) => {
      text += s;
      changed();
    },
    exportHtml: async (title) => (title === 'bad' ? Promise.reject(new Error('no scores yet')) : `<title>${title}</title>`),
    setTheme(dark) {
      this.seen.push(`dark=${dark}`);
    },
    showNotice(n) {
      if (n) this.seen.push(n.message);
    },
  };
  return editor;
}

const state = { title: 'a.md', path: '/d/a.md', format: 'markdown' as const, dirty: false };
const theme = { source: 'system' as const, dark: true };

test('loads the document; the load itself is not an edit, typing is', async () => {
  const editor = fakeEditor();
  const { shell, sent } = fakeShell({ text: 'Hello *world*', format: 'markdown', state, theme });
  const states: unknown[] = [];
  const conn = await connectShell(editor, { onState: (s) => states.push(s) }, shell);
  assert.ok(conn);
  assert.equal(editor.getMarkdown(), 'Hello _world_');
  assert.equal(sent.edited, 0, 'loading (and the serializer normalizing it) is not an edit');
  assert.deepEqual(states, [state]);
  assert.deepEqual(editor.seen, ['dark=true'], "the document's theme reaches the editor");
  editor.type('!');
  editor.type('?');
  assert.equal(sent.edited, 2);
  conn.disconnect();
  editor.type('.');
  assert.equal(sent.edited, 2, 'nothing after disconnect');
});

test('answers flush with Markdown, or plain text for a .txt document', async () => {
  const editor = fakeEditor();
  const { shell, sent, push } = fakeShell({ text: '*a*', format: 'markdown', state, theme });
  const conn = await connectShell(editor, {}, shell);
  push('flush', { requestId: 7 });
  assert.deepEqual(sent.content, [[7, '_a_']]);
  push('document', { text: 'plain *stars*', format: 'text', state: { ...state, format: 'text' }, theme });
  assert.equal(editor.plainLoads, 1, '.txt loads as plain text');
  push('flush', { requestId: 8 });
  assert.deepEqual(sent.content.at(-1), [8, 'plain stars']);
  conn!.disconnect();
});

test('export: the editor builds it or reports its error', async () => {
  const { shell, sent, push } = fakeShell({ text: '', format: 'markdown', state, theme });
  const c2 = await connectShell(fakeEditor(), {}, shell);
  push('export', { requestId: 2, title: 'draft' });
  push('export', { requestId: 3, title: 'bad' });
  await new Promise((r) => setTimeout(r, 0));
  assert.deepEqual(sent.exports.slice(-2), [
    [2, { html: '<title>draft</title>' }],
    [3, { error: 'no scores yet' }],
  ]);
  c2!.disconnect();
});

test('a dropped file goes to the shell; a text drag is left to the editor', async () => {
  const { shell, sent } = fakeShell({ text: '', format: 'markdown', state, theme });
  const conn = await connectShell(fakeEditor(), {}, shell);
  const file = { name: 'x.md' };
  let prevented = 0;
  const drop = (types: string[], files: unknown[]) => windowListeners.get('drop')!({ dataTransfer: { types, files }, preventDefault: () => prevented++, stopPropagation: () => {} });
  drop(['text/plain'], []);
  assert.equal(prevented, 0);
  drop(['Files'], [file]);
  assert.equal(prevented, 1);
  assert.deepEqual(sent.dropped, [file]);
  conn!.disconnect();
  assert.equal(windowListeners.has('drop'), false);
});

test("theme and notices reach the editor's own setTheme and showNotice", async () => {
  const editor = fakeEditor();
  const seen = editor.seen;
  const { shell, push } = fakeShell({ text: 'x', format: 'markdown', state, theme, recoveredFrom: '2025-01-02T03:04:05.000Z' });
  const conn = await connectShell(editor, {}, shell);
  assert.equal(seen[0], 'dark=true');
  assert.match(seen[1]!, /^Restored unsaved work from /);
  push('theme', { source: 'light', dark: false });
  push('notice', { level: 'error', message: 'autosave failed: the disk is full' });
  assert.deepEqual(seen.slice(2), ['dark=false', 'autosave failed: the disk is full']);
  conn!.disconnect();
});

test('without a shell (the web page) nothing is connected', async () => {
  assert.equal(await connectShell(fakeEditor(), {}, null), null);
});
