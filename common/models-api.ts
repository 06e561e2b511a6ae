/**
 * The typed API of the model manager (models/manager/): what the CLI, the Electron main process
 * and the renderer exchange about installed and downloadable models. Environment-neutral: no
 * Node, no DOM, no imports. Every value here is plain JSON, so it crosses IPC unchanged.
 */

export type ModelPrecision = 'fp32' | 'fp16' | 'int8';
export type ModelSize = 'small' | 'medium' | 'large' | 'xl';

/** Where an entry comes from: shipped with the app, the registry (Hugging Face hub), or a folder the user imported. */
export type ModelSource = 'embedded' | 'hub' | 'imported';

export interface ModelListEntry {
  /** Stable id, e.g. "gpt2-small-fp32", "embedded", "local-my-export". */
  id: string;
  name: string;
  source: ModelSource;
  size?: ModelSize;
  precision: ModelPrecision;
  /** "owner/name" on the hub, for registry entries. */
  repo?: string;
  /** Bytes to download (registry entries; approximate where the hub lists rounded sizes). */
  downloadBytes?: number;
  /** Memory the engine needs to run it (weights plus working memory), approximate. */
  memoryBytes: number;
  /** Installed and ready to load. */
  installed: boolean;
  /** The model folder, when installed. */
  path?: string;
  /** Bytes already downloaded by an interrupted download that `download(id)` will resume. */
  partialBytes?: number;
  /** Set when this machine probably lacks the memory to run the model. */
  memoryWarning?: string;
}

export type DownloadPhase = 'connecting' | 'downloading' | 'verifying' | 'installing' | 'done';

/** Progress of one model download, emitted often (at most every ~100 ms) and at each phase change. */
export interface DownloadProgress {
  id: string;
  phase: DownloadPhase;
  /** The file in flight (path inside the model folder, e.g. "onnx/model.onnx_data"). */
  file: string;
  fileIndex: number;
  fileCount: number;
  /** Bytes of the whole model on disk so far (resumed bytes included) and in total (0 while unknown). */
  bytes: number;
  totalBytes: number;
  /** Bytes resumed from an earlier interrupted download (not counted in the speed). */
  resumedBytes: number;
  /** Moving average over the last seconds of this download. */
  bytesPerSecond: number;
  /** null while the speed is unknown. */
  etaSeconds: number | null;
}

/**
 * Why a model operation failed. `message` is one line meant for the user.
 * - network: the hub could not be reached or the connection broke (retry resumes).
 * - not-found: 404 for a file or repo.
 * - http: any other HTTP error status.
 * - disk-full: ENOSPC while writing (the partial download is kept; free space and retry).
 * - io: any other file-system failure (permissions, read-only disk).
 * - checksum: a file's SHA-256 did not match; it was deleted and not installed.
 * - changed: the file on the server changed during the download; that file restarts.
 * - aborted: paused or cancelled through the AbortSignal (the partial download is kept).
 * - invalid-model: an imported or downloaded folder is not a usable GPT-2 model.
 * - unknown-model, in-use, exists, busy: bad id, removing the active model, duplicate import,
 *   a download of the same id already running.
 */
export type ModelErrorCode =
  | 'network'
  | 'not-found'
  | 'http'
  | 'disk-full'
  | 'io'
  | 'checksum'
  | 'changed'
  | 'aborted'
  | 'invalid-model'
  | 'unknown-model'
  | 'in-use'
  | 'exists'
  | 'busy';

export interface ModelErrorInfo {
  code: ModelErrorCode;
  message: string;
}

/**
 * The manager's methods as an IPC surface (models/manager/manager.ts implements each one). Download
 * progress arrives as `modelProgress` events carrying the download id; `pauseDownload(id)` stops a
 * download and keeps its partial files, and the next `download(id)` resumes them.
 */
export interface ModelManagerMethods {
  list(params: Record<string, never>): ModelListEntry[];
  download(params: { id: string }): { id: string; path: string };
  /** false when no download of `id` was running. */
  pauseDownload(params: { id: string }): boolean;
  import(params: { dir: string; id?: string; copy?: boolean }): ModelListEntry;
  remove(params: { id: string }): void;
  resolve(params: { id: string }): string;
}

export interface ModelManagerEvents {
  modelProgress: DownloadProgress;
}

/** "1.4 GB", "512 MB", "3.2 kB" (decimal units, as the hub shows them). */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 0) return '?';
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let v = bytes;
  let i = 0;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${i === 0 ? v.toFixed(0) : v >= 100 ? v.toFixed(0) : v.toFixed(1)} ${units[i]}`;
}

/** "1:05:09", "4:03", "0:07"; "--:--" when unknown. */
export function formatDuration(seconds: number | null): string {
  if (seconds === null || !Number.isFinite(seconds) || seconds < 0) return '--:--';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${sec}` : `${m}:${sec}`;
}
