/**
 * What the rest of the app (the Electron shell bridge, tests) may do with the editor. The shell
 * bridge (renderer/lib/shell-bridge.ts, written with the Electron main process) receives one of
 * these from `connectShell(handle)` at startup; in web mode nothing calls it but the page itself.
 */
import type { AnnotatedHtmlInput } from '../../common/export-html.ts';
import type { DocumentFormat, Notice } from '../../common/shell.ts';

export interface EditorHandle {
  /** The document as Markdown (what a `.md` file holds). */
  getMarkdown(): string;
  /** Replaces the document with parsed Markdown; clears undo history. */
  setMarkdown(markdown: string): void;
  /** The document's visible text: exactly the text the engine scores (see renderer/README.md). */
  getPlainText(): string;
  /** Replaces the document with plain text (blank lines split paragraphs); clears undo history. */
  setPlainText(text: string): void;
  /** The document in a file format: Markdown, or the plain text. */
  getText(format: DocumentFormat): string;
  setText(text: string, format: DocumentFormat): void;
  /** Called after every change of the text (cheap: no payload). Returns an unsubscribe function. */
  onChange(fn: () => void): () => void;
  /**
   * Input for common/export-html.ts `renderAnnotatedHtml` for the current text, or null while it is
   * not fully scored. `blocks` give the structure (headings, list items, quotes, code, marks).
   */
  getExportInput(): AnnotatedHtmlInput | null;
  /** Waits until the text is scored, fetches top-5 predictions, and renders the annotated HTML. */
  exportHtml(title?: string): Promise<string>;
  /** Dark or light colors (the shell follows the system or the user's choice). */
  setTheme(dark: boolean): void;
  /** Shows a one-line message in the status area. */
  showNotice(notice: Notice): void;
  focus(): void;
}
