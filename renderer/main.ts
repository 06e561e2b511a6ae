// Entry of the renderer: connects to the engine (Electron bridge or the local server's WebSocket),
// mounts the app, and hands the editor to the Electron shell bridge when the build has one.
import 'prosemirror-view/style/prosemirror.css';
import './styles.css';
import { mount } from 'svelte';
import App from './App.svelte';
import type { EditorHandle } from './lib/editor-handle.ts';
import { LikelyEditor } from './lib/editor.svelte.ts';
import { connectEngine } from './lib/engine-client.ts';
import { keepDraft } from './lib/web-files.ts';

declare global {
  interface Window {
    /** The editor, for the shell and for browser tests and benchmarks (e2e/page-globals.ts). */
    likelyEditor?: EditorHandle;
    likelyEditorState?: LikelyEditor;
  }
}

const { client, transport } = connectEngine();
const editor = new LikelyEditor(client, transport);
// The shell bridge is written with the Electron main process; a build without it is web-only.
const shellModules = import.meta.glob<{ connectShell?: (editor: EditorHandle) => unknown }>('./lib/shell-bridge.ts', { eager: true });
const connectShell = Object.values(shellModules)[0]?.connectShell;
// No desktop shell backs the draft with a file: keep it in this browser.
if (transport !== 'electron') keepDraft(editor);
mount(App, { target: document.getElementById('app')!, props: { editor } });
window.likelyEditor = editor;
window.likelyEditorState = editor;
if (connectShell) connectShell(editor);
