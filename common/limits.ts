/**
 * Sizes every layer agrees on (the editor, the file layer, the CLI, every transport), so a
 * document one part accepts is never refused by another. Environment-neutral: no imports.
 */

/** Largest document, in UTF-8 bytes, the app opens and the CLI scores (see models/README.md for how long it takes). */
export const MAX_DOCUMENT_BYTES = 2 * 1024 * 1024;

/** Largest text an `update` may carry, in UTF-16 code units: any UTF-8 text of MAX_DOCUMENT_BYTES fits (one unit per byte at most). */
export const MAX_UPDATE_CHARS = MAX_DOCUMENT_BYTES;

/**
 * Largest text the page may hand over to be saved or kept for recovery, in UTF-16 code units. Far
 * above what is scored: a draft grown past MAX_UPDATE_CHARS (a huge paste) goes unscored but must
 * still reach its file, never be refused at the save.
 */
export const MAX_SAVE_CHARS = 64 * 1024 * 1024;

/** "3 KB", "1.5 MB": a document size for a one-line message. */
export function humanSize(bytes: number): string {
  return bytes >= 1024 * 1024 ? `${(bytes / (1024 * 1024)).toFixed(1)} MB` : `${Math.ceil(bytes / 1024)} KB`;
}
