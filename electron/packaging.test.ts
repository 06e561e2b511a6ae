import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
// electron-builder's own config loader and schema validator (offline: scheme.json ships in app-builder-lib).
const requireFromBuilder = createRequire(createRequire(import.meta.url).resolve('electron-builder/package.json'));
const builderLib = createRequire(requireFromBuilder.resolve('app-builder-lib/package.json'));
const { getConfig, validateConfiguration } = builderLib('./out/util/config/config.js') as {
  getConfig(projectDir: string, configPath: string | null): Promise<Record<string, unknown>>;
  validateConfiguration(config: unknown, logger: { isEnabled: boolean; add(): void }): Promise<void>;
};
const { minimatch } = builderLib('minimatch') as { minimatch(path: string, pattern: string, opts?: object): boolean };
const yaml = builderLib('js-yaml') as { load(text: string): unknown };
const quiet = { isEnabled: false, add() {} };
// electron-builder logs "• loaded configuration" to stdout in three writes; a test file's stdout is the channel
// node:test's runner reads its serialized results from, and such writes interleaving with them made the run fail
// with "Unable to deserialize cloned data" (nodejs/node#48103). Its log goes nowhere here.
const { log } = builderLib('builder-util') as { log: { stream: { write(chunk: string): boolean } } };
log.stream = { write: () => true };

type Config = {
  files: string[];
  asarUnpack: string[];
  extraResources: { from: string; to: string }[];
  electronFuses: Record<string, boolean>;
  icon: string;
  linux: { target: string[] };
  win: { target: string[] };
  mac: { target: string[]; entitlements: string };
  directories: { output: string; buildResources: string };
};
const CONFIG = join(root, 'electron-builder.yml');
/** The config as electron-builder loads it (for validation). */
const load = () => getConfig(root, CONFIG);
/** The config as written (for the checks of its content). */
const raw = async () => yaml.load(readFileSync(CONFIG, 'utf8')) as Config;

test("electron-builder.yml passes electron-builder's own schema validation", async () => {
  await validateConfiguration(await load(), quiet);
});

test('the validator rejects what it should (so the check above can fail)', async () => {
  const config = await load();
  await assert.rejects(validateConfiguration({ ...config, asarUnpak: ['x'] }, quiet), /asarUnpak/);
  const fuses = config.electronFuses as Record<string, boolean>;
  await assert.rejects(validateConfiguration({ ...config, electronFuses: { ...fuses, runAsNod: false } }, quiet), /configuration\.electronFuses/);
  await assert.rejects(validateConfiguration({ ...config, nsis: { oneClick: 'yes' } }, quiet), /configuration\.nsis\.oneClick/);
});

test('targets: AppImage and deb, NSIS, dmg; the icon is a 1024×1024 PNG', async () => {
  const c = await raw();
  assert.deepEqual(c.linux.target, ['AppImage', 'deb']);
  assert.deepEqual(c.win.target, ['nsis']);
  assert.deepEqual(c.mac.target, ['dmg']);
  assert.equal(c.directories.buildResources, 'build');
  const png = readFileSync(join(root, c.icon));
  assert.deepEqual([...png.subarray(1, 4)].map((b) => String.fromCharCode(b)).join(''), 'PNG');
  assert.equal(png.readUInt32BE(16), 1024);
  assert.equal(png.readUInt32BE(20), 1024);
  assert.ok(statSync(join(root, c.mac.entitlements)).isFile());
});

test('the security fuses are set', async () => {
  const f = (await raw()).electronFuses;
  assert.equal(f.runAsNode, false);
  assert.equal(f.enableNodeOptionsEnvironmentVariable, false);
  assert.equal(f.enableNodeCliInspectArguments, false);
  assert.equal(f.onlyLoadAppFromAsar, true);
  assert.equal(f.enableEmbeddedAsarIntegrityValidation, true);
  assert.equal(f.grantFileProtocolExtraPrivileges, false);
  assert.equal(f.enableCookieEncryption, true);
});

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(dir, e.name)) : [join(dir, e.name)]));
}

test("every onnxruntime native file is unpacked from the asar, and only this platform's are packed", async () => {
  const c = await raw();
  const bin = join(root, 'node_modules', 'onnxruntime-node', 'bin');
  const natives = walk(bin).map((p) => relative(root, p).split('\\').join('/'));
  assert.ok(natives.some((p) => p.endsWith('.node')) && natives.some((p) => /\.(so|dylib|dll)/.test(p)));
  for (const p of natives) assert.ok(c.asarUnpack.some((pattern) => minimatch(p, pattern, { dot: true })), `${p} is unpacked`);

  const excluded = (path: string, platform: string, arch: string) =>
    c.files.filter((f) => f.startsWith('!')).some((f) => minimatch(path, f.slice(1).replaceAll('${platform}', platform).replaceAll('${arch}', arch), { dot: true }));
  for (const [platform, arch] of [['linux', 'x64'], ['darwin', 'arm64'], ['win32', 'x64']] as const) {
    const kept = natives.filter((p) => !excluded(p, platform, arch));
    assert.ok(kept.length >= 2, `${platform}/${arch} keeps its binaries`);
    assert.ok(kept.every((p) => p.includes(`/${platform}/${arch}/`)), `${platform}/${arch} packs no other platform's binaries`);
  }
});

test('the app files and the embedded model are packaged', async () => {
  const c = await raw();
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { main: string };
  const included = (p: string) => c.files.some((f) => !f.startsWith('!') && minimatch(p, f, { dot: true })) && !c.files.some((f) => f.startsWith('!') && minimatch(p, f.slice(1), { dot: true }));
  for (const p of [pkg.main, 'dist/electron/preload.cjs', 'dist/electron/engine-process.js', 'renderer/dist/index.html', 'package.json']) assert.ok(included(p), `${p} is packaged`);
  for (const p of ['electron/main.ts', 'models/embedded/onnx/model.onnx', 'dist/electron/main.js.map']) assert.ok(!included(p), `${p} is not in the asar`);
  const model = c.extraResources.find((r) => r.to === 'embedded');
  assert.equal(model?.from, 'models/embedded');
  for (const f of ['config.json', 'tokenizer.json', 'onnx/model.onnx']) assert.ok(statSync(join(root, 'models', 'embedded', f)).isFile(), f);
});
