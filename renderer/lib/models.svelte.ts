/**
 * The Models panel's state: every model with its size, memory and warnings, downloads with
 * progress (bytes, speed, time left), pause and resume, import, removal, the model in use and the
 * device. Talks to the shell through `ModelsClient` (common/models-api.ts): Electron's preload
 * bridge or the local server's WebSocket. Switching the model or the device restarts the engine;
 * the editor keeps its text and receives the new scores as events, like after an engine restart.
 */
import type { ModelInfo } from '../../common/api.ts';
import {
  formatBytes,
  formatDuration,
  type DeviceChoice,
  type DownloadProgress,
  type DownloadStatus,
  type ModelListEntry,
  type ModelsClient,
  type ModelsState,
} from '../../common/models-api.ts';
import type { Notice } from '../../common/shell.ts';

/** What a row of the panel can offer now. */
export type ModelAction = 'use' | 'download' | 'pause' | 'resume' | 'remove';

export interface ModelRow {
  entry: ModelListEntry;
  inUse: boolean;
  /** One line: "In use", "Installed", "Not downloaded", "Paused at 12 MB of 30 MB", "Downloading…". */
  status: string;
  download?: DownloadStatus;
  progress?: DownloadProgress;
  actions: ModelAction[];
}

export const DEVICE_LABELS: Record<DeviceChoice, string> = { auto: 'Auto', gpu: 'GPU', cpu: 'CPU' };

/** Engine devices that are the CPU: onnxruntime-node's 'cpu', and WebAssembly in a browser tab. */
const CPU_DEVICES: Record<string, string> = { cpu: 'CPU', wasm: 'CPU (WebAssembly)' };

/** "CPU", "CPU (WebAssembly)", "GPU (cuda)", "GPU (webgpu)". */
export function deviceLabel(device: string): string {
  return CPU_DEVICES[device] ?? `GPU (${device})`;
}

/** "12.3 MB of 30.1 MB · 5.2 MB/s · 0:03 left" (or the phase while not transferring). */
export function progressText(p: DownloadProgress): string {
  switch (p.phase) {
    case 'connecting':
      return 'Connecting to the hub…';
    case 'verifying':
      return 'Verifying the files…';
    case 'installing':
      return 'Installing…';
    case 'done':
      return `Done: ${formatBytes(p.totalBytes)}`;
    default: {
      const total = p.totalBytes > 0 ? ` of ${formatBytes(p.totalBytes)}` : '';
      const speed = p.bytesPerSecond > 0 ? ` · ${formatBytes(p.bytesPerSecond)}/s` : '';
      return `${formatBytes(p.bytes)}${total}${speed} · ${formatDuration(p.etaSeconds)} left`;
    }
  }
}

export class ModelsPanelState {
  open = $state(false);
  state = $state.raw<ModelsState | null>(null);
  /** Newest progress of each download, by model id. */
  progress = $state.raw<Record<string, DownloadProgress>>({});
  error = $state<string | null>(null);
  /** Set while a model or device switch runs (a line for the panel). */
  busy = $state<string | null>(null);
  /** Web mode: the folder path typed for an import. */
  importPath = $state('');
  importCopy = $state(false);
  /** The row whose Remove button asks for a second click. */
  confirmRemove = $state<string | null>(null);

  constructor(
    readonly client: ModelsClient | null,
    private readonly notify: (notice: Notice) => void,
  ) {
    if (!client) return;
    client.on('modelsState', (s) => (this.state = s));
    client.on('modelProgress', (p) => (this.progress = { ...this.progress, [p.id]: p }));
  }

  get available(): boolean {
    return this.client !== null;
  }

  show(): void {
    this.open = true;
    void this.refresh();
  }

  hide(): void {
    this.open = false;
    this.confirmRemove = null;
  }

  toggle(): void {
    if (this.open) this.hide();
    else this.show();
  }

  async refresh(): Promise<void> {
    if (!this.client) return;
    try {
      this.state = await this.client.call('modelsState', {});
    } catch (e) {
      this.error = (e as Error).message;
    }
  }

  /** The rows of the panel, in the order of the list (embedded, registry, imported). */
  get rows(): ModelRow[] {
    const s = this.state;
    if (!s) return [];
    return s.models.map((entry) => {
      const download = s.downloads.find((d) => d.id === entry.id);
      const progress = this.progress[entry.id] ?? download?.progress;
      const inUse = s.selected === entry.id;
      const running = download?.state === 'running';
      let status: string;
      const actions: ModelAction[] = [];
      if (inUse) status = 'In use';
      else if (entry.installed) status = entry.source === 'embedded' ? 'Built in' : 'Installed';
      else if (entry.source === 'imported') status = `Missing: ${entry.path ?? ''}`;
      else if (running) status = progress ? progressText(progress) : 'Starting…';
      else if (download?.state === 'failed' && download.error?.code === 'network') status = `Stopped: the hub did not answer${entry.partialBytes ? ` (${formatBytes(entry.partialBytes)} kept)` : ''}`;
      else if (download?.state === 'failed') status = `Failed: ${download.error?.message ?? 'unknown error'}`;
      else if (download?.state === 'paused' || entry.partialBytes) {
        const bytes = progress?.bytes ?? entry.partialBytes ?? 0;
        status = `Paused at ${formatBytes(bytes)}${entry.downloadBytes ? ` of ${formatBytes(entry.downloadBytes)}` : ''}`;
      } else status = 'Not downloaded';
      if (entry.installed && !inUse) actions.push('use');
      if (!entry.installed && entry.source === 'hub') {
        if (running) actions.push('pause');
        else if (download?.state === 'paused' || entry.partialBytes || download?.error?.code === 'network') actions.push('resume');
        else actions.push('download');
      }
      if (entry.source !== 'embedded' && !inUse && !running && (entry.installed || entry.partialBytes || entry.source === 'imported')) actions.push('remove');
      return { entry, inUse, status, ...(download ? { download } : {}), ...(progress ? { progress } : {}), actions };
    });
  }

  async download(id: string): Promise<void> {
    if (!this.client) return;
    this.error = null;
    try {
      const { id: done } = await this.client.call('downloadModel', { id });
      this.notify({ level: 'info', message: `Downloaded ${this.name(done)}.` });
    } catch (e) {
      // A pause is not an error: the row says "Paused at …" and offers Resume.
      const d = this.state?.downloads.find((x) => x.id === id);
      if (d?.state === 'paused') return;
      // No connection: one line that says what to do, whichever file it stopped at (the row offers Resume).
      const hub = this.state?.hubEndpoint?.replace(/^https?:\/\//, '').replace(/\/.*$/, '') ?? 'the model hub';
      this.error = d?.error?.code === 'network' ? `Can't reach ${hub}: you may be offline. Resume once you are back online (what was downloaded is kept), or import a model folder below.` : (e as Error).message;
    }
  }

  async pause(id: string): Promise<void> {
    if (!this.client) return;
    try {
      await this.client.call('pauseDownload', { id });
    } catch (e) {
      this.error = (e as Error).message;
    }
  }

  /** Switches the engine to `id`; the open document is re-scored under it. */
  async use(id: string): Promise<void> {
    if (!this.client || this.busy) return;
    this.error = null;
    this.busy = `Loading ${this.name(id)}…`;
    try {
      const sel = await this.client.call('selectModel', { id });
      this.notify({ level: 'info', message: `Now using ${sel.model?.name ?? this.name(id)}.` });
    } catch (e) {
      this.error = (e as Error).message;
    } finally {
      this.busy = null;
    }
  }

  async setDevice(device: DeviceChoice): Promise<void> {
    if (!this.client || this.busy || this.state?.device === device) return;
    this.error = null;
    this.busy = `Restarting the engine on ${device === 'auto' ? 'the best device' : DEVICE_LABELS[device]}…`;
    try {
      await this.client.call('setDevice', { device });
    } catch (e) {
      this.error = (e as Error).message;
    } finally {
      this.busy = null;
    }
  }

  /** Electron: a native folder picker; web: the typed path. */
  async importFolder(): Promise<void> {
    if (!this.client || !this.state) return;
    this.error = null;
    const dir = this.importPath.trim();
    if (!this.state.nativeFolderPicker && !dir) {
      this.error = 'Type the path of a model folder (config.json, tokenizer and onnx/model*.onnx).';
      return;
    }
    try {
      const entry = await this.client.call('importModel', { ...(dir ? { dir } : {}), ...(this.importCopy ? { copy: true } : {}) });
      if (entry) {
        this.importPath = '';
        this.notify({ level: 'info', message: `Imported ${entry.name} as ${entry.id}.` });
      }
    } catch (e) {
      this.error = (e as Error).message;
    }
  }

  /** The first click asks, the second removes. */
  async remove(id: string): Promise<void> {
    if (!this.client) return;
    if (this.confirmRemove !== id) {
      this.confirmRemove = id;
      return;
    }
    this.confirmRemove = null;
    this.error = null;
    try {
      await this.client.call('removeModel', { id });
      this.notify({ level: 'info', message: `Removed ${this.name(id)}.` });
    } catch (e) {
      this.error = (e as Error).message;
    }
  }

  private name(id: string): string {
    return this.state?.models.find((m) => m.id === id)?.name ?? id;
  }
}

/** Why the GPU is not used, for the device setting (undefined when it is, or when unknown). */
export function gpuNote(model: ModelInfo | null): string | undefined {
  if (!model || !(model.device in CPU_DEVICES)) return undefined;
  return model.fallbackReason ?? 'no GPU provider was found';
}
