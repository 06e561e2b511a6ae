/**
 * Finds a runnable Electron binary without triggering the electron package's download (its
 * index.js downloads one when missing, which cannot work offline). Used by e2e/electron.test.ts;
 * scripts/start.mjs has the same logic in plain JS.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

export function findElectronBinary(): { path: string } | { reason: string } {
  let pkgDir: string;
  try {
    pkgDir = dirname(createRequire(import.meta.url).resolve('electron/package.json'));
  } catch {
    return { reason: 'the electron package is not installed' };
  }
  const pathFile = join(pkgDir, 'path.txt');
  const override = process.env.ELECTRON_OVERRIDE_DIST_PATH;
  if (!override && !existsSync(pathFile)) {
    return { reason: 'no Electron binary in node_modules/electron (installed with ELECTRON_SKIP_BINARY_DOWNLOAD=1)' };
  }
  const relative = existsSync(pathFile) ? readFileSync(pathFile, 'utf8').trim() : 'electron';
  const path = override ? join(override, relative) : join(pkgDir, 'dist', relative);
  if (!existsSync(path)) return { reason: `the Electron binary ${path} is missing` };
  const probe = spawnSync(path, ['--version'], { encoding: 'utf8', timeout: 20_000, env: { ...process.env, ELECTRON_RUN_AS_NODE: '1' } });
  if (probe.status !== 0) return { reason: `the Electron binary does not run here (${(probe.stderr || probe.error?.message || `exit ${probe.status}`).trim().split('\n')[0]})` };
  return { path };
}
