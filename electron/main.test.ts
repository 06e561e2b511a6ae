// The main process as built (dist bundle of main.ts, window.ts, …) run against a stand-in for
// Electron's API (testing/fake-electron.ts), since no Electron binary runs here. The engine is the
// real one with the embedded model (the stand-in's utilityProcess is a Node child process), the
// files are real files; the test plays the OS (dialog answers) and the page (IPC messages).
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import type { EngineStatus, ScoreUpdate } from '../common/api.ts';
import type { ModelListEntry, ModelSelection, ModelsState } from '../common/models-api.ts';
import { humanSize, MAX_DOCUMENT_BYTES } from '../common/limits.ts';
import { APP_INDEX_URL, CONTENT_SECURITY_POLICY } from './security.ts';
import { CHANNELS, type ShellDocument, type ShellState } from '../common/shell.ts';
import { EMBEDDED_MODEL_DIR } from '../models/src/paths.ts';
import { app, FakeBrowserWindow, Menu, recorded, type FakeWebContents } from './testing/fake-electron.ts';

const here = dirname(fileURLToPath(import.meta.url));
const fakeUrl = pathToFileURL(join(here, 'testing', 'fake-electron.ts')).href;
mkdirSync(join(here, '..', 'dist'), { recursive: true });
const out = mkdtempSync(join(here, '..', 'dist', 'electron-maintest-'));
const dir = mkdtempSync(join(out, 'files-'));
const userData = join(dir, 'userData');
const rendererDir = join(dir, 'renderer');

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until<T>(fn: () => T | undefined | false, what: string, ms = 30_000): Promise<T> {
  for (const end = Date.now() + ms; Date.now() < end; await sleep(20)) {
    const v = fn();
    if (v) return v;
  }
  throw new Error(`timed out waiting for ${what}`);
}

before(async () => {
  // The real bundle, with `electron` pointing at the stand-in (loaded through tsx like this test).
  await build({
    entryPoints: { main: join(here, 'main.ts'), 'engine-process': join(here, '..', 'models', 'src', 'engine-process.ts') },
    outdir: out,
    bundle: true,
    platform: 'node',
    format: 'esm',
    logLevel: 'warning',
    external: ['onnxruntime-node'],
    banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
    plugins: [{ name: 'fake-electron', setup: (b) => b.onResolve({ filter: /^electron$/ }, () => ({ path: fakeUrl, external: true })) }],
  });
  writeFileSync(join(out, 'package.json'), '{ "type": "module" }\n');
  mkdirSync(join(rendererDir, 'assets'), { recursive: true });
  writeFileSync(join(rendererDir, 'index.html'), '<!doctype html><script type=module src=/assets/app.js></script>');
  writeFileSync(join(rendererDir, 'assets', 'app.js'), 'console.log(1)');
  Object.assign(process.env, { LIKELY_USER_DATA_DIR: userData, LIKELY_RENDERER_DIR: rendererDir, LIKELY_MODEL_DIR: EMBEDDED_MODEL_DIR, LIKELY_MODELS_DIR: join(dir, 'models') });
  await import(pathToFileURL(join(out, 'main.js')).href);
  app.becomeReady();
  await until(() => FakeBrowserWindow.getAllWindows().length === 1, 'the first window');
});

after(async () => {
  for (const w of FakeBrowserWindow.getAllWindows()) {
    recorded.dialogAnswers.push(1); // "Don't Save" where asked
    w.close();
  }
  await until(() => FakeBrowserWindow.getAllWindows().length === 0, 'every window closed', 10_000);
  // The last settings writes (window bounds): wait until the file has not changed for a while.
  const settings = join(userData, 'settings.json');
  let last = -1;
  for (let stable = 0; stable < 3; await sleep(150)) {
    const m = existsSync(settings) ? statSync(settings).mtimeMs : 0;
    stable = m === last ? stable + 1 : 0;
    last = m;
  }
  rmSync(out, { recursive: true, force: true });
});

const trusted = (wc: FakeWebContents) => ({ sender: wc, senderFrame: wc.mainFrame });
const invoke = (channel: string, event: unknown, ...args: unknown[]) => Promise.resolve().then(() => (recorded.handlers.get(channel) as (...a: unknown[]) => unknown)(event, ...args));
const sendFromPage = (channel: string, event: unknown, ...args: unknown[]) => (recorded.listeners.get(channel) as (...a: unknown[]) => void)(event, ...args);
const shellEvents = (wc: FakeWebContents, event: string) =>
  wc.sent.filter((s) => s.channel === CHANNELS.shellEvent && (s.payload as { event: string }).event === event).map((s) => (s.payload as { data: unknown }).data);
const engineEvents = (wc: FakeWebContents, event: string) =>
  wc.sent.filter((s) => s.channel === CHANNELS.engineEvent && (s.payload as { event: string }).event === event).map((s) => (s.payload as { data: unknown }).data);

/** Plays the page of a window: holds its text and answers main's flush requests with it. */
function page(win: FakeBrowserWindow) {
  const wc = win.webContents;
  const p = { text: '' };
  wc.on('test:sent', (channel: string, payload: { event: string; data: { requestId: number } }) => {
    if (channel === CHANNELS.shellEvent && payload.event === 'flush') sendFromPage(CHANNELS.shellContent, trusted(wc), payload.data.requestId, p.text);
  });
  return {
    p,
    wc,
    ready: () => invoke(CHANNELS.shellReady, trusted(wc)) as Promise<ShellDocument>,
    type(s: string) {
      p.text += s;
      sendFromPage(CHANNELS.shellEdited, trusted(wc));
    },
  };
}

test('the first window is locked down and loads the app from app://', () => {
  const [win] = FakeBrowserWindow.getAllWindows();
  const prefs = win!.options.webPreferences as Record<string, unknown>;
  assert.equal(prefs.contextIsolation, true);
  assert.equal(prefs.sandbox, true);
  assert.equal(prefs.nodeIntegration, false);
  assert.equal(prefs.webviewTag, false);
  assert.equal(prefs.webSecurity, true);
  assert.match(String(prefs.preload), /preload\.cjs$/);
  assert.equal(win!.loadedUrl, APP_INDEX_URL);
  assert.equal(recorded.sandboxEnabled, true);
  assert.deepEqual(recorded.privilegedSchemes, [{ scheme: 'app', privileges: { standard: true, secure: true, supportFetchAPI: true, codeCache: true } }]);
  assert.equal(win!.title, 'Untitled — Likely');
  let prevented = false;
  win!.emit('page-title-updated', { preventDefault: () => (prevented = true) }, 'Likely');
  assert.ok(prevented, "the page's <title> does not replace the document title");
  assert.ok(recorded.blockedUrls.includes('https://*/*') && recorded.blockedUrls.includes('http://*/*'), 'remote requests are cancelled');
});

test('app:// serves the renderer with the CSP, and nothing outside it', async () => {
  const handler = recorded.protocolHandlers.get('app')!;
  const ok = await handler(new Request('app://likely/assets/app.js'));
  assert.equal(ok.status, 200);
  assert.equal(ok.headers.get('content-security-policy'), CONTENT_SECURITY_POLICY);
  assert.equal(ok.headers.get('content-type'), 'text/javascript; charset=utf-8');
  assert.equal(await ok.text(), 'console.log(1)');
  assert.equal((await handler(new Request('app://likely/'))).status, 200);
  assert.equal((await handler(new Request('app://likely/..%2F..%2Fpackage.json'))).status, 403);
  assert.equal((await handler(new Request('app://likely/missing.js'))).status, 404);
  assert.equal((await handler(new Request('app://other/index.html'))).status, 403);
  assert.equal((await handler(new Request('app://likely/index.html', { method: 'POST', body: 'x' }))).status, 405);
});

test('IPC from anything but our own top-level page is refused', async () => {
  const wc = FakeBrowserWindow.getAllWindows()[0]!.webContents;
  const forged = [
    { sender: wc, senderFrame: { url: 'https://evil.example/', parent: null } },
    { sender: wc, senderFrame: { url: APP_INDEX_URL, parent: wc.mainFrame } },
    { sender: { id: 99_999 }, senderFrame: { url: APP_INDEX_URL, parent: null } },
    { sender: wc, senderFrame: null },
  ];
  for (const event of forged) {
    await assert.rejects(invoke(CHANNELS.shellReady, event), /untrusted sender/);
    await assert.rejects(invoke(CHANNELS.engineCall, event, 'modelInfo', {}), /untrusted sender/);
  }
  await assert.rejects(invoke(CHANNELS.engineCall, trusted(wc), 'dispose', {}), /unknown engine method/);
  await assert.rejects(invoke(CHANNELS.shellCommand, trusted(wc), { kind: 'format-disk' }), /unknown shell command/);
  await assert.rejects(invoke(CHANNELS.shellOpenPath, trusted(wc), 'relative/path.md'), /invalid file path/);
});

test('permissions are denied, new windows are denied, only allowed https links open outside', () => {
  const wc = FakeBrowserWindow.getAllWindows()[0]!.webContents;
  const answers: boolean[] = [];
  recorded.permissionRequest!(wc, 'media', (ok) => answers.push(ok), { requestingUrl: APP_INDEX_URL });
  recorded.permissionRequest!(wc, 'geolocation', (ok) => answers.push(ok), { requestingUrl: APP_INDEX_URL });
  assert.deepEqual(answers, [false, false]);
  assert.equal(recorded.permissionCheck!(wc, 'notifications', 'app://likely', { requestingUrl: APP_INDEX_URL }), false);
  assert.deepEqual(wc.windowOpenHandler!({ url: 'https://huggingface.co/gpt2' }), { action: 'deny' });
  assert.deepEqual(wc.windowOpenHandler!({ url: 'https://evil.example/' }), { action: 'deny' });
  let prevented = 0;
  wc.emit('will-navigate', { preventDefault: () => prevented++ }, 'https://evil.example/');
  wc.emit('will-navigate', { preventDefault: () => prevented++ }, 'file:///etc/passwd');
  assert.equal(prevented, 2);
  assert.deepEqual(recorded.openedExternal, ['https://huggingface.co/gpt2']);
});

test('the page scores through main with the real engine; killing the engine restarts it and scoring resumes', async () => {
  const win = FakeBrowserWindow.getAllWindows()[0]!;
  const wc = win.webContents;
  await until(() => engineEvents(wc, 'status').some((s) => (s as EngineStatus).state === 'ready'), 'engine ready', 60_000);
  assert.equal(((await invoke(CHANNELS.engineStatus, trusted(wc))) as EngineStatus).state, 'ready');
  await invoke(CHANNELS.engineCall, trusted(wc), 'update', { version: 1, text: 'Every token gets a score.' });
  const first = await until(() => (engineEvents(wc, 'scores') as ScoreUpdate[]).find((u) => u.version === 1 && u.done), 'scores', 60_000);
  assert.ok(first.tokenCount >= 5);
  const top = (await invoke(CHANNELS.engineCall, trusted(wc), 'topK', { version: 1, index: 1, k: 3 })) as unknown[];
  assert.equal(top.length, 3);

  const seen = wc.sent.length;
  Menu.getApplicationMenu()!.getMenuItemById('restart-engine')!.click!(); // Engine ▸ Restart Engine
  await until(() => engineEvents({ sent: wc.sent.slice(seen) } as FakeWebContents, 'status').some((s) => (s as EngineStatus).state === 'restarting'), 'restarting', 10_000);
  await until(() => (engineEvents({ sent: wc.sent.slice(seen) } as FakeWebContents, 'scores') as ScoreUpdate[]).find((u) => u.version === 1 && u.done), 'scores after restart', 60_000);
});

test('typing marks the title dirty; ~1 s later untitled work is in the recovery store; Save As writes the file', async () => {
  const win = FakeBrowserWindow.getAllWindows()[0]!;
  const pg = page(win);
  const doc = await pg.ready();
  assert.equal(doc.text, '');
  assert.equal(doc.state.title, 'Untitled');
  pg.type('Words that must survive 🙂');
  assert.equal(win.title, '• Untitled — Likely');
  const recoveryDir = join(userData, 'recovery');
  const entry = await until(() => existsSync(recoveryDir) && readdirSync(recoveryDir).find((n) => n.endsWith('.json')), 'a recovery entry', 5_000);
  assert.equal(JSON.parse(readFileSync(join(recoveryDir, entry), 'utf8')).text, 'Words that must survive 🙂');

  const path = join(dir, 'saved.md');
  recorded.dialogAnswers.push(path);
  await invoke(CHANNELS.shellCommand, trusted(pg.wc), { kind: 'save' });
  assert.equal(readFileSync(path, 'utf8'), 'Words that must survive 🙂');
  assert.equal(win.title, 'saved.md — Likely');
  assert.deepEqual(readdirSync(recoveryDir).filter((n) => n.endsWith('.json')), []);
  assert.equal((shellEvents(pg.wc, 'state').at(-1) as ShellState).dirty, false);
  const settingsFile = join(userData, 'settings.json');
  await until(() => existsSync(settingsFile) && JSON.parse(readFileSync(settingsFile, 'utf8')).recentFiles[0] === path, 'the file in recent files', 2_000);

  pg.type(' More.');
  await until(() => readFileSync(path, 'utf8').endsWith('More.'), 'autosave to the file', 5_000);
  await until(() => win.title === 'saved.md — Likely', 'clean title after autosave', 2_000);
});

test('opening a binary or too-large file explains why and changes nothing; a text file opens in a new window', async () => {
  const win = FakeBrowserWindow.getAllWindows()[0]!;
  const windowsBefore = FakeBrowserWindow.getAllWindows().length;
  const bin = join(dir, 'photo.md');
  writeFileSync(bin, Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 0, 0, 0x0d]));
  recorded.dialogAnswers.push(0);
  await invoke(CHANNELS.shellOpenPath, trusted(win.webContents), bin);
  assert.match(String(recorded.dialogs.at(-1)!.options.message), /photo\.md is not a text file \(it contains binary data\)/);
  assert.equal(FakeBrowserWindow.getAllWindows().length, windowsBefore);
  assert.equal(win.title, 'saved.md — Likely');

  const big = join(dir, 'big.txt');
  writeFileSync(big, Buffer.alloc(MAX_DOCUMENT_BYTES + 1, 'a'));
  recorded.dialogAnswers.push(0);
  await invoke(CHANNELS.shellOpenPath, trusted(win.webContents), big);
  assert.equal(String(recorded.dialogs.at(-1)!.options.message), `big.txt is 2.0 MB; Likely opens text files up to ${humanSize(MAX_DOCUMENT_BYTES)}`);
  assert.equal(FakeBrowserWindow.getAllWindows().length, windowsBefore);

  const other = join(dir, 'other.txt');
  writeFileSync(other, 'Another document.\r\n');
  await invoke(CHANNELS.shellOpenPath, trusted(win.webContents), other);
  const opened = await until(() => FakeBrowserWindow.getAllWindows().find((w) => w.title === 'other.txt — Likely'), 'the new window');
  const doc = await page(opened).ready();
  assert.equal(doc.text, 'Another document.\n');
  assert.equal(doc.format, 'text');
  // Opening it again focuses that window instead of a second copy.
  await invoke(CHANNELS.shellOpenPath, trusted(win.webContents), other);
  assert.equal(FakeBrowserWindow.getAllWindows().filter((w) => w.title.startsWith('other.txt')).length, 1);
});

test('closing unsaved work asks; Cancel keeps the window, Don\'t Save closes it and forgets the recovery copy', async () => {
  const newCount = FakeBrowserWindow.getAllWindows().length;
  await invoke(CHANNELS.shellCommand, trusted(FakeBrowserWindow.getAllWindows()[0]!.webContents), { kind: 'new' });
  const win = await until(() => FakeBrowserWindow.getAllWindows().length === newCount + 1 && FakeBrowserWindow.getAllWindows().at(-1), 'a new window');
  const pg = page(win);
  await pg.ready();
  pg.type('scratch');
  const recoveryDir = join(userData, 'recovery');
  await until(() => readdirSync(recoveryDir).some((n) => n.endsWith('.json')), 'recovery copy', 5_000);

  recorded.dialogAnswers.push(2); // Cancel
  win.close();
  await sleep(100);
  assert.equal(win.destroyed, false);
  assert.match(String(recorded.dialogs.at(-1)!.options.message), /Do you want to save the changes you made to Untitled\?/);

  recorded.dialogAnswers.push(1); // Don't Save
  win.close();
  await until(() => win.destroyed, 'the window closes');
  await until(() => !readdirSync(recoveryDir).some((n) => n.endsWith('.json')), 'recovery copy removed', 2_000);
});

test('Open…, a dropped file and New never replace unsaved work: each opens its own window, the draft stays in its window and the recovery store', async () => {
  await invoke(CHANNELS.shellCommand, trusted(FakeBrowserWindow.getAllWindows()[0]!.webContents), { kind: 'new' });
  const win = await until(() => FakeBrowserWindow.getAllWindows().find((w) => w.title === 'Untitled — Likely' && !w.destroyed), 'a new untitled window');
  const pg = page(win);
  await pg.ready();
  pg.type('Unsaved words that must survive.');
  const recoveryDir = join(userData, 'recovery');
  const recovered = () => readdirSync(recoveryDir).filter((n) => n.endsWith('.json')).map((n) => JSON.parse(readFileSync(join(recoveryDir, n), 'utf8')).text as string);
  await until(() => recovered().includes('Unsaved words that must survive.'), 'the draft in the recovery store', 5_000);
  const count = () => FakeBrowserWindow.getAllWindows().filter((w) => !w.destroyed).length;

  // A file dropped on the window (the preload hands main its path).
  const dropped = join(dir, 'dropped.md');
  writeFileSync(dropped, 'Dropped.\n');
  let before = count();
  await invoke(CHANNELS.shellOpenPath, trusted(pg.wc), dropped);
  await until(() => count() === before + 1, 'a window for the dropped file');
  // File ▸ Open….
  const picked = join(dir, 'picked.txt');
  writeFileSync(picked, 'Picked.\n');
  before = count();
  recorded.dialogAnswers.push([picked]);
  await invoke(CHANNELS.shellCommand, trusted(pg.wc), { kind: 'open' });
  await until(() => count() === before + 1, 'a window for the opened file');
  // File ▸ New.
  before = count();
  await invoke(CHANNELS.shellCommand, trusted(pg.wc), { kind: 'new' });
  await until(() => count() === before + 1, 'a new window');

  assert.equal(win.destroyed, false, 'the unsaved window is still open');
  assert.equal(win.title, '• Untitled — Likely', 'still unsaved, still its own');
  assert.equal((await pg.ready()).text, 'Unsaved words that must survive.', 'its page (reloaded) gets its text back');
  assert.ok(recovered().includes('Unsaved words that must survive.'), 'and the recovery store still holds it');
  // Close what this test opened (the unsaved window without saving), and let their last settings writes land.
  for (const w of FakeBrowserWindow.getAllWindows().filter((x) => !x.destroyed && x !== FakeBrowserWindow.getAllWindows()[0])) {
    if (w === win) recorded.dialogAnswers.push(1); // Don't Save
    w.close();
    await until(() => w.destroyed, 'the window closes', 5_000);
  }
  await sleep(300);
});

test('models over IPC: sender and arguments checked, a native folder picker imports, switching restarts every window\'s engine and is saved', async () => {
  const windows = FakeBrowserWindow.getAllWindows();
  const wc = windows[0]!.webContents;
  const forged = { sender: wc, senderFrame: { url: 'https://evil.example/', parent: null } };
  await assert.rejects(invoke(CHANNELS.modelsCall, forged, 'modelsState', {}), /untrusted sender/);
  await assert.rejects(invoke(CHANNELS.modelsCall, trusted(wc), 'resolve', { id: 'embedded' }), /unknown models method/);
  await assert.rejects(invoke(CHANNELS.modelsCall, trusted(wc), 'selectModel', { id: '../../etc' }), /invalid parameters for selectModel/);
  await assert.rejects(invoke(CHANNELS.modelsCall, trusted(wc), 'importModel', { dir: 'relative/dir' }), /absolute folder path/);

  const state = (await invoke(CHANNELS.modelsCall, trusted(wc), 'modelsState', {})) as ModelsState;
  assert.equal(state.selected, 'embedded');
  assert.equal(state.nativeFolderPicker, true);
  assert.equal(state.modelsDir, join(dir, 'models'));
  assert.ok(state.models.some((m) => m.id === 'gpt2-small-fp32' && !m.installed && m.downloadBytes! > 4e8), 'the registry is listed with sizes');

  // Import through the native folder picker (cancel first).
  const folder = join(dir, 'my-gpt2');
  cpSync(EMBEDDED_MODEL_DIR, folder, { recursive: true, filter: (src) => !basename(src).startsWith('.likely-') });
  const config = JSON.parse(readFileSync(join(folder, 'config.json'), 'utf8')) as { likely: Record<string, unknown> };
  writeFileSync(join(folder, 'config.json'), JSON.stringify({ ...config, likely: { ...config.likely, name: 'My GPT-2 export' } }));
  recorded.dialogAnswers.push(null);
  assert.equal(await invoke(CHANNELS.modelsCall, trusted(wc), 'importModel', {}), null);
  recorded.dialogAnswers.push([folder]);
  const entry = (await invoke(CHANNELS.modelsCall, trusted(wc), 'importModel', {})) as ModelListEntry;
  assert.deepEqual((recorded.dialogs.at(-1)!.options as { properties: string[] }).properties, ['openDirectory']);
  assert.equal(entry.id, 'local-my-gpt2');
  assert.equal(entry.path, folder);
  const modelsEvents = (w: FakeWebContents) => w.sent.filter((m) => m.channel === CHANNELS.modelsEvent).map((m) => m.payload as { event: string; data: ModelsState });
  assert.ok(windows.every((w) => modelsEvents(w.webContents).some((e) => e.event === 'modelsState' && e.data.models.some((m) => m.id === 'local-my-gpt2'))), 'every window hears of the import');

  // Use it: every window's engine restarts with it; the choice is saved.
  const seen = new Map(windows.map((w) => [w, w.webContents.sent.length]));
  const selection = (await invoke(CHANNELS.modelsCall, trusted(wc), 'selectModel', { id: 'local-my-gpt2' })) as ModelSelection;
  assert.equal(selection.model?.name, 'My GPT-2 export');
  for (const w of windows) {
    const statuses = engineEvents({ sent: w.webContents.sent.slice(seen.get(w)) } as FakeWebContents, 'status') as EngineStatus[];
    assert.ok(statuses.some((st) => st.state === 'ready' && st.model?.name === 'My GPT-2 export'), `window ${w.title} runs the new model`);
  }
  await sleep(100);
  const saved = JSON.parse(readFileSync(join(userData, 'settings.json'), 'utf8')) as { modelId: string; modelDir: string; device: string };
  assert.deepEqual([saved.modelId, saved.modelDir], ['local-my-gpt2', folder]);

  const cpu = (await invoke(CHANNELS.modelsCall, trusted(wc), 'setDevice', { device: 'cpu' })) as ModelSelection;
  assert.equal(cpu.model?.device, 'cpu');
  assert.equal(cpu.model?.fallbackReason, 'CPU chosen in settings');
  await invoke(CHANNELS.modelsCall, trusted(wc), 'selectModel', { id: 'embedded' });
  await sleep(100);
  const back = JSON.parse(readFileSync(join(userData, 'settings.json'), 'utf8')) as { modelId: string; modelDir: string | null; device: string };
  assert.deepEqual([back.modelId, back.modelDir, back.device], ['embedded', null, 'cpu']);
});
