/**
 * Files in a browser tab (web-document.svelte.ts decides what to do with them): the File System
 * Access API's pickers where the browser has them (Chromium; Save then writes back to the same
 * file), a file input and downloads elsewhere; reading a picked or dropped file as text with the
 * same refusals as the desktop file layer (too large, binary, not UTF-8); the annotated HTML export
 * as a download.
 */
import { humanSize, MAX_DOCUMENT_BYTES } from '../../common/limits.ts';
import type { DocumentFormat } from '../../common/shell.ts';
import type { LikelyEditor } from './editor.svelte.ts';

/** The part of the File System Access API used here (Chromium; not in TypeScript's DOM types). */
export interface FileHandle {
  readonly name: string;
  getFile(): Promise<File>;
  createWritable(): Promise<{ write(data: string): Promise<void>; close(): Promise<void> }>;
}
interface FilePickers {
  showOpenFilePicker?(options: object): Promise<FileHandle[]>;
  showSaveFilePicker?(options: object): Promise<FileHandle>;
}

const TEXT_TYPES = [{ description: 'Text and Markdown', accept: { 'text/markdown': ['.md', '.markdown'], 'text/plain': ['.txt'] } }];
const pickers = () => window as unknown as FilePickers;
const cancelled = (e: unknown) => (e as Error).name === 'AbortError';

/** .md and .markdown are Markdown; anything else is plain text. */
export function formatOfName(name: string): DocumentFormat {
  return /\.(md|markdown)$/i.test(name) ? 'markdown' : 'text';
}

/** A file's text, or why it cannot be opened (one line naming it). */
export async function readTextFile(file: File): Promise<{ text: string } | { error: string }> {
  const refuse = (why: string) => ({ error: `${file.name} ${why}; not opened.` });
  if (file.size > MAX_DOCUMENT_BYTES) return refuse(`is ${humanSize(file.size)}; Likely opens text files up to ${humanSize(MAX_DOCUMENT_BYTES)}`);
  const bytes = await file.arrayBuffer();
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return refuse('is not UTF-8 text');
  }
  if (text.includes('\u0000')) return refuse('looks like a binary file');
  return { text };
}

/** The browser's open picker: a file and its handle, null when the writer cancelled, 'unsupported' without the API. */
export async function chooseFileToOpen(): Promise<{ file: File; handle: FileHandle } | null | 'unsupported'> {
  const { showOpenFilePicker } = pickers();
  if (!showOpenFilePicker) return 'unsupported';
  try {
    const [handle] = await showOpenFilePicker.call(window, { types: TEXT_TYPES, multiple: false });
    return handle ? { file: await handle.getFile(), handle } : null;
  } catch (e) {
    if (cancelled(e)) return null;
    throw e;
  }
}

/** The browser's save picker: a handle, null when cancelled, 'unsupported' without the API (then the caller downloads). */
export async function chooseFileToSave(suggestedName: string): Promise<FileHandle | null | 'unsupported'> {
  const { showSaveFilePicker } = pickers();
  if (!showSaveFilePicker) return 'unsupported';
  try {
    return await showSaveFilePicker.call(window, { types: TEXT_TYPES, suggestedName });
  } catch (e) {
    if (cancelled(e)) return null;
    throw e;
  }
}

export async function downloadHtml(editor: LikelyEditor): Promise<void> {
  try {
    editor.showNotice({ level: 'info', message: 'Preparing the annotated HTML…' });
    const title = editor.title();
    download(`${safeFileName(title)}.html`, await editor.exportHtml(title), 'text/html');
    editor.showNotice({ level: 'info', message: 'Exported the annotated HTML.' });
  } catch (e) {
    editor.showNotice({ level: 'error', message: `Export failed: ${(e as Error).message}` });
  }
}

/** A title as a file name: no characters file systems refuse, no control characters, at most 60. */
export function safeFileName(title: string): string {
  // eslint-disable-next-line no-control-regex
  return title.replace(/[\\/:*?"<>|\u0000-\u001f]+/g, ' ').trim().slice(0, 60) || 'Untitled';
}

export function download(name: string, content: string, type: string): void {
  const url = URL.createObjectURL(new Blob([content], { type: `${type};charset=utf-8` }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
