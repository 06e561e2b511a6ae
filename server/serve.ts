/**
 * Local web mode (`npm run serve`): one Node process that serves the built renderer
 * (renderer/dist) and the engine API over a WebSocket, for machines where Electron cannot run.
 *
 *   tsx server/serve.ts [--port N] [--model DIR] [--device auto|gpu|cpu] [--models-dir DIR] [--registry FILE]
 *   (or env LIKELY_PORT; --port 0 picks a free port)
 *
 * Models (the Models panel): the same WebSocket carries the models API (common/models-api.ts,
 * models/service/models-service.ts): list, download with progress, pause, import a folder by path,
 * remove, switch the model or the device (the open document is re-scored). Models live in
 * --models-dir, else LIKELY_MODELS_DIR, else the platform's data folder (as for `likely models`);
 * the hub is HF_ENDPOINT; --registry replaces models/registry.json (mirrors, tests). The model
 * and device chosen in the page are kept in `<models dir>/.likely-web-settings.json` for the next
 * start, unless --model / --device say otherwise.
 *
 * Security: bound to 127.0.0.1 only; requests must carry exactly one Host header, our own (no DNS
 * rebinding; two Host headers are a 400, RFC 9112), and no more headers than a browser sends; the
 * WebSocket upgrade is refused unless its Origin is exactly this page's (`http://127.0.0.1:PORT`),
 * so no other site open in the browser can drive the engine; a strict CSP and no remote resources.
 *
 * The engine runs in its own process (EngineHost, restarted on a crash). One tab at a time owns it:
 * a new connection (another tab, or a reload) takes over and the old one is told why. Each
 * connection is an engine session (EngineHost.session()): its versions are its own, its first
 * update is scored from the first token, and every call is checked with the same validator as IPC.
 */
import { createReadStream, existsSync, readFileSync, statSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { WebSocketServer, type WebSocket } from 'ws';
import { MAX_UPDATE_CHARS } from '../common/limits.ts';
import { DEVICE_CHOICES, MODELS_METHODS, validateModelsCall, type DeviceChoice } from '../common/models-api.ts';
import { invalidMessageReply, isCallMessage, type WireMessage } from '../common/rpc.ts';
import { CliError, parseArgs } from '../models/cli/args.ts';
import { defaultModelsDir } from '../models/manager/manager.ts';
import { loadRegistry } from '../models/manager/registry.ts';
import { ModelsService, type ModelsChoice } from '../models/service/models-service.ts';
import { EngineHost, type EngineSession } from '../models/src/engine-host.ts';
import { atomicWriteFile } from '../node/files.ts';
import { contentSecurityPolicy, resolveStaticPath } from '../node/static-files.ts';

export const DEFAULT_PORT = 7345;
export const DIST_DIR = resolve(fileURLToPath(new URL('.', import.meta.url)), '../renderer/dist');
const HOST = '127.0.0.1';
/** Close code for a page whose engine connection another page took over (renderer/lib/engine-client.ts). */
const CLOSE_REPLACED = 4000;
/** Largest message a page may send: the largest update (common/limits.ts) as JSON, with room for escapes. */
const MAX_MESSAGE_BYTES = 6 * MAX_UPDATE_CHARS + 1024;
const MODELS: ReadonlySet<string> = new Set<string>(MODELS_METHODS);
/** The page's model and device choice, kept in the models folder (web mode has no other place of its own). */
export const WEB_SETTINGS_FILE = '.likely-web-settings.json';

export interface WebServerOptions {
  port?: number;
  distDir?: string;
  /** The engine to serve; default: an EngineHost with the chosen model and device. */
  engine?: EngineHost;
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
  engine: EngineHost;
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

function securityHeaders(port: number): Record<string, string> {
  return {
    'Content-Security-Policy': contentSecurityPolicy([`ws://${HOST}:${port}`]),
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

/** More request headers than any browser sends (a few dozen at most): refused rather than parsed. */
const MAX_HEADERS = 100;

/** How many times a request carries header `name` (Node keeps only the first Host, and joins repeated Origins). */
function headerCount(req: IncomingMessage, name: string): number {
  let n = 0;
  for (let i = 0; i < req.rawHeaders.length; i += 2) if (req.rawHeaders[i]!.toLowerCase() === name) n++;
  return n;
}

/**
 * What is wrong with a request's headers, before anything else looks at it: not exactly one Host
 * (RFC 9112: a request with none, or with several, gets 400), a Host that is not ours (421, DNS
 * rebinding), more headers than any browser sends (431). Upgrades also need exactly one Origin.
 */
function headerProblem(req: IncomingMessage, port: number, upgrade: boolean): { status: number; reason: string } | null {
  if (req.rawHeaders.length / 2 > MAX_HEADERS) return { status: 431, reason: 'Request Header Fields Too Large' };
  if (headerCount(req, 'host') !== 1) return { status: 400, reason: 'Bad Request: a request carries exactly one Host header' };
  if (upgrade && headerCount(req, 'origin') > 1) return { status: 400, reason: 'Bad Request: more than one Origin header' };
  if (!allowedHosts(port).has(String(req.headers.host ?? '').toLowerCase())) return { status: 421, reason: 'Misdirected Request' };
  return null;
}

function serveFile(req: IncomingMessage, res: ServerResponse, distDir: string, port: number): void {
  const headers = securityHeaders(port);
  const problem = headerProblem(req, port, false);
  if (problem) return plain(res, problem.status, problem.reason, { ...headers, Connection: 'close' });
  if (req.method !== 'GET' && req.method !== 'HEAD') return plain(res, 405, 'Method not allowed', { ...headers, Allow: 'GET, HEAD' });
  let pathname: string;
  try {
    pathname = new URL(req.url ?? '/', `http://${HOST}`).pathname;
  } catch {
    return plain(res, 400, 'Bad request', headers);
  }
  if (!existsSync(join(distDir, 'index.html'))) return plain(res, 503, 'The renderer is not built: run `npm run build:renderer` (npm run serve does).', headers);
  const target = resolveStaticPath(pathname, distDir);
  if ('status' in target) return plain(res, target.status, target.status === 403 ? 'Forbidden' : 'Not found', headers);
  let size: number;
  try {
    const st = statSync(target.path);
    if (!st.isFile()) return plain(res, 404, 'Not found', headers);
    size = st.size;
  } catch {
    return plain(res, 404, 'Not found', headers);
  }
  res.writeHead(200, {
    ...headers,
    'Content-Type': target.mimeType,
    'Content-Length': String(size),
    'Cache-Control': pathname.startsWith('/assets/') ? 'public, max-age=31536000, immutable' : 'no-cache',
  });
  if (req.method === 'HEAD') return void res.end();
  createReadStream(target.path).on('error', () => res.destroy()).pipe(res);
}

function reject(socket: Duplex, status: number, reason: string): void {
  socket.end(`HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: ${reason.length + 1}\r\n\r\n${reason}\n`);
}

interface Connection {
  ws: WebSocket;
  /** This page's view of the engine: its own versions, validated calls. */
  session: EngineSession;
}


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
  let engine: EngineHost | undefined = opts.engine;
  let active: Connection | null = null;
  const models: ModelsService = new ModelsService({
    manager: { modelsDir, ...(registry ? { registry } : {}), ...(opts.embeddedDir ? { embeddedDir: opts.embeddedDir } : {}) },
    engines: () => (engine ? [engine] : []),
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
  const theEngine: EngineHost = engine;
  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_MESSAGE_BYTES });
  let port = 0;

  function send(conn: Connection, msg: WireMessage): void {
    if (conn.ws.readyState === conn.ws.OPEN) conn.ws.send(JSON.stringify(msg));
  }
  const reply = (conn: Connection, id: number, result: Promise<unknown>) =>
    result.then(
      (value) => send(conn, { kind: 'result', id, result: value ?? null }),
      (e: Error) => send(conn, { kind: 'result', id, error: e.message }),
    );

  const onConnection = (ws: WebSocket) => {
    if (active) active.ws.close(CLOSE_REPLACED, 'The editor was opened in another tab; this one is disconnected.');
    const conn: Connection = { ws, session: theEngine.session() };
    active = conn;
    conn.session.on('scores', (data) => send(conn, { kind: 'event', event: 'scores', data }));
    conn.session.on('status', (data) => send(conn, { kind: 'event', event: 'status', data }));
    send(conn, { kind: 'event', event: 'status', data: theEngine.status });
    ws.on('message', (raw, isBinary) => {
      let msg: unknown;
      try {
        msg = isBinary ? null : JSON.parse(raw.toString());
      } catch {
        msg = null;
      }
      if (!isCallMessage(msg)) return send(conn, invalidMessageReply(msg));
      if (conn !== active) return send(conn, { kind: 'result', id: msg.id, error: 'another tab took over the engine' });
      if (!MODELS.has(msg.method)) return void reply(conn, msg.id, conn.session.call(msg.method as never, msg.params as never));
      try {
        const call = validateModelsCall(msg.method, msg.params);
        void reply(conn, msg.id, models.call(call.method, call.params as never));
      } catch (e) {
        send(conn, { kind: 'result', id: msg.id, error: (e as Error).message });
      }
    });
    ws.on('close', () => {
      conn.session.close();
      if (active === conn) active = null;
    });
    ws.on('error', () => ws.terminate());
  };

  const server: Server = createServer((req, res) => serveFile(req, res, distDir, port));
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => socket.destroy());
    const path = (req.url ?? '').split('?')[0];
    if (path !== '/engine') return reject(socket, 404, 'Not Found');
    const problem = headerProblem(req, port, true);
    if (problem) return reject(socket, problem.status, problem.reason);
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
