/**
 * The recovery store: unsaved work, written about a second after typing pauses, so a crash, a
 * kill or a power cut loses at most that second. One JSON file per open document under
 * `<userData>/recovery/`, each written atomically (files.ts). An entry is removed when its text
 * reaches a file (save, save as, successful autosave) or the writer says "Don't Save"; entries
 * left when the app starts are from a session that ended without that, and are offered back.
 * Plain Node (no Electron).
 */
import { randomUUID } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import type { DocumentFormat } from '../common/shell.ts';
import { atomicWriteFile, type FileEncoding } from './files.ts';

export interface RecoveryEntry {
  id: string;
  /** The document's file, when it has one (its autosave failed or it changed on disk). */
  path: string | null;
  title: string;
  format: DocumentFormat;
  encoding?: FileEncoding;
  text: string;
  /** ms since epoch of this write. */
  updatedAt: number;
}

const ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function parseEntry(raw: unknown, id: string): RecoveryEntry | null {
  if (!raw || typeof raw !== 'object') return null;
  const r = raw as Record<string, unknown>;
  if (r.id !== id || typeof r.text !== 'string' || typeof r.title !== 'string' || !Number.isFinite(r.updatedAt)) return null;
  if (r.path !== null && typeof r.path !== 'string') return null;
  if (r.format !== 'markdown' && r.format !== 'text') return null;
  const enc = r.encoding as Record<string, unknown> | undefined;
  const mixed = enc?.mixed as Record<string, unknown> | undefined;
  const encoding: FileEncoding | undefined =
    enc && (enc.lineEnding === '\n' || enc.lineEnding === '\r\n' || enc.lineEnding === '\r') && typeof enc.bom === 'boolean'
      ? {
          lineEnding: enc.lineEnding,
          bom: enc.bom,
          // A mixed file's line layout, when it is whole (a damaged one only costs the old endings of unedited lines).
          ...(typeof mixed?.base === 'string' && typeof mixed.endings === 'string' && /^[ncr]*$/.test(mixed.endings) && mixed.endings.length === mixed.base.split('\n').length - 1
            ? { mixed: { base: mixed.base, endings: mixed.endings } }
            : {}),
        }
      : undefined;
  return { id, path: r.path as string | null, title: r.title, format: r.format, encoding, text: r.text, updatedAt: r.updatedAt as number };
}

export class RecoveryStore {
  constructor(readonly dir: string) {}

  static newId(): string {
    return randomUUID();
  }

  private file(id: string): string {
    if (!ID.test(id)) throw new Error(`invalid recovery id ${JSON.stringify(id)}`);
    return join(this.dir, `${id}.json`);
  }

  async write(entry: Omit<RecoveryEntry, 'updatedAt'> & { updatedAt?: number }): Promise<RecoveryEntry> {
    const full: RecoveryEntry = { ...entry, updatedAt: entry.updatedAt ?? Date.now() };
    await fsp.mkdir(this.dir, { recursive: true });
    await atomicWriteFile(this.file(entry.id), JSON.stringify(full));
    return full;
  }

  async remove(id: string): Promise<void> {
    await fsp.rm(this.file(id), { force: true });
  }

  /**
   * Every readable entry, oldest first. A file that cannot be parsed (it was not written by this
   * store: writes are atomic) is renamed to `*.unreadable` so it is neither offered forever nor lost.
   */
  async list(): Promise<RecoveryEntry[]> {
    let names: string[];
    try {
      names = await fsp.readdir(this.dir);
    } catch {
      return [];
    }
    const entries: RecoveryEntry[] = [];
    for (const name of names) {
      const id = name.slice(0, -'.json'.length);
      if (!name.endsWith('.json') || !ID.test(id)) continue;
      const path = join(this.dir, name);
      let entry: RecoveryEntry | null;
      try {
        entry = parseEntry(JSON.parse(await fsp.readFile(path, 'utf8')), id);
      } catch {
        entry = null;
      }
      if (entry) entries.push(entry);
      else await fsp.rename(path, `${path}.unreadable`).catch(() => {});
    }
    return entries.sort((a, b) => a.updatedAt - b.updatedAt);
  }
}
