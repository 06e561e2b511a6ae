/**
 * Web mode, where no desktop shell backs the document with a file: open a local file, download the
 * draft as Markdown or as annotated HTML, and keep the draft in this browser between visits.
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
  editor.onChange(() => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      try {
        localStorage.setItem(DRAFT_KEY, editor.getMarkdown());
      } catch {
        editor.showNotice({ level: 'warning', message: 'The draft could not be saved in this browser (storage full or disabled).' });
      }
    }, 400);
  });
}

/** Opens a local file: .md as Markdown, anything else as plain text; refuses large, binary and non-UTF-8 files. */
export async function openFile(editor: LikelyEditor, file: File): Promise<void> {
  const refuse = (why: string) => editor.showNotice({ level: 'error', message: `${file.name} ${why}; not opened.` });
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
