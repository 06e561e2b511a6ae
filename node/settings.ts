/**
 * App settings in `<userData>/settings.json`, written atomically (files.ts) and read leniently:
 * a missing file gives the defaults, an unreadable one is set aside as `settings.json.corrupt`
 * (and the defaults used), and each field that is out of range falls back alone. Writes are
 * serialized, so the file always holds the latest settings. Plain Node (no Electron).
 */
import { promises as fsp } from 'node:fs';
import { dirname, isAbsolute } from 'node:path';
import { THEME_SOURCES, type ThemeSource } from '../common/shell.ts';
import { atomicWriteFile } from './files.ts';

export const MAX_RECENT_FILES = 10;

export interface WindowBounds {
  x?: number;
  y?: number;
  width: number;
  height: number;
}

export interface Settings {
  theme: ThemeSource;
  /** Most recent first, absolute paths. */
  recentFiles: string[];
  /** Autosave files that have a path (untitled work always goes to the recovery store). */
  autosave: boolean;
  /** Size and place of the last window closed. */
  windowBounds: WindowBounds | null;
  /** A model folder chosen by the writer; null for the embedded model. */
  modelDir: string | null;
  /** The model chosen in the Models panel (an id of the model manager); null: `modelDir`, else the embedded model. */
  modelId: string | null;
  /** Where the engine runs: the best available, a GPU only, or the CPU. */
  device: 'auto' | 'gpu' | 'cpu';
}

export const DEFAULT_SETTINGS: Settings = {
  theme: 'system',
  recentFiles: [],
  autosave: true,
  windowBounds: null,
  modelDir: null,
  modelId: null,
  device: 'auto',
};

const int = (v: unknown, min: number, max: number): v is number => Number.isInteger(v) && (v as number) >= min && (v as number) <= max;

/** Keeps each valid field of `raw` and the default for every other. */
export function sanitizeSettings(raw: unknown): Settings {
  const r = raw && typeof raw === 'object' ? (raw as Record<string, unknown>) : {};
  const out: Settings = { ...DEFAULT_SETTINGS, recentFiles: [] };
  if (THEME_SOURCES.includes(r.theme as ThemeSource)) out.theme = r.theme as ThemeSource;
  if (Array.isArray(r.recentFiles)) {
    out.recentFiles = [...new Set(r.recentFiles.filter((p): p is string => typeof p === 'string' && isAbsolute(p) && p.length < 4096))].slice(0, MAX_RECENT_FILES);
  }
  if (typeof r.autosave === 'boolean') out.autosave = r.autosave;
  const b = r.windowBounds as Record<string, unknown> | null | undefined;
  if (b && typeof b === 'object' && int(b.width, 200, 100_000) && int(b.height, 150, 100_000)) {
    out.windowBounds = { width: b.width, height: b.height };
    if (int(b.x, -100_000, 100_000) && int(b.y, -100_000, 100_000)) Object.assign(out.windowBounds, { x: b.x, y: b.y });
  }
  if (typeof r.modelDir === 'string' && isAbsolute(r.modelDir)) out.modelDir = r.modelDir;
  if (typeof r.modelId === 'string' && r.modelId.length <= 100 && /^[a-z0-9][a-z0-9._-]*$/.test(r.modelId)) out.modelId = r.modelId;
  if (r.device === 'auto' || r.device === 'gpu' || r.device === 'cpu') out.device = r.device;
  return out;
}

export class SettingsStore {
  private current: Settings;
  private writing: Promise<void> = Promise.resolve();
  private readonly listeners = new Set<(s: Settings) => void>();
  /** Set when the file could not be read as settings (and was set aside). */
  readonly loadProblem: string | null;

  private constructor(
    readonly path: string,
    initial: Settings,
    loadProblem: string | null,
  ) {
    this.current = initial;
    this.loadProblem = loadProblem;
  }

  static async load(path: string): Promise<SettingsStore> {
    let text: string;
    try {
      text = await fsp.readFile(path, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return new SettingsStore(path, sanitizeSettings({}), null);
      return new SettingsStore(path, sanitizeSettings({}), `could not read settings (${(e as Error).message}); using defaults`);
    }
    try {
      return new SettingsStore(path, sanitizeSettings(JSON.parse(text)), null);
    } catch {
      await fsp.rename(path, `${path}.corrupt`).catch(() => {});
      return new SettingsStore(path, sanitizeSettings({}), `settings.json was unreadable and was set aside as settings.json.corrupt; using defaults`);
    }
  }

  get(): Settings {
    return structuredClone(this.current);
  }

  onChange(fn: (s: Settings) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** Applies `patch` (sanitized) at once and writes the file; resolves when it is on disk. */
  update(patch: Partial<Settings>): Promise<void> {
    this.current = sanitizeSettings({ ...this.current, ...patch });
    const snapshot = JSON.stringify(this.current, null, 2) + '\n';
    for (const fn of this.listeners) fn(this.get());
    this.writing = this.writing
      .catch(() => {})
      .then(async () => {
        await fsp.mkdir(dirname(this.path), { recursive: true });
        await atomicWriteFile(this.path, snapshot);
      });
    return this.writing;
  }

  /** Puts `path` first in the recent files. */
  addRecent(path: string): Promise<void> {
    return this.update({ recentFiles: [path, ...this.current.recentFiles.filter((p) => p !== path)] });
  }

  removeRecent(path: string): Promise<void> {
    return this.update({ recentFiles: this.current.recentFiles.filter((p) => p !== path) });
  }

  /** Resolves when every write so far is on disk. */
  flush(): Promise<void> {
    return this.writing.catch(() => {});
  }
}
