/**
 * What the rest of the app may do with the editor: the Electron shell bridge
 * (`connectShell(editor)` in shell-bridge.ts), web mode's files and draft (web-files.ts), and
 * browser tests and benchmarks (`window.likelyEditor`). `LikelyEditor` implements it.
 */
import type { Notice } from '../../common/shell.ts';

export interface EditorHandle {
  /** The document as Markdown (what a `.md` file holds). */
  getMarkdown(): string;
  /** Replaces the document with parsed Markdown; clears undo history. */
  setMarkdown(markdown: string): void;
  /** The document's visible text: exactly the text the engine scores (see renderer/README.md). */
  getPlainText(): string;
  /** Replaces the document with plain text (blank lines split paragraphs, no Markdown parsing); clears undo history. */
  setPlainText(text: string): void;
  /** `fn` runs after every change of the text (not on selection moves; cheap: no payload). Returns an unsubscribe function. */
  onChange(fn: () => void): () => void;
  /** Waits until the text is scored, fetches top-5 predictions, and renders the annotated HTML (common/export-html.ts). */
  exportHtml(title?: string): Promise<string>;
  /** Dark or light colors (the shell follows the system or the user's choice). */
  setTheme(dark: boolean): void;
  /** Which document this is (a file's path, a draft's id), for what the page keeps per document. */
  setDocumentKey?(key: string): void;
  /** Shows a one-line message in the status bar (null clears it). */
  showNotice(notice: Notice | null): void;
}
