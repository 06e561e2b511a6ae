// `npm start`: the desktop app where an Electron binary can run; otherwise one line saying why,
// then the same app as a local web page (`npm run serve`). Never triggers the electron package's
// binary download (it cannot work offline): electron/electron-binary.ts has the same check.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

function findElectron() {
  let pkgDir;
  try {
    pkgDir = dirname(createRequire(import.meta.url).resolve('electron/package.json'));
  } catch {
    return { reason: 'the electron package is not installed' };
  }
  const pathFile = join(pkgDir, 'path.txt');
  const override = process.env.ELECTRON_OVERRIDE_DIST_PATH;
  if (!override && !existsSync(pathFile)) return { reason: 'no Electron binary in node_modules/electron (installed with ELECTRON_SKIP_BINARY_DOWNLOAD=1)' };
  const rel = existsSync(pathFile) ? readFileSync(pathFile, 'utf8').trim() : 'electron';
  const bin = override ? join(override, rel) : join(pkgDir, 'dist', rel);
  if (!existsSync(bin)) return { reason: `the Electron binary ${bin} is missing` };
  const probe = spawnSync(bin, ['--version'], { encoding: 'utf8', timeout: 20_000, env: { ...process.env, ELECTRON_RUN_AS_NODE: '1' } });
  if (probe.status !== 0) return { reason: `the Electron binary does not run here (${(probe.stderr || probe.error?.message || `exit ${probe.status}`).trim().split('\n')[0]})` };
  return { bin };
}

const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
function run(script) {
  const r = spawnSync(npm, ['run', '--silent', script], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}

const electron = findElectron();
if ('reason' in electron) {
  console.log(`Likely: ${electron.reason}, so the app runs as a local web page instead (npm run serve).`);
  const serve = spawn(npm, ['run', 'serve'], { cwd: root, stdio: 'inherit' });
  for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => serve.kill(sig));
  serve.on('exit', (code) => process.exit(code ?? 0));
} else {
  run('build:renderer');
  run('build:electron');
  const app = spawn(electron.bin, [root, ...process.argv.slice(2)], { cwd: root, stdio: 'inherit' });
  for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => app.kill(sig));
  app.on('exit', (code) => process.exit(code ?? 0));
}
