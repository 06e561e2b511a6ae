/**
 * Web mode and the static build, where no desktop shell backs the document with a file: open a
 * local file and save back to it through the File System Access API where the browser has it
 * (Chromium), else open through a file input and save as a download; export the annotated HTML as
 * a download; keep the draft in this browser between visits.
 */
import { humanSize, MAX_DOCUMENT_BYTES } from '../../common/limits.ts';
import type { LikelyEditor } from './editor.svelte.ts';

const DRAFT_KEY = 'likely:draft';

/** Loads the draft saved in this browser, and saves it (debounced) after every change. */
export function keepDraft(editor: LikelyEditor): void {
  try {
    const saved = localStorage.getItem(DRAFT_KEY);
    if (saved !== null) editor.setMarkdown(saved);
  } catch {
    // Storage can be unavailable (private mode); the draft then lives in the page only.
  }
  let timer: ReturnType<typeof setTimeout> | undefined;
  const save = () => {
    clearTimeout(timer);
    timer = undefined;
    try {
      localStorage.setItem(DRAFT_KEY, editor.getMarkdown());
    } catch {
      editor.showNotice({ level: 'warning', message: 'The draft could not be saved in this browser (storage full or disabled).' });
    }
  };
  editor.onChange(() => {
    clearTimeout(timer);
    timer = setTimeout(save, 400);
  });
  // A reload or a closed tab within the debounce still keeps the last keystrokes.
  window.addEventListener('pagehide', () => timer !== undefined && save());
}

/** Opens a local file: .md as Markdown, anything else as plain text; refuses large, binary and non-UTF-8 files. */
export async function openFile(editor: LikelyEditor, file: File): Promise<boolean> {
  const refuse = (why: string) => {
    editor.showNotice({ level: 'error', message: `${file.name} ${why}; not opened.` });
    return false;
  };
  if (file.size > MAX_DOCUMENT_BYTES) return refuse(`is ${humanSize(file.size)}; Likely opens text files up to ${humanSize(MAX_DOCUMENT_BYTES)}`);
  const bytes = await file.arrayBuffer();
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return refuse('is not UTF-8 text');
  }
  if (text.includes('\u0000')) return refuse('looks like a binary file');
  if (/\.(md|markdown)$/i.test(file.name)) editor.setMarkdown(text);
  else editor.setPlainText(text);
  editor.showNotice({ level: 'info', message: `Opened ${file.name}.` });
  savedTo = null;
  return true;
}

/** The part of the File System Access API used here (Chromium; not in TypeScript's DOM types). */
interface FileHandle {
  readonly name: string;
  getFile(): Promise<File>;
  createWritable(): Promise<{ write(data: string): Promise<void>; close(): Promise<void> }>;
}
interface FilePickers {
  showOpenFilePicker?(options: object): Promise<FileHandle[]>;
  showSaveFilePicker?(options: object): Promise<FileHandle>;
}

const TEXT_TYPES = [{ description: 'Text and Markdown', accept: { 'text/markdown': ['.md', '.markdown'], 'text/plain': ['.txt'] } }];
/** The file the draft was opened from or last saved to, when the browser gave a handle to it. */
let savedTo: FileHandle | null = null;

const pickers = () => window as unknown as FilePickers;
const cancelled = (e: unknown) => (e as Error).name === 'AbortError';

/** Opens a file: with the browser's file picker when it offers one (then Save writes back to it), else `fallback` (a file input). */
export async function openDocument(editor: LikelyEditor, fallback: () => void): Promise<void> {
  const { showOpenFilePicker } = pickers();
  if (!showOpenFilePicker) return fallback();
  try {
    const [handle] = await showOpenFilePicker.call(window, { types: TEXT_TYPES, multiple: false });
    if (!handle) return;
    const opened = await openFile(editor, await handle.getFile());
    if (opened) savedTo = handle;
  } catch (e) {
    if (!cancelled(e)) editor.showNotice({ level: 'error', message: `Could not open the file: ${(e as Error).message}` });
  }
}

/**
 * Saves the draft: back to the file it came from (or was last saved to) where the browser gave a
 * handle, else to a file the user picks, else as a Markdown download. A .txt file gets plain text.
 */
export async function saveDocument(editor: LikelyEditor): Promise<void> {
  const { showSaveFilePicker } = pickers();
  if (!savedTo && !showSaveFilePicker) return downloadMarkdown(editor);
  try {
    const handle = savedTo ?? (await showSaveFilePicker!.call(window, { types: TEXT_TYPES, suggestedName: `${fileName(editor.title())}.md` }));
    const writable = await handle.createWritable();
    await writable.write(/\.txt$/i.test(handle.name) ? editor.getPlainText() : editor.getMarkdown());
    await writable.close();
    savedTo = handle;
    editor.showNotice({ level: 'info', message: `Saved ${handle.name}.` });
  } catch (e) {
    if (!cancelled(e)) editor.showNotice({ level: 'error', message: `Could not save: ${(e as Error).message}; the draft is still kept in this browser.` });
  }
}

export async function downloadHtml(editor: LikelyEditor): Promise<void> {
  try {
    editor.showNotice({ level: 'info', message: 'Preparing the annotated HTML…' });
    const title = editor.title();
    download(`${fileName(title)}.html`, await editor.exportHtml(title), 'text/html');
    editor.showNotice({ level: 'info', message: 'Exported the annotated HTML.' });
  } catch (e) {
    editor.showNotice({ level: 'error', message: `Export failed: ${(e as Error).message}` });
  }
}

export function downloadMarkdown(editor: LikelyEditor): void {
  download(`${fileName(editor.title())}.md`, editor.getMarkdown(), 'text/markdown');
}

function fileName(title: string): string {
  // Characters file systems refuse, and control characters.
  // eslint-disable-next-line no-control-regex
  return title.replace(/[\\/:*?"<>|\u0000-\u001f]+/g, ' ').trim().slice(0, 60) || 'Untitled';
}

function download(name: string, content: string, type: string): void {
  const url = URL.createObjectURL(new Blob([content], { type: `${type};charset=utf-8` }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
