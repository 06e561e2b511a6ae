/**
 * The models service of the static build, in the engine's worker: the app's models API
 * (common/models-api.ts, the same the desktop Models panel uses) over what a browser has: the
 * embedded model served with the page, registry models downloaded from the hub into this
 * browser's storage, and model folders the user picks from disk (kept for this page's life; they
 * are the user's files, not copied). Models that do not fit in a tab are listed with the reason
 * and refused (tab-memory.ts).
 */
import { registryListFacts, type AppModelsEvents, type AppModelsMethods, type DeviceChoice, type DownloadStatus, type ModelListEntry, type ModelSelection, type ModelsMethodName, type ModelsState, type RegistryModel } from '../../common/models-api.ts';
import type { PickedFolder as Folder } from '../../common/worker-messages.ts';
import registry from '../../models/registry.json';
import { humanSize } from '../../common/limits.ts';
import { ModelError } from '../../models/src/model-config.ts';
import { pickOnnxFile } from '../../models/src/model-files.ts';
import { fetchEmbeddedModel } from './embedded-model.ts';
import type { ModelChoice, WorkerEngineHost } from './engine-host.ts';
import { DownloadError, downloadToStore } from './hub-download.ts';
import { ModelStore } from './model-store.ts';
import { tooLargeForTab } from './tab-memory.ts';

type PickedFolder = Folder<Blob>;

type Emit = <E extends keyof AppModelsEvents>(event: E, data: AppModelsEvents[E]) => void;

const REGISTRY = (registry as { models: RegistryModel[] }).models;
const isOnnxPath = (path: string) => /^onnx\/[^/]+\.onnx$/.test(path);
export const DEFAULT_HUB = 'https://huggingface.co';

interface Imported {
  entry: ModelListEntry;
  folder: PickedFolder;
}

export class BrowserModels {
  private readonly store = new ModelStore();
  private readonly downloads = new Map<string, DownloadStatus & { abort?: AbortController }>();
  private readonly imported = new Map<string, Imported>();
  private installed = new Set<string>();
  private partial = new Map<string, number>();
  private lastPicked: PickedFolder | null = null;
  private switching: ModelsState['switching'];
  private switchError: string | undefined;
  private selected: string | null = 'embedded';
  hub = DEFAULT_HUB;

  constructor(
    private readonly host: WorkerEngineHost,
    private readonly emit: Emit,
  ) {}

  /**
   * Loads the embedded model (the first model every page runs). The load starts before anything
   * else, so a call that comes before it is done waits for it instead of finding no model.
   */
  async start(): Promise<void> {
    const loaded = this.host.switchTo(this.choice('embedded')).catch(() => {});
    await this.refresh().catch(() => {});
    await loaded;
  }

  picked(folder: PickedFolder): void {
    this.lastPicked = folder;
  }

  private choice(id: string): ModelChoice {
    if (id === 'embedded') return { id, source: 'the embedded model', files: () => fetchEmbeddedModel() };
    const imported = this.imported.get(id);
    if (imported) {
      // Read on demand: a folder from the hub can hold several precisions and decoders; only the files the loader asks for are read.
      const byPath = new Map(imported.folder.files.map((f) => [f.path, f.file]));
      return {
        id,
        source: imported.folder.name,
        files: async () => ({
          read: async (path, maxBytes) => {
            const file = byPath.get(path);
            // A small file larger than it may be (a huge config.json) is refused before it is read into memory.
            if (file && maxBytes !== undefined && file.size > maxBytes) throw new ModelError(`${imported.folder.name}/${path} is ${humanSize(file.size)}; a ${path} is at most ${humanSize(maxBytes)}`);
            return file ? new Uint8Array(await file.arrayBuffer()) : undefined;
          },
          onnxPaths: [...byPath.keys()].filter(isOnnxPath),
        }),
      };
    }
    return { id, source: REGISTRY.find((m) => m.id === id)?.name ?? id, files: () => this.store.read(id) };
  }

  private async refresh(): Promise<void> {
    const installed = new Set<string>();
    const partial = new Map<string, number>();
    for (const m of REGISTRY) {
      if (await this.store.installed(m.id)) installed.add(m.id);
      else {
        const bytes = await this.store.partialBytes(m.id, m.files.map((f) => f.path));
        if (bytes) partial.set(m.id, bytes);
      }
    }
    this.installed = installed;
    this.partial = partial;
  }

  state(): ModelsState {
    const info = this.host.info;
    const embedded: ModelListEntry = {
      id: 'embedded',
      name: this.host.current?.id === 'embedded' && info ? info.name : 'Embedded model',
      source: 'embedded',
      precision: 'fp32',
      memoryBytes: 0,
      installed: true,
    };
    const hub: ModelListEntry[] = REGISTRY.map((m) => {
      const facts = registryListFacts(m);
      const tooLarge = tooLargeForTab(facts.downloadBytes, m.memoryBytes);
      const partialBytes = this.partial.get(m.id);
      return {
        ...facts,
        installed: this.installed.has(m.id),
        ...(partialBytes ? { partialBytes } : {}),
        ...(tooLarge ? { memoryWarning: tooLarge } : {}),
      };
    });
    return {
      models: [embedded, ...hub, ...[...this.imported.values()].map((i) => i.entry)],
      selected: this.selected,
      device: this.host.device,
      modelsDir: "this browser's storage for this site",
      hubEndpoint: this.hub,
      downloads: [...this.downloads.values()].map(({ abort: _abort, ...d }) => d),
      nativeFolderPicker: true,
      ...(this.switching ? { switching: this.switching } : {}),
      ...(this.switchError ? { switchError: this.switchError } : {}),
    };
  }

  private changed(): void {
    this.emit('modelsState', this.state());
  }

  private selection(): ModelSelection {
    const info = this.host.info;
    return { selected: this.selected, device: this.host.device, model: info ? { name: info.name, precision: info.precision, device: info.device, ...(info.fallbackReason ? { fallbackReason: info.fallbackReason } : {}) } : null };
  }

  private async switchTo(id: string, device: DeviceChoice): Promise<ModelSelection> {
    this.switching = { id, device };
    this.switchError = undefined;
    this.changed();
    try {
      await this.host.switchTo(this.choice(id), device);
      this.selected = id;
      return this.selection();
    } catch (e) {
      this.switchError = (e as Error).message;
      throw e;
    } finally {
      this.switching = undefined;
      this.changed();
    }
  }

  private readonly handlers: { [M in ModelsMethodName]: (p: Parameters<AppModelsMethods[M]>[0]) => Promise<ReturnType<AppModelsMethods[M]>> } = {
    modelsState: async () => {
      await this.refresh().catch(() => {});
      return this.state();
    },
    downloadModel: async ({ id }) => {
      const entry = REGISTRY.find((m) => m.id === id);
      if (!entry) throw new Error(`unknown model ${id}`);
      const tooLarge = tooLargeForTab(entry.files.reduce((n, f) => n + (f.bytes ?? f.approxBytes), 0), entry.memoryBytes);
      if (tooLarge) throw new Error(`${entry.name} is ${tooLarge}`);
      if (this.downloads.get(id)?.state === 'running') throw new Error(`${entry.name} is already downloading`);
      const abort = new AbortController();
      const status: DownloadStatus & { abort?: AbortController } = { id, state: 'running', abort };
      this.downloads.set(id, status);
      this.changed();
      try {
        await downloadToStore(this.hub, entry, this.store, abort.signal, (p) => {
          status.progress = p;
          this.emit('modelProgress', p);
        });
        status.state = 'done';
        this.installed.add(id);
        this.partial.delete(id);
        return { id, path: `browser storage: ${id}` };
      } catch (e) {
        const info = e instanceof DownloadError ? e.info : { code: 'io' as const, message: (e as Error).message };
        status.state = info.code === 'aborted' ? 'paused' : 'failed';
        if (status.state === 'failed') status.error = info;
        await this.refresh().catch(() => {});
        throw new Error(info.message, { cause: e });
      } finally {
        delete status.abort;
        this.changed();
      }
    },
    pauseDownload: async ({ id }) => {
      const d = this.downloads.get(id);
      if (d?.state !== 'running' || !d.abort) return false;
      d.abort.abort();
      return true;
    },
    importModel: async ({ id }) => {
      const folder = this.lastPicked;
      this.lastPicked = null;
      if (!folder) return null;
      const onnx = folder.files.map((f) => f.path).filter(isOnnxPath);
      const picked = pickOnnxFile(onnx);
      if (!folder.files.some((f) => f.path === 'config.json') || !picked) throw new Error(`${folder.name} is not a GPT-2 model folder: it needs config.json and onnx/model.onnx (or model_fp16.onnx, model_quantized.onnx)`);
      // What the engine would load: the ONNX file it picks, its weights beside it, config and tokenizer.
      const loaded = (path: string) => path === picked.path || path.startsWith(`${picked.path}_data`) || !path.startsWith('onnx/');
      const bytes = folder.files.reduce((n, f) => n + (loaded(f.path) ? f.file.size : 0), 0);
      const tooLarge = tooLargeForTab(bytes);
      if (tooLarge) throw new Error(`${folder.name} is ${tooLarge}`);
      const newId = id ?? `local-${folder.name.toLowerCase().replace(/[^a-z0-9._-]+/g, '-').replace(/^[^a-z0-9]+/, '').slice(0, 60) || 'model'}`;
      if (newId === 'embedded' || REGISTRY.some((m) => m.id === newId) || this.imported.has(newId)) throw new Error(`a model with the id ${newId} already exists`);
      const precision = picked.precision;
      const entry: ModelListEntry = { id: newId, name: folder.name, source: 'imported', precision, memoryBytes: Math.round(bytes * 1.5), installed: true, path: `${folder.name} (picked from disk, kept while this page is open)` };
      this.imported.set(newId, { entry, folder });
      this.changed();
      return entry;
    },
    removeModel: async ({ id }) => {
      if (id === this.selected) throw new Error(`${id} is the model in use; choose another one first`);
      if (id === 'embedded') throw new Error('the embedded model comes with the page and cannot be removed');
      if (this.imported.delete(id)) return this.changed();
      if (!REGISTRY.some((m) => m.id === id)) throw new Error(`unknown model ${id}`);
      await this.store.remove(id);
      this.downloads.delete(id);
      await this.refresh();
      this.changed();
    },
    selectModel: ({ id }) => {
      if (id !== 'embedded' && !this.imported.has(id) && !this.installed.has(id)) throw new Error(`${id} is not installed in this browser`);
      return this.switchTo(id, this.host.device);
    },
    setDevice: ({ device }) => this.switchTo(this.selected ?? 'embedded', device),
  };

  async call(call: { method: ModelsMethodName; params: unknown }): Promise<unknown> {
    return (this.handlers[call.method] as (p: unknown) => Promise<unknown>)(call.params);
  }
}
