/**
 * The typed API of the model manager (models/manager/): what the CLI, the Electron main process
 * and the renderer exchange about installed and downloadable models. Environment-neutral: no
 * Node, no DOM, no imports outside common/. Every value here is plain JSON, so it crosses IPC unchanged.
 */
import { callValidator, type RpcClient, type RpcParams, type RpcResult } from './rpc.ts';

export type ModelPrecision = 'fp32' | 'fp16' | 'int8';
export type ModelSize = 'small' | 'medium' | 'large' | 'xl';

/** Where an entry comes from: shipped with the app, the registry (Hugging Face hub), or a folder the user imported. */
export type ModelSource = 'embedded' | 'hub' | 'imported';

/** An entry of models/registry.json: a GPT-2 ONNX model on the hub (read by the manager and by the browser build). */
export interface RegistryFile {
  /** Path inside the repo and inside the installed model folder. */
  path: string;
  /** Exact size in bytes, or null when not known ahead (the hub's X-Linked-Size/Content-Length is used). */
  bytes: number | null;
  /** For display before the download starts (the hub's file pages round sizes). */
  approxBytes: number;
  /** Lower-case hex SHA-256, or null (then the hub's ETag is the checksum). */
  sha256: string | null;
}

export interface RegistryModel {
  id: string;
  name: string;
  size: ModelSize;
  precision: ModelPrecision;
  repo: string;
  revision: string;
  memoryBytes: number;
  files: RegistryFile[];
}

/** What the models list says of a registry entry, wherever the list is made (the manager, the browser's models service). */
export function registryListFacts(m: RegistryModel): Pick<ModelListEntry, 'id' | 'name' | 'source' | 'size' | 'precision' | 'repo' | 'memoryBytes'> & { downloadBytes: number } {
  return { id: m.id, name: m.name, source: 'hub', size: m.size, precision: m.precision, repo: m.repo, downloadBytes: m.files.reduce((n, f) => n + (f.bytes ?? f.approxBytes), 0), memoryBytes: m.memoryBytes };
}

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
  /**
   * Set when the entry cannot be used as it is (its likely-model.json is missing fields, not JSON,
   * or not a file): why, in one line, with what to do. Such an entry is never `installed`.
   */
  problem?: string;
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
 * - unverifiable: the hub gives no size or no checksum for a file, so nothing was downloaded or installed.
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
  | 'unverifiable'
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

// ------------------------------------------------------------------------------------------------
// The app's models API: what the renderer's Models panel asks of the shell (Electron main over
// IPC, or the local web server over its WebSocket). Both transports validate every call with
// `validateModelsCall` and implement the methods with the same service (models/service/models-service.ts).

/** Where the engine runs: the best available provider, a GPU only (an error when none works), or the CPU. */
export type DeviceChoice = 'auto' | 'gpu' | 'cpu';
export const DEVICE_CHOICES: readonly DeviceChoice[] = ['auto', 'gpu', 'cpu'];

/** A download the app started: running, paused (partial files kept; downloading again resumes), failed, or done. */
export interface DownloadStatus {
  id: string;
  state: 'running' | 'paused' | 'failed' | 'done';
  /** The newest progress report, once there is one. */
  progress?: DownloadProgress;
  /** Why it stopped, for 'failed'. */
  error?: ModelErrorInfo;
  /** Things worth telling that are not errors ("a file changed on the server; restarting it"). */
  notice?: string;
}

/** Everything the Models panel shows. */
export interface ModelsState {
  /** Embedded, registry (installed or not, with sizes, memory and warnings) and imported models. */
  models: ModelListEntry[];
  /** The model the engine is set to use (an id of `models`), or null for a folder given on the command line. */
  selected: string | null;
  device: DeviceChoice;
  /** Where downloads and copied imports go. */
  modelsDir: string;
  /** The hub downloads come from: HF_ENDPOINT (a mirror, a test's local hub) when set, else https://huggingface.co. */
  hubEndpoint?: string;
  /** Downloads started in this session (newest progress each); paused ones from earlier sessions show as `partialBytes` in `models`. */
  downloads: DownloadStatus[];
  /** `importModel` without a `dir` opens a native folder picker (Electron); the web page must send a path. */
  nativeFolderPicker: boolean;
  /** Set while the engine is switching to another model or device. */
  switching?: { id: string | null; device: DeviceChoice };
  /** The last switch that did not load, one line (the previous model is back). */
  switchError?: string;
}

/** The result of selectModel / setDevice: what the engine runs now (null when no engine is open). */
export interface ModelSelection {
  selected: string | null;
  device: DeviceChoice;
  /** The engine's own view: name, precision, the device actually used and why a GPU was not. */
  model: { name: string; precision: ModelPrecision; device: string; fallbackReason?: string } | null;
}

export interface AppModelsMethods {
  modelsState(params: Record<string, never>): ModelsState;
  /** Resolves when the model is installed (progress arrives as `modelProgress` events); rejects when paused or failed. */
  downloadModel(params: { id: string }): { id: string; path: string };
  /** Pauses a running download (its partial files stay); false when none was running. */
  pauseDownload(params: { id: string }): boolean;
  /** Imports a model folder (validated first). Without `dir`, a native folder picker asks; null when cancelled. */
  importModel(params: { dir?: string; id?: string; copy?: boolean }): ModelListEntry | null;
  removeModel(params: { id: string }): void;
  /** Switches the engine to model `id`; the open document is re-scored. Rejects (and the previous model stays) when it does not load. */
  selectModel(params: { id: string }): ModelSelection;
  /** Restarts the engine on another device; rejects (and the previous device stays) when it cannot run there. */
  setDevice(params: { device: DeviceChoice }): ModelSelection;
}

export interface AppModelsEvents {
  modelProgress: DownloadProgress;
  /** The whole state again after any change (a download step, a switch, an import, a removal). */
  modelsState: ModelsState;
}

export type ModelsMethodName = keyof AppModelsMethods;
export type ModelsParamsOf<M extends ModelsMethodName> = RpcParams<AppModelsMethods, M>;
export type ModelsResultOf<M extends ModelsMethodName> = RpcResult<AppModelsMethods, M>;

/** The renderer's handle on the models API (window.likelyModels in Electron, the WebSocket client in web mode). */
export type ModelsClient = RpcClient<AppModelsMethods, AppModelsEvents>;

export const MODELS_METHODS: readonly ModelsMethodName[] = ['modelsState', 'downloadModel', 'pauseDownload', 'importModel', 'removeModel', 'selectModel', 'setDevice'];

const MODEL_ID = /^[a-z0-9][a-z0-9._-]*$/;
const isModelId = (v: unknown): v is string => typeof v === 'string' && v.length <= 100 && MODEL_ID.test(v);
/** An absolute path on any platform: /x, C:\x or C:/x, \\server\share. */
export const isAbsolutePath = (v: unknown): v is string =>
  typeof v === 'string' && v.length > 0 && v.length <= 4096 && !v.includes('\0') && (v.startsWith('/') || /^[A-Za-z]:[\\/]/.test(v) || v.startsWith('\\\\'));

const MODELS_PARAMS: Record<ModelsMethodName, (p: Record<string, unknown>) => string | null> = {
  modelsState: () => null,
  downloadModel: (p) => (isModelId(p.id) ? null : 'id must be a model id'),
  pauseDownload: (p) => (isModelId(p.id) ? null : 'id must be a model id'),
  importModel: (p) =>
    p.dir !== undefined && !isAbsolutePath(p.dir)
      ? 'dir must be an absolute folder path'
      : p.id !== undefined && !isModelId(p.id)
        ? 'id must be lower-case letters, digits, ".", "_" or "-"'
        : p.copy !== undefined && typeof p.copy !== 'boolean'
          ? 'copy must be true or false'
          : null,
  removeModel: (p) => (isModelId(p.id) ? null : 'id must be a model id'),
  selectModel: (p) => (isModelId(p.id) ? null : 'id must be a model id'),
  setDevice: (p) => (DEVICE_CHOICES.includes(p.device as DeviceChoice) ? null : 'device must be auto, gpu or cpu'),
};

/** Checks a models call from a page before anything acts on it. Throws CallError with one line. */
export const validateModelsCall = callValidator<ModelsMethodName>('models', MODELS_PARAMS);
