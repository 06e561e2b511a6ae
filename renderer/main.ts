// Entry of the renderer: connects to the engine (Electron bridge, the static build's worker, or
// the local server's WebSocket), mounts the app, and hands the editor to the Electron shell bridge
// when the build has one; elsewhere the document is the browser's (web-document.svelte.ts).
import 'prosemirror-view/style/prosemirror.css';
import './styles.css';
import { mount } from 'svelte';
import App from './App.svelte';
import type { EditorHandle } from './lib/editor-handle.ts';
import { LikelyEditor } from './lib/editor.svelte.ts';
import { connectEngine } from './lib/engine-client.ts';
import { WebDocument } from './lib/web-document.svelte.ts';

declare global {
  interface Window {
    /** The editor, for the shell and for browser tests and benchmarks (e2e/page-globals.ts). */
    likelyEditor?: EditorHandle;
    likelyEditorState?: LikelyEditor;
    likelyWebDocument?: WebDocument;
  }
}

const { client, transport } = connectEngine();
const editor = new LikelyEditor(client, transport);
// The shell bridge is written with the Electron main process; a build without it is web-only.
const shellModules = import.meta.glob<{ connectShell?: (editor: EditorHandle) => unknown }>('./lib/shell-bridge.ts', { eager: true });
const connectShell = Object.values(shellModules)[0]?.connectShell;
// No desktop shell backs the draft with a file: keep it in this browser.
const web = transport !== 'electron' ? new WebDocument(editor) : null;
mount(App, { target: document.getElementById('app')!, props: { editor, web } });
window.likelyEditor = editor;
window.likelyEditorState = editor;
if (web) {
  window.likelyWebDocument = web;
  void web.start();
}
if (connectShell) connectShell(editor);
