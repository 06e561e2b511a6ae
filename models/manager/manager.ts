/**
 * The model manager: which GPT-2 models exist (registry, embedded, imported), downloading them
 * safely, importing local folders, removing them, and resolving an id to the folder the engine loads.
 *
 * Models folder layout (LIKELY_MODELS_DIR, the `modelsDir` option, or the platform default):
 *   <id>/                    an installed model: the model files + likely-model.json (written last,
 *                            before the folder is renamed into place, so a folder here is complete)
 *   .staging/<id>/           a download or copy in progress: verified files, <file>.partial(.json)
 *                            for the file in flight, likely-download.json (pinned commit, done files)
 *   .staging/<id>.lock       the pid downloading it
 *   .trash/                  removed models on their way out (renamed first, then deleted)
 * Staging and trash live inside the models folder so every move is a rename on one file system:
 * the models folder never holds a half-written model.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { cp, mkdir, readFile, rename, rm, stat, statfs, writeFile, open as openFile } from 'node:fs/promises';
import { freemem, homedir, platform, totalmem } from 'node:os';
import { basename, dirname, join, resolve as resolvePath } from 'node:path';
import type { DownloadPhase, DownloadProgress, ModelListEntry, ModelPrecision, ModelSize } from '../../common/models-api.ts';
import { formatBytes, registryListFacts } from '../../common/models-api.ts';
import { readRegularFileSync } from '../../node/files.ts';
import { modelFileProblem, printableName } from '../src/model-folder.ts';
import { EMBEDDED_MODEL_DIR } from '../src/paths.ts';
import { downloadFile, expectedChecksum, headRemote, checkRemoteAgainstRegistry, type DownloadedFile, type RemoteFile } from './download.ts';
import { asManagerError, ModelManagerError } from './errors.ts';
import { hubEndpoint, loadRegistry, resolveUrl, type RegistryModel } from './registry.ts';
import { validateModelFolder } from './validate.ts';

export const MANIFEST = 'likely-model.json';
const DOWNLOAD_STATE = 'likely-download.json';
const STAGING = '.staging';
const TRASH = '.trash';
export const EMBEDDED_ID = 'embedded';
/** Files of a model folder that are not the model (engine caches, our bookkeeping). */
const NOT_MODEL_FILE = /^(\.likely-|likely-download\.json$)|\.partial(\.json)?$/;
/** A likely-model.json is a few kilobytes; anything far larger is not one. */
const MAX_MANIFEST_BYTES = 1024 * 1024;

export interface InstalledManifest {
  id: string;
  name: string;
  source: 'hub' | 'imported';
  precision: ModelPrecision;
  size?: ModelSize;
  repo?: string;
  /** The commit the files were downloaded from. */
  revision?: string;
  /** An import by reference: the user's folder, used in place. */
  path?: string;
  memoryBytes: number;
  files: { path: string; bytes: number; sha256?: string; verifiedBy?: string }[];
  installedAt: string;
}

interface DownloadState {
  id: string;
  repo: string;
  /** The commit every file is fetched from, pinned by the first HEAD (X-Repo-Commit). */
  revision: string | null;
  done: Record<string, DownloadedFile>;
}

export interface ModelManagerOptions {
  /** Where models are installed; default LIKELY_MODELS_DIR or the platform's data folder. */
  modelsDir?: string;
  registry?: RegistryModel[];
  /** Hub base URL; default HF_ENDPOINT or https://huggingface.co. */
  endpoint?: string;
  /** Sent as a bearer token to the hub (not to its CDN); default HF_TOKEN. */
  token?: string;
  embeddedDir?: string;
  /** Memory figures for the warnings (tests pass their own). */
  memory?: () => { total: number; free: number };
  /** The app says which model is loaded, so it is not removed under the engine. */
  isInUse?: (id: string) => boolean;
  /** How long the hub may send nothing (no answer, no bytes) before a download fails; default 30 s (tests pass less). */
  stallTimeoutMs?: number;
}

export interface DownloadOptions {
  onProgress?: (progress: DownloadProgress) => void;
  /** Pauses the download: the partial files stay and the next download(id) resumes them. */
  signal?: AbortSignal;
  /** Things worth telling the user that are not errors, e.g. "a file changed on the server; restarting it". */
  onNotice?: (message: string) => void;
}

export interface ImportOptions {
  /** Default: "local-" + the folder's name. */
  id?: string;
  /** Copy the files into the models folder (default: use the folder in place). */
  copy?: boolean;
}

/** ~/.local/share/likely/models, ~/Library/Application Support/likely/models, %APPDATA%\likely\models. */
export function defaultModelsDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.LIKELY_MODELS_DIR) return resolvePath(env.LIKELY_MODELS_DIR);
  const home = homedir();
  switch (platform()) {
    case 'darwin':
      return join(home, 'Library', 'Application Support', 'likely', 'models');
    case 'win32':
      return join(env.APPDATA ?? join(home, 'AppData', 'Roaming'), 'likely', 'models');
    default:
      return join(env.XDG_DATA_HOME || join(home, '.local', 'share'), 'likely', 'models');
  }
}

/** Weights plus working memory (activations, the 256-token logits of a step, ORT's arena). */
export function estimateMemory(onnxBytes: number): number {
  return Math.round(onnxBytes * 1.25 + 0.3e9);
}

function slug(name: string): string {
  return (
    name
      .toLowerCase()
      .replace(/[^a-z0-9._-]+/g, '-')
      .replace(/^[-.]+|-+$/g, '')
      .slice(0, 60) || 'model'
  );
}

class ProgressTracker {
  private samples: { t: number; bytes: number }[] = [];
  private lastEmit = 0;
  private sessionBytes = 0;
  phase: DownloadPhase = 'connecting';
  file = '';
  fileIndex = 0;
  bytes = 0;
  resumedBytes = 0;

  constructor(
    private readonly id: string,
    readonly fileCount: number,
    public totalBytes: number,
    private readonly emit?: (p: DownloadProgress) => void,
  ) {}

  add(n: number): void {
    this.bytes += n;
    this.sessionBytes += n;
    this.report(false);
  }

  reset(bytesBefore: number, bytesNow: number): void {
    this.bytes += bytesNow - bytesBefore;
    this.report(true);
  }

  setPhase(phase: DownloadPhase, file = this.file, fileIndex = this.fileIndex): void {
    this.phase = phase;
    this.file = file;
    this.fileIndex = fileIndex;
    this.report(true);
  }

  private speed(now: number): number {
    // Moving window of the last 5 s of this session's transfer (resumed bytes do not count).
    this.samples.push({ t: now, bytes: this.sessionBytes });
    while (this.samples.length > 2 && now - this.samples[0]!.t > 5000) this.samples.shift();
    const first = this.samples[0]!;
    const dt = (now - first.t) / 1000;
    return dt > 0.2 ? (this.sessionBytes - first.bytes) / dt : 0;
  }

  report(force: boolean): void {
    const now = performance.now();
    const bytesPerSecond = this.speed(now);
    if (!this.emit || (!force && now - this.lastEmit < 100)) return;
    this.lastEmit = now;
    const left = Math.max(0, this.totalBytes - this.bytes);
    this.emit({
      id: this.id,
      phase: this.phase,
      file: this.file,
      fileIndex: this.fileIndex,
      fileCount: this.fileCount,
      bytes: this.bytes,
      totalBytes: this.totalBytes,
      resumedBytes: this.resumedBytes,
      bytesPerSecond,
      etaSeconds: this.phase === 'done' ? 0 : bytesPerSecond > 0 ? left / bytesPerSecond : null,
    });
  }
}

export class ModelManager {
  readonly modelsDir: string;
  readonly registry: RegistryModel[];
  readonly endpoint: string;
  private readonly token?: string;
  private readonly embeddedDir: string;
  private readonly memory: () => { total: number; free: number };
  private readonly isInUse: (id: string) => boolean;
  private readonly stallMs: number | undefined;
  private readonly active = new Map<string, AbortController>();

  constructor(opts: ModelManagerOptions = {}) {
    this.modelsDir = resolvePath(opts.modelsDir ?? defaultModelsDir());
    this.registry = opts.registry ?? loadRegistry();
    this.endpoint = (opts.endpoint ?? hubEndpoint()).replace(/\/+$/, '');
    this.token = opts.token ?? (process.env.HF_TOKEN || undefined);
    this.embeddedDir = opts.embeddedDir ?? EMBEDDED_MODEL_DIR;
    this.memory = opts.memory ?? (() => ({ total: totalmem(), free: freemem() }));
    this.isInUse = opts.isInUse ?? (() => false);
    this.stallMs = opts.stallTimeoutMs;
  }

  /**
   * `<under>/<id>` for an id that came from outside (CLI, the app's models API, the registry),
   * after checking that it is one plain name that stays inside `under`: never "..", a path, an
   * absolute path or a hidden name, so no command can reach a folder outside the models folder.
   */
  private inside(under: string, id: string): string {
    const path = resolvePath(under, id);
    if (typeof id !== 'string' || !id || id.startsWith('.') || /[/\\\0]/.test(id) || dirname(path) !== resolvePath(under)) {
      throw new ModelManagerError('unknown-model', `${JSON.stringify(id)} is not a model id (ids are plain names like gpt2-small-fp32; likely models list shows them)`);
    }
    return path;
  }

  private staging(id: string): string {
    return this.inside(join(this.modelsDir, STAGING), id);
  }

  private folder(id: string): string {
    return this.inside(this.modelsDir, id);
  }

  /** The folder's likely-model.json: null when there is none, `problem` when it cannot be used (what is wrong, one line). */
  private readManifest(id: string): { manifest: InstalledManifest } | { problem: string } | null {
    const path = join(this.folder(id), MANIFEST);
    if (!existsSync(path)) return null;
    let raw: unknown;
    try {
      raw = JSON.parse(readRegularFileSync(path, MAX_MANIFEST_BYTES).toString('utf8'));
    } catch (e) {
      if (e instanceof SyntaxError) return { problem: `${MANIFEST} is not valid JSON (${e.message.split('\n')[0]})` };
      return { problem: modelFileProblem(e, MANIFEST, MAX_MANIFEST_BYTES) };
    }
    const problem = manifestProblem(raw);
    return problem ? { problem: `${MANIFEST}: ${problem}` } : { manifest: raw as InstalledManifest };
  }

  private manifest(id: string): InstalledManifest | null {
    const read = this.readManifest(id);
    return read && 'manifest' in read ? read.manifest : null;
  }

  private installedIds(): string[] {
    if (!existsSync(this.modelsDir)) return [];
    return readdirSync(this.modelsDir, { withFileTypes: true })
      .filter((d) => d.isDirectory() && !d.name.startsWith('.') && existsSync(join(this.modelsDir, d.name, MANIFEST)))
      .map((d) => d.name)
      .sort();
  }

  /** Why this machine may not run a model of `bytes` memory, or undefined. */
  memoryWarning(bytes: number): string | undefined {
    const { total, free } = this.memory();
    if (bytes > total * 0.85) return `needs about ${formatBytes(bytes)} of memory; this machine has ${formatBytes(total)} in all`;
    if (bytes > free) return `needs about ${formatBytes(bytes)} of memory; ${formatBytes(free)} is free now (close other programs first)`;
    return undefined;
  }

  private partialBytes(id: string): number {
    const dir = this.staging(id);
    if (!existsSync(dir)) return 0;
    let total = 0;
    const walk = (d: string) => {
      for (const e of readdirSync(d, { withFileTypes: true })) {
        const p = join(d, e.name);
        if (e.isDirectory()) walk(p);
        else if (e.name !== DOWNLOAD_STATE && !e.name.endsWith('.partial.json')) total += sizeOnDiskStat(p);
      }
    };
    walk(dir);
    return total;
  }

  /** Every model: embedded, the registry's (installed or not), and imported ones. */
  list(): ModelListEntry[] {
    const out: ModelListEntry[] = [];
    const embeddedOnnx = join(this.embeddedDir, 'onnx', 'model.onnx');
    const embeddedMemory = estimateMemory(sizeOnDiskStat(embeddedOnnx));
    out.push({
      id: EMBEDDED_ID,
      name: embeddedName(this.embeddedDir),
      source: 'embedded',
      precision: 'fp32',
      memoryBytes: embeddedMemory,
      installed: existsSync(embeddedOnnx),
      path: this.embeddedDir,
    });
    for (const m of this.registry) {
      const read = this.readManifest(m.id);
      const manifest = read && 'manifest' in read ? read.manifest : null;
      const partial = manifest ? 0 : this.partialBytes(m.id);
      const warning = this.memoryWarning(m.memoryBytes);
      out.push({
        ...registryListFacts(m),
        installed: manifest !== null,
        ...(read ? { path: this.folder(m.id) } : {}),
        ...(partial > 0 ? { partialBytes: partial } : {}),
        ...(warning ? { memoryWarning: warning } : {}),
        ...(read && 'problem' in read ? { problem: `${read.problem}; remove it (likely models remove ${m.id}) and download it again` } : {}),
      });
    }
    const known = new Set(out.map((e) => e.id));
    for (const id of this.installedIds()) {
      if (known.has(id)) continue;
      const read = this.readManifest(id);
      if (!read) continue;
      if ('problem' in read) {
        // Listed with what can be said of it, so one broken folder never hides the others.
        out.push({ id, name: id, source: 'imported', precision: 'fp32', memoryBytes: 0, installed: false, path: this.folder(id), problem: `${read.problem}; remove it (likely models remove ${id}) and import it again` });
        continue;
      }
      const m = read.manifest;
      const warning = this.memoryWarning(m.memoryBytes);
      out.push({
        id,
        name: printableName(m.name), // a manifest written by an older version may hold the raw config name
        source: m.source,
        ...(m.size ? { size: m.size } : {}),
        precision: m.precision,
        memoryBytes: m.memoryBytes,
        installed: m.path === undefined || existsSync(m.path),
        path: m.path ?? this.folder(id),
        ...(warning ? { memoryWarning: warning } : {}),
      });
    }
    return out;
  }

  /** The folder the engine loads for `id` (loadEngine({ modelDir })). */
  resolve(id: string): string {
    if (id === EMBEDDED_ID) return this.embeddedDir;
    const read = this.readManifest(id);
    if (read && 'problem' in read) throw new ModelManagerError('invalid-model', `${id} cannot be used: ${read.problem} (remove it with likely models remove ${id})`);
    const manifest = read?.manifest ?? null;
    if (!manifest) {
      if (this.registry.some((m) => m.id === id)) throw new ModelManagerError('unknown-model', `${id} is not downloaded yet (likely models download ${id})`);
      throw new ModelManagerError('unknown-model', `no model "${id}" (likely models list shows them)`);
    }
    if (manifest.path !== undefined) {
      if (!existsSync(manifest.path)) throw new ModelManagerError('invalid-model', `${id} was imported from ${manifest.path}, which no longer exists (import it again or remove ${id})`);
      return manifest.path;
    }
    return this.folder(id);
  }

  /** Stops a running download, keeping its partial files (pause); false when none was running. */
  pause(id: string): boolean {
    const c = this.active.get(id);
    c?.abort();
    return c !== undefined;
  }

  private async lock(id: string): Promise<() => Promise<void>> {
    const path = `${this.staging(id)}.lock`;
    await mkdir(join(this.modelsDir, STAGING), { recursive: true });
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const fh = await openFile(path, 'wx');
        await fh.writeFile(String(process.pid));
        await fh.close();
        return () => rm(path, { force: true });
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw asManagerError(e, path);
        const pid = Number(await readFile(path, 'utf8').catch(() => ''));
        if (pid && pid !== process.pid && processAlive(pid)) throw new ModelManagerError('busy', `${id} is being downloaded by another Likely process (pid ${pid})`);
        await rm(path, { force: true });
      }
    }
    throw new ModelManagerError('busy', `${id} is locked (${path})`);
  }

  /**
   * Downloads a registry model into the models folder and returns its path. Resumes what an earlier
   * attempt left; already installed models return at once.
   */
  async download(id: string, opts: DownloadOptions = {}): Promise<string> {
    const model = this.registry.find((m) => m.id === id);
    if (!model) throw new ModelManagerError('unknown-model', `no model "${id}" in the registry (likely models list shows them)`);
    if (this.manifest(id)) return this.folder(id);
    if (this.active.has(id)) throw new ModelManagerError('busy', `${id} is already downloading`);
    const controller = new AbortController();
    const onAbort = () => controller.abort();
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    if (opts.signal?.aborted) controller.abort();
    this.active.set(id, controller);
    let unlock: (() => Promise<void>) | null = null;
    try {
      unlock = await this.lock(id);
      return await this.fetchModel(model, controller.signal, opts);
    } catch (e) {
      if (controller.signal.aborted) throw new ModelManagerError('aborted', `download of ${id} paused; run it again to resume`);
      throw asManagerError(e, id);
    } finally {
      opts.signal?.removeEventListener('abort', onAbort);
      this.active.delete(id);
      await unlock?.();
    }
  }

  private async fetchModel(model: RegistryModel, signal: AbortSignal, opts: DownloadOptions): Promise<string> {
    const staging = this.staging(model.id);
    await mkdir(staging, { recursive: true }).catch((e: unknown) => {
      throw asManagerError(e, staging);
    });
    const statePath = join(staging, DOWNLOAD_STATE);
    let state: DownloadState = { id: model.id, repo: model.repo, revision: null, done: {} };
    try {
      const saved = JSON.parse(await readFile(statePath, 'utf8')) as DownloadState;
      if (saved.repo === model.repo) state = saved;
    } catch {
      // a fresh download
    }
    const saveState = () => writeFile(statePath, JSON.stringify(state, null, 1));
    const headers: Record<string, string> = this.token ? { authorization: `Bearer ${this.token}` } : {};
    const progress = new ProgressTracker(model.id, model.files.length, 0, opts.onProgress);
    progress.setPhase('connecting', model.files[0]!.path, 0);

    // Pin every file to one commit so a push to the repo mid-download cannot mix versions.
    if (!state.revision) {
      const first = model.files[0]!;
      const head = await headRemote(resolveUrl(this.endpoint, model.repo, model.revision, first.path), first.path, { signal, headers, stallMs: this.stallMs });
      state.revision = head.commit ?? model.revision;
      await saveState();
    }
    const remotes: RemoteFile[] = [];
    for (const f of model.files) {
      const remote = await headRemote(resolveUrl(this.endpoint, model.repo, state.revision, f.path), f.path, { signal, headers, stallMs: this.stallMs });
      checkRemoteAgainstRegistry({ name: f.path, sha256: f.sha256, bytes: f.bytes }, remote);
      remotes.push(remote);
    }
    // Nothing unverifiable is installed: every file needs a known size and a checksum (the
    // registry's, or the hub's ETag), or the download stops before a byte moves.
    for (const [i, f] of model.files.entries()) {
      const expect = { name: f.path, sha256: f.sha256, bytes: f.bytes };
      const missing = [(f.bytes ?? remotes[i]!.size) === null ? 'size' : '', expectedChecksum(expect, remotes[i]!) === null ? 'checksum' : ''].filter(Boolean).join(' or ');
      if (missing) {
        throw new ModelManagerError('unverifiable', `the hub gives no ${missing} for ${f.path} of ${model.repo} (and the registry lists none), so it cannot be verified; nothing was downloaded or installed`);
      }
    }

    const sizes = model.files.map((f, i) => f.bytes ?? remotes[i]!.size ?? f.approxBytes);
    const onDisk = model.files.map((f) => {
      const dest = join(staging, f.path);
      return state.done[f.path] && existsSync(dest) ? sizeOnDiskStat(dest) : sizeOnDiskStat(`${dest}.partial`);
    });
    progress.totalBytes = sizes.reduce((a, b) => a + b, 0);
    progress.bytes = progress.resumedBytes = onDisk.reduce((a, b) => a + b, 0);
    const needed = progress.totalBytes - progress.bytes;
    const free = await freeSpace(staging);
    if (free !== null && needed > free) {
      throw new ModelManagerError('disk-full', `${model.id} needs ${formatBytes(needed)} more disk space in ${this.modelsDir}; only ${formatBytes(free)} is free`);
    }

    for (const [i, f] of model.files.entries()) {
      const dest = join(staging, f.path);
      if (state.done[f.path] && existsSync(dest)) continue;
      delete state.done[f.path];
      await mkdir(join(dest, '..'), { recursive: true });
      progress.setPhase('downloading', f.path, i);
      let fileBytes = onDisk[i]!;
      const result = await downloadFile(remotes[i]!, dest, { name: f.path, sha256: f.sha256, bytes: f.bytes }, {
        signal,
        headers,
        stallMs: this.stallMs,
        onBytes: (n) => {
          fileBytes += n;
          progress.add(n);
        },
        onReset: (now, reason) => {
          progress.reset(fileBytes, now);
          fileBytes = now;
          opts.onNotice?.(reason);
        },
      });
      state.done[f.path] = result;
      await saveState();
    }

    progress.setPhase('verifying', '', model.files.length);
    try {
      await validateModelFolder(staging);
    } catch (e) {
      // The files stay (verified against the hub's checksums): a retry after an update of Likely
      // validates them again without downloading, and they can be inspected or imported.
      throw new ModelManagerError(
        'invalid-model',
        `the files downloaded for ${model.id} are not a usable model, so nothing was installed: ${(e as Error).message.replace(/^.*? is not a usable GPT-2 model: /, '')} (the files are kept in ${staging}; \`likely models inspect ${staging}\` shows their interface, and a retry does not download them again)`,
      );
    }
    const manifest: InstalledManifest = {
      id: model.id,
      name: model.name,
      source: 'hub',
      precision: model.precision,
      size: model.size,
      repo: model.repo,
      revision: state.revision ?? model.revision,
      memoryBytes: model.memoryBytes,
      files: model.files.map((f) => ({ path: f.path, ...state.done[f.path]! })),
      installedAt: new Date().toISOString(),
    };
    progress.setPhase('installing');
    await this.install(staging, model.id, manifest);
    progress.setPhase('done');
    return this.folder(model.id);
  }

  /** Writes the manifest last and renames the staged folder into place (atomic on one file system). */
  private async install(staging: string, id: string, manifest: InstalledManifest): Promise<void> {
    try {
      await rm(join(staging, DOWNLOAD_STATE), { force: true });
      await writeFile(join(staging, MANIFEST), JSON.stringify(manifest, null, 2) + '\n');
      if (existsSync(this.folder(id))) await this.discard(id);
      await rename(staging, this.folder(id));
    } catch (e) {
      throw asManagerError(e, this.folder(id));
    }
  }

  /** Moves a folder out of sight in one rename, then deletes it. */
  private async discard(id: string): Promise<void> {
    const trash = join(this.modelsDir, TRASH);
    await mkdir(trash, { recursive: true });
    const target = join(trash, `${id}-${Date.now()}-${process.pid}`);
    await rename(this.folder(id), target);
    await rm(target, { recursive: true, force: true });
  }

  /**
   * Registers a local model folder after validating it. By default the folder is used in place
   * (nothing is copied; removing the entry never touches it); with `copy` its model files are
   * copied into the models folder first.
   */
  async import(dir: string, opts: ImportOptions = {}): Promise<ModelListEntry> {
    const source = resolvePath(dir);
    const valid = await validateModelFolder(source);
    const id = opts.id ?? `local-${slug(basename(source))}`;
    if (!/^[a-z0-9][a-z0-9._-]*$/.test(id)) throw new ModelManagerError('invalid-model', `"${id}" is not a valid id (lower-case letters, digits, ".", "_", "-")`);
    if (id === EMBEDDED_ID || this.registry.some((m) => m.id === id) || this.manifest(id)) {
      throw new ModelManagerError('exists', `a model "${id}" already exists; pick another id (--id) or remove it first`);
    }
    const main = valid.onnx[0]!;
    const onnxBytes = valid.onnx.reduce((s, o) => Math.max(s, o.bytes), 0);
    const staging = this.staging(id);
    try {
      await rm(staging, { recursive: true, force: true });
      await mkdir(staging, { recursive: true });
      if (opts.copy) {
        // Links are followed: the copy holds the files themselves, so it keeps working when the
        // folder they point into changes or goes away.
        await cp(source, staging, {
          recursive: true,
          dereference: true,
          filter: async (src) => {
            if (NOT_MODEL_FILE.test(basename(src)) || basename(src) === MANIFEST) return false;
            // Copying a FIFO blocks until someone writes to it; a link to /dev/zero never ends.
            const st = await stat(src);
            if (!st.isFile() && !st.isDirectory()) throw new ModelManagerError('invalid-model', `cannot copy ${src}: it is ${st.isFIFO() ? 'a named pipe (FIFO)' : st.isSocket() ? 'a socket' : 'a device'}, not a regular file`);
            return true;
          },
        });
        await validateModelFolder(staging);
      }
      const manifest: InstalledManifest = {
        id,
        name: valid.config.name ?? `${basename(source)} (GPT-2 ${valid.config.layers}×${valid.config.width}, imported)`,
        source: 'imported',
        precision: main.precision,
        ...(opts.copy ? {} : { path: source }),
        memoryBytes: estimateMemory(onnxBytes),
        files: valid.onnx.map((o) => ({ path: o.path, bytes: o.bytes })),
        installedAt: new Date().toISOString(),
      };
      await this.install(staging, id, manifest);
    } catch (e) {
      await rm(staging, { recursive: true, force: true }).catch(() => {});
      throw asManagerError(e, `the models folder ${this.modelsDir}`);
    }
    return this.list().find((e) => e.id === id)!;
  }

  /** Uninstalls `id` (an imported folder used in place is left untouched) and drops any partial download of it. */
  async remove(id: string): Promise<void> {
    if (id === EMBEDDED_ID) throw new ModelManagerError('in-use', 'the embedded model ships with the app and cannot be removed');
    if (this.isInUse(id)) throw new ModelManagerError('in-use', `${id} is the model in use; switch to another model first`);
    if (this.active.has(id)) throw new ModelManagerError('busy', `${id} is downloading; pause it first`);
    const installed = this.readManifest(id) !== null; // a broken manifest is removed too
    const staged = existsSync(this.staging(id));
    if (!installed && !staged) throw new ModelManagerError('unknown-model', `${id} is not installed`);
    try {
      if (installed) await this.discard(id);
      if (staged) {
        const unlock = await this.lock(id);
        try {
          await rm(this.staging(id), { recursive: true, force: true });
        } finally {
          await unlock();
        }
      }
    } catch (e) {
      throw asManagerError(e, id);
    }
  }
}

/** Why a likely-model.json cannot be used (a missing or mistyped field), or null. */
function manifestProblem(raw: unknown): string | null {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) return 'not a JSON object';
  const m = raw as Record<string, unknown>;
  if (typeof m.name !== 'string') return `"name" must be a string${m.name === undefined ? ' (missing)' : ''}`;
  if (m.source !== 'hub' && m.source !== 'imported') return `"source" must be "hub" or "imported", got ${JSON.stringify(m.source) ?? 'nothing'}`;
  if (!['fp32', 'fp16', 'int8'].includes(m.precision as string)) return `"precision" must be fp32, fp16 or int8, got ${JSON.stringify(m.precision) ?? 'nothing'}`;
  if (typeof m.memoryBytes !== 'number' || !Number.isFinite(m.memoryBytes) || m.memoryBytes < 0) return `"memoryBytes" must be a number of bytes, got ${JSON.stringify(m.memoryBytes) ?? 'nothing'}`;
  if (m.path !== undefined && typeof m.path !== 'string') return '"path" must be a folder path';
  if (m.size !== undefined && !['small', 'medium', 'large', 'xl'].includes(m.size as string)) return `"size" must be small, medium, large or xl, got ${JSON.stringify(m.size)}`;
  if (!Array.isArray(m.files)) return '"files" must be a list';
  return null;
}

function embeddedName(dir: string): string {
  try {
    const c = JSON.parse(readRegularFileSync(join(dir, 'config.json'), 1024 * 1024).toString('utf8')) as { likely?: { name?: string } };
    return (c.likely?.name && printableName(c.likely.name)) || 'Embedded model';
  } catch {
    return 'Embedded model';
  }
}

function sizeOnDiskStat(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function freeSpace(dir: string): Promise<number | null> {
  try {
    const s = await statfs(dir);
    return Number(s.bavail) * Number(s.bsize);
  } catch {
    return null;
  }
}
