/**
 * Connects the editor to the desktop shell (`window.likelyShell`, exposed by electron/preload.ts):
 * the document to show, "the text changed" on every edit, the text itself when main asks for it
 * (autosave, save, close), the annotated HTML export, file drops, theme and notices. In the web
 * page (no shell) `connectShell` returns null and changes nothing.
 *
 * The renderer calls `connectShell(editor, hooks)` once the editor is mounted. Main owns the
 * file; this module never decides anything about saving.
 */
import type { EngineClient } from '../../common/api.ts';
import type { DocumentFormat, LikelyShell, Notice, ShellCommand, ShellDocument, ShellState, ThemeState } from '../../common/shell.ts';
import type { EditorHandle } from './editor-handle.ts';

export interface ShellHooks {
  /** Title, path, dirty marker, save problems: for a status line. */
  onState?(state: ShellState): void;
  onNotice?(notice: Notice): void;
  onTheme?(theme: ThemeState): void;
  /** A (new) document was loaded into the editor. */
  onDocument?(doc: ShellDocument): void;
}

export interface ShellConnection {
  readonly shell: LikelyShell;
  /** Runs a menu command from the page (e.g. a Save button). */
  command(command: ShellCommand): Promise<void>;
  disconnect(): void;
}

declare global {
  interface Window {
    likelyShell?: LikelyShell;
    likelyEngine?: EngineClient;
  }
}

/** The desktop shell, or null in a browser. */
export function getShell(): LikelyShell | null {
  return typeof window !== 'undefined' && window.likelyShell ? window.likelyShell : null;
}

export async function connectShell(editor: EditorHandle, hooks: ShellHooks = {}, shell: LikelyShell | null = getShell()): Promise<ShellConnection | null> {
  if (!shell) return null;
  let format: DocumentFormat = 'markdown';
  let loading = false;
  /** Set by a load until the first change after it: the editor's echo of the load is not an edit. */
  let loadedAs: { text: string; normalized: string } | null = null;
  const offs: (() => void)[] = [];

  const content = () => (format === 'text' ? editor.getPlainText() : editor.getMarkdown());
  const notice = (n: Notice) => (hooks.onNotice ? hooks.onNotice(n) : editor.showNotice(n));
  const theme = (t: ThemeState) => {
    editor.setTheme(t.dark);
    hooks.onTheme?.(t);
  };

  const load = (doc: ShellDocument) => {
    format = doc.format;
    loading = true;
    try {
      if (doc.format === 'text') editor.setPlainText(doc.text);
      else editor.setMarkdown(doc.text);
    } finally {
      loading = false;
    }
    loadedAs = { text: doc.text, normalized: content() };
    editor.setDocumentKey?.(doc.state.path ? `file:${doc.state.path}` : 'untitled');
    theme(doc.theme);
    hooks.onState?.(doc.state);
    if (doc.recoveredFrom) notice({ level: 'info', message: `Restored unsaved work from ${new Date(doc.recoveredFrom).toLocaleString()}.` });
    else if (doc.state.problem) notice({ level: 'warning', message: doc.state.problem });
    hooks.onDocument?.(doc);
  };

  offs.push(
    editor.onChange(() => {
      if (loading) return;
      if (loadedAs) {
        const now = content();
        const echo = now === loadedAs.text || now === loadedAs.normalized;
        loadedAs = null;
        if (echo) return;
      }
      shell.edited();
    }),
    shell.on('flush', ({ requestId }) => shell.provideContent(requestId, content())),
    shell.on('export', ({ requestId, title }) =>
      editor.exportHtml(title).then(
        (html) => shell.provideExport(requestId, { html }),
        (e: Error) => shell.provideExport(requestId, { error: e.message }),
      ),
    ),
    shell.on('document', load),
    shell.on('state', (s) => hooks.onState?.(s)),
    shell.on('notice', notice),
    shell.on('theme', theme),
  );

  // A file dropped anywhere on the window opens (in this window if it is empty, else a new one);
  // text and other drags are left to the editor.
  const hasFiles = (e: DragEvent) => !!e.dataTransfer && [...e.dataTransfer.types].includes('Files');
  const onDragOver = (e: DragEvent) => {
    if (!hasFiles(e)) return;
    e.preventDefault();
    e.dataTransfer!.dropEffect = 'copy';
  };
  const onDrop = (e: DragEvent) => {
    if (!hasFiles(e)) return;
    e.preventDefault();
    e.stopPropagation();
    for (const file of e.dataTransfer!.files) {
      shell.openDroppedFile(file).catch((err: Error) => notice({ level: 'error', message: err.message }));
    }
  };
  window.addEventListener('dragover', onDragOver, true);
  window.addEventListener('drop', onDrop, true);
  offs.push(
    () => window.removeEventListener('dragover', onDragOver, true),
    () => window.removeEventListener('drop', onDrop, true),
  );

  load(await shell.ready());

  return {
    shell,
    command: (command) => shell.command(command),
    disconnect: () => {
      for (const off of offs.splice(0)) off();
    },
  };
}
