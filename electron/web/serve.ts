/**
 * Local web mode (`npm run serve`): one Node process that serves the built renderer
 * (renderer/dist) and the engine API over a WebSocket, for machines where Electron cannot run.
 *
 *   tsx electron/web/serve.ts [--port N] [--model DIR] [--device auto|gpu|cpu] [--models-dir DIR] [--registry FILE]
 *   (or env LIKELY_PORT; --port 0 picks a free port)
 *
 * Models (the Models panel): the same WebSocket carries the models API (common/models-api.ts,
 * electron/models-service.ts): list, download with progress, pause, import a folder by path,
 * remove, switch the model or the device (the open document is re-scored). Models live in
 * --models-dir, else LIKELY_MODELS_DIR, else the platform's data folder (as for `likely models`);
 * the hub is HF_ENDPOINT; --registry replaces models/registry.json (mirrors, tests). The model
 * and device chosen in the page are kept in `<models dir>/.likely-web-settings.json` for the next
 * start, unless --model / --device say otherwise.
 *
 * Security: bound to 127.0.0.1 only; requests must carry our own Host (no DNS rebinding); the
 * WebSocket upgrade is refused unless its Origin is exactly this page's (`http://127.0.0.1:PORT`),
 * so no other site open in the browser can drive the engine; a strict CSP and no remote resources.
 *
 * The engine runs in its own process (EngineHost, restarted on a crash). One tab at a time owns it:
 * a new connection (another tab, or a reload) takes over and the old one is told why. Versions
 * are per connection: the server offsets them so a new page's version 1 is newer than anything the
 * engine saw before, and maps them back in the events it forwards.
 */
import { createReadStream, existsSync, readFileSync, statSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { extname, join, normalize, resolve, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { WebSocketServer, type WebSocket } from 'ws';
import type { EngineClient, EngineEvents, EngineStatus, MethodName, ModelInfo, ScoreUpdate, WireMessage } from '../../common/api.ts';
import { DEVICE_CHOICES, MODELS_METHODS, validateModelsCall, type AppModelsEvents, type DeviceChoice } from '../../common/models-api.ts';
import { CliError, parseArgs } from '../../models/cli/args.ts';
import { defaultModelsDir } from '../../models/manager/manager.ts';
import { loadRegistry } from '../../models/manager/registry.ts';
import { EngineHost, type ModelSwitch } from '../../models/src/engine-host.ts';
import { atomicWriteFile } from '../files.ts';
import { ModelsService, type ModelsChoice } from '../models-service.ts';

export const DEFAULT_PORT = 7345;
export const DIST_DIR = resolve(fileURLToPath(new URL('.', import.meta.url)), '../../renderer/dist');
const HOST = '127.0.0.1';
/** Close code for a page whose engine connection another page took over (renderer/lib/engine-client.ts). */
const CLOSE_REPLACED = 4000;
/** Largest message a page may send: an 8 MB text as JSON, with room for escapes. */
const MAX_MESSAGE_BYTES = 40 * 1024 * 1024;
const METHODS: ReadonlySet<string> = new Set<MethodName>(['update', 'topK', 'predictions', 'suggestSpan', 'infill', 'modelInfo']);
const MODELS: ReadonlySet<string> = new Set<string>(MODELS_METHODS);
/** The page's model and device choice, kept in the models folder (web mode has no other place of its own). */
export const WEB_SETTINGS_FILE = '.likely-web-settings.json';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.json': 'application/json',
  '.txt': 'text/plain; charset=utf-8',
};

export interface EngineLike extends EngineClient {
  status: EngineStatus;
  close(): void;
  /** Present on engines that can change model or device at runtime (EngineHost). */
  switchModel?(change: ModelSwitch): Promise<ModelInfo>;
}

export interface WebServerOptions {
  port?: number;
  distDir?: string;
  /** The engine to serve; default: an EngineHost with the chosen model and device. */
  engine?: EngineLike;
  /** A model folder to run (instead of the saved choice or the embedded model). */
  modelDir?: string;
  device?: DeviceChoice;
  /** Where models are installed; default LIKELY_MODELS_DIR or the platform's data folder. */
  modelsDir?: string;
  /** A registry file replacing models/registry.json. */
  registryPath?: string;
  /** The embedded model's folder (default: models/embedded). */
  embeddedDir?: string;
}

export interface WebServer {
  url: string;
  port: number;
  engine: EngineLike;
  models: ModelsService;
  close(): Promise<void>;
}

/** The saved page choice (lenient: anything unreadable is no choice). */
function readWebSettings(path: string): { modelId?: string; device?: DeviceChoice } {
  try {
    const raw = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
    return {
      ...(typeof raw.modelId === 'string' ? { modelId: raw.modelId } : {}),
      ...(DEVICE_CHOICES.includes(raw.device as DeviceChoice) ? { device: raw.device as DeviceChoice } : {}),
    };
  } catch {
    return {};
  }
}

export function contentSecurityPolicy(port: number): string {
  return [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data: blob:",
    "font-src 'self'",
    `connect-src 'self' ws://${HOST}:${port}`,
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}

function securityHeaders(port: number): Record<string, string> {
  return {
    'Content-Security-Policy': contentSecurityPolicy(port),
    'X-Content-Type-Options': 'nosniff',
    'Referrer-Policy': 'no-referrer',
    'X-Frame-Options': 'DENY',
    'Cross-Origin-Opener-Policy': 'same-origin',
    'Cross-Origin-Resource-Policy': 'same-origin',
  };
}

function plain(res: ServerResponse, status: number, message: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { ...headers, 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store' });
  res.end(message + '\n');
}

/** Our own Host header values (anything else is a rebinding attempt or a mistake). */
function allowedHosts(port: number): Set<string> {
  return new Set([`${HOST}:${port}`, `localhost:${port}`]);
}

function serveFile(req: IncomingMessage, res: ServerResponse, distDir: string, port: number): void {
  const headers = securityHeaders(port);
  if (!allowedHosts(port).has(String(req.headers.host ?? '').toLowerCase())) return plain(res, 421, 'Misdirected request', headers);
  if (req.method !== 'GET' && req.method !== 'HEAD') return plain(res, 405, 'Method not allowed', { ...headers, Allow: 'GET, HEAD' });
  let path: string;
  try {
    path = decodeURIComponent(new URL(req.url ?? '/', `http://${HOST}`).pathname);
  } catch {
    return plain(res, 400, 'Bad request', headers);
  }
  if (path.includes('\0')) return plain(res, 400, 'Bad request', headers);
  if (path.endsWith('/')) path += 'index.html';
  const file = normalize(join(distDir, path));
  if (file !== distDir && !file.startsWith(distDir + sep)) return plain(res, 403, 'Forbidden', headers);
  if (!existsSync(join(distDir, 'index.html'))) return plain(res, 503, 'The renderer is not built: run `npm run build:renderer` (npm run serve does).', headers);
  let size: number;
  try {
    const st = statSync(file);
    if (!st.isFile()) return plain(res, 404, 'Not found', headers);
    size = st.size;
  } catch {
    return plain(res, 404, 'Not found', headers);
  }
  const immutable = path.startsWith('/assets/');
  res.writeHead(200, {
    ...headers,
    'Content-Type': TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream',
    'Content-Length': String(size),
    'Cache-Control': immutable ? 'public, max-age=31536000, immutable' : 'no-cache',
  });
  if (req.method === 'HEAD') return void res.end();
  createReadStream(file).on('error', () => res.destroy()).pipe(res);
}

function reject(socket: Duplex, status: number, reason: string): void {
  socket.end(`HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: ${reason.length + 1}\r\n\r\n${reason}\n`);
}

interface Connection {
  ws: WebSocket;
  /** Engine version = page version + base. */
  base: number;
}

type Call = { kind: 'call'; id: number; method: string; params: unknown };

function isCall(msg: unknown): msg is Call {
  const m = msg as Record<string, unknown> | null;
  return !!m && typeof m === 'object' && m.kind === 'call' && Number.isSafeInteger(m.id) && typeof m.method === 'string' && (METHODS.has(m.method) || MODELS.has(m.method));
}

type OutMessage = WireMessage | { kind: 'event'; event: keyof AppModelsEvents; data: unknown };

export async function startWebServer(opts: WebServerOptions = {}): Promise<WebServer> {
  const distDir = resolve(opts.distDir ?? DIST_DIR);
  let registry;
  try {
    registry = opts.registryPath ? loadRegistry(resolve(opts.registryPath)) : undefined;
  } catch (e) {
    throw new CliError(`--registry: ${(e as Error).message}`, 1);
  }
  const modelsDir = resolve(opts.modelsDir ?? defaultModelsDir());
  const settingsPath = join(modelsDir, WEB_SETTINGS_FILE);
  const saved = readWebSettings(settingsPath);
  let engine: EngineLike | undefined = opts.engine;
  let active: Connection | null = null;
  const models: ModelsService = new ModelsService({
    manager: { modelsDir, ...(registry ? { registry } : {}), ...(opts.embeddedDir ? { embeddedDir: opts.embeddedDir } : {}) },
    engines: () => (engine?.switchModel ? [engine as Required<Pick<EngineLike, 'switchModel'>>] : []),
    initial: opts.modelDir
      ? { modelId: null, modelDir: resolve(opts.modelDir), device: opts.device ?? saved.device ?? 'auto' }
      : { modelId: saved.modelId ?? null, device: opts.device ?? saved.device ?? 'auto' },
    emit: (event, data) => {
      if (active) send(active, { kind: 'event', event, data });
    },
    persist: async (choice: ModelsChoice) => {
      // Best effort: a folder that cannot be written only means the choice is not kept for next time.
      try {
        await mkdir(modelsDir, { recursive: true });
        await atomicWriteFile(settingsPath, JSON.stringify({ modelId: choice.modelId, device: choice.device }, null, 2) + '\n');
      } catch {
        // ignored (see above)
      }
    },
  });
  if (models.startProblem) console.error(`likely serve: ${models.startProblem}`);
  engine ??= new EngineHost(models.engineOptions());
  const theEngine: EngineLike = engine;
  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_MESSAGE_BYTES });
  let maxVersion = 0;
  let port = 0;

  function send(conn: Connection, msg: OutMessage): void {
    if (conn.ws.readyState === conn.ws.OPEN) conn.ws.send(JSON.stringify(msg));
  }

  const forward = <E extends keyof EngineEvents>(event: E, data: EngineEvents[E]) => {
    const conn = active;
    if (!conn) return;
    if (event === 'scores') {
      const up = data as ScoreUpdate;
      if (up.version <= conn.base) return; // a previous page's version
      return send(conn, { kind: 'event', event, data: { ...up, version: up.version - conn.base } });
    }
    send(conn, { kind: 'event', event, data });
  };
  const unsubscribe = [theEngine.on('scores', (d) => forward('scores', d)), theEngine.on('status', (d) => forward('status', d))];

  const onConnection = (ws: WebSocket) => {
    if (active) active.ws.close(CLOSE_REPLACED, 'The editor was opened in another tab; this one is disconnected.');
    // The new page has no scores: the engine forgets the previous page's text, else the same text
    // again (a reload of a saved draft) would come back as "nothing changed" and never be colored.
    if (maxVersion > 0) theEngine.call('update', { version: ++maxVersion, text: '' }).catch(() => {});
    const conn: Connection = { ws, base: maxVersion };
    active = conn;
    send(conn, { kind: 'event', event: 'status', data: theEngine.status });
    ws.on('message', (raw, isBinary) => {
      let msg: unknown;
      try {
        msg = isBinary ? null : JSON.parse(raw.toString());
      } catch {
        msg = null;
      }
      if (!isCall(msg)) {
        const id = Number.isSafeInteger((msg as { id?: unknown } | null)?.id) ? (msg as { id: number }).id : -1;
        return send(conn, { kind: 'result', id, error: 'invalid message: expected {kind:"call", id, method, params} with a known method' });
      }
      if (conn !== active) return send(conn, { kind: 'result', id: msg.id, error: 'another tab took over the engine' });
      if (MODELS.has(msg.method)) {
        let call: ReturnType<typeof validateModelsCall>;
        try {
          call = validateModelsCall(msg.method, msg.params);
        } catch (e) {
          return send(conn, { kind: 'result', id: msg.id, error: (e as Error).message });
        }
        models.call(call.method, call.params as never).then(
          (result) => send(conn, { kind: 'result', id: msg.id, result: result ?? null }),
          (e: Error) => send(conn, { kind: 'result', id: msg.id, error: e.message }),
        );
        return;
      }
      let params = msg.params as Record<string, unknown> | undefined;
      if (params && typeof params === 'object' && 'version' in params) {
        if (!Number.isSafeInteger(params.version) || (params.version as number) < 0) return send(conn, { kind: 'result', id: msg.id, error: 'version must be a non-negative integer' });
        const version = (params.version as number) + conn.base;
        params = { ...params, version };
        if (msg.method === 'update') maxVersion = Math.max(maxVersion, version);
      }
      theEngine.call(msg.method as MethodName, params as never).then(
        (result) => send(conn, { kind: 'result', id: msg.id, result }),
        (e: Error) => send(conn, { kind: 'result', id: msg.id, error: e.message }),
      );
    });
    ws.on('close', () => {
      if (active === conn) active = null;
    });
    ws.on('error', () => ws.terminate());
  };

  const server: Server = createServer((req, res) => serveFile(req, res, distDir, port));
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => socket.destroy());
    const path = (req.url ?? '').split('?')[0];
    if (path !== '/engine') return reject(socket, 404, 'Not Found');
    if (!allowedHosts(port).has(String(req.headers.host ?? '').toLowerCase())) return reject(socket, 421, 'Misdirected Request');
    const origin = req.headers.origin;
    if (origin !== `http://${HOST}:${port}` && origin !== `http://localhost:${port}`) return reject(socket, 403, 'Forbidden: foreign origin');
    wss.handleUpgrade(req, socket, head, onConnection);
  });

  await new Promise<void>((resolveListen, rejectListen) => {
    server.once('error', rejectListen);
    server.listen(opts.port ?? DEFAULT_PORT, HOST, () => {
      server.off('error', rejectListen);
      resolveListen();
    });
  }).catch((e: NodeJS.ErrnoException) => {
    theEngine.close();
    const why = e.code === 'EADDRINUSE' ? 'the port is in use (try --port 0 for a free one)' : e.message;
    throw new CliError(`could not listen on ${HOST}:${opts.port ?? DEFAULT_PORT}: ${why}`, 1);
  });
  port = (server.address() as { port: number }).port;

  return {
    url: `http://${HOST}:${port}/`,
    port,
    engine: theEngine,
    models,
    close: async () => {
      models.pauseAll();
      for (const u of unsubscribe) u();
      for (const c of wss.clients) c.terminate();
      wss.close();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
      theEngine.close();
    },
  };
}

function portOption(raw: string | undefined): number {
  if (raw === undefined || raw === '') return DEFAULT_PORT;
  if (!/^\d+$/.test(raw) || Number(raw) > 65535) throw new CliError(`port must be an integer from 0 to 65535, got "${raw}"`);
  return Number(raw);
}

async function main(argv: string[]): Promise<void> {
  const args = parseArgs(argv, { values: ['port', 'model', 'device', 'models-dir', 'registry'] });
  if (args.positional.length) throw new CliError(`unexpected argument ${args.positional[0]}`);
  const port = portOption(args.values.port ?? process.env.LIKELY_PORT);
  const device = args.values.device as DeviceChoice | undefined;
  if (device !== undefined && !['auto', 'gpu', 'cpu'].includes(device)) throw new CliError(`--device must be auto, gpu or cpu, got "${device}"`);
  if (!existsSync(join(DIST_DIR, 'index.html'))) throw new CliError('the renderer is not built: run `npm run serve` (it builds first) or `npm run build:renderer`', 1);
  const web = await startWebServer({ port, modelDir: args.values.model, device, modelsDir: args.values['models-dir'], registryPath: args.values.registry });
  console.log(`Likely is running at ${web.url}`);
  let closing = false;
  const stop = () => {
    if (closing) return;
    closing = true;
    web.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
    setTimeout(() => process.exit(1), 3000).unref();
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  main(process.argv.slice(2)).catch((e: Error) => {
    console.error(`likely serve: ${e instanceof CliError ? e.message : (e.stack ?? e.message)}`);
    process.exit(e instanceof CliError ? e.exitCode : 1);
  });
}
