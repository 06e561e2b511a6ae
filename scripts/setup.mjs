// `npm run setup`: installs what the app and its tests need, each step saying what it does. Run it
// again any time: every step first looks whether its part is there, so a second run adds nothing.
//   1. npm packages, without the downloads that cannot work offline (Electron's binary, onnxruntime's
//      CUDA provider, Playwright's browsers): the app needs nothing else to run (`npm start`).
//   2. the renderer build (renderer/dist), which the web page and the browser tests load.
//   3. Chromium for the browser tests: Debian's `chromium` with apt (as root or with passwordless
//      sudo), else Playwright's own download where its CDN answers, else what to install by hand.
//   4. Python's onnx and numpy at /usr/bin/python3 for int8 quantization (models/training/quantize.py,
//      its tests, `npm run bench -- --only int8`): Debian's `python3-onnx` with apt, else what to install.
// Steps 3 and 4 never fail the setup: without them the app runs and the tests that need them skip,
// saying why (npm test lists them at the end).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const PYTHON = '/usr/bin/python3';
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

let stepStart = 0;
const seconds = () => `${Math.round((performance.now() - stepStart) / 1000)} s`;
const step = (what) => {
  if (stepStart) console.log(`  (${seconds()})`);
  stepStart = performance.now();
  console.log(`\n• ${what}`);
};
const say = (line) => console.log(`  ${line}`);
/** Runs a command with its output shown; exits the setup when it fails. */
function mustRun(cmd, args, env = process.env) {
  const r = spawnSync(cmd, args, { cwd: ROOT, stdio: 'inherit', env });
  if (r.status !== 0) {
    console.error(`\nsetup failed: \`${[cmd, ...args].join(' ')}\` ${r.error ? r.error.message : `exited with ${r.status}`}`);
    process.exit(1);
  }
}
/** Runs a command quietly; its output comes back for a failure message. */
function quiet(cmd, args, env = process.env) {
  const r = spawnSync(cmd, args, { cwd: ROOT, encoding: 'utf8', env, maxBuffer: 1 << 26 });
  return { ok: r.status === 0, out: `${r.stdout ?? ''}${r.stderr ?? ''}${r.error ? r.error.message : ''}`.trim() };
}
const lastLines = (text, n = 8) => text.split('\n').slice(-n).map((l) => `    ${l}`).join('\n');

console.log('Likely setup: what the app and its tests need. Running it again adds only what is missing.');
const [major] = process.versions.node.split('.').map(Number);
if (major < 20) {
  console.error(`setup failed: Likely needs Node 20 or newer; this is Node ${process.versions.node}`);
  process.exit(1);
}

step('npm packages: npm install (without Electron\'s binary, onnxruntime\'s CUDA provider and Playwright\'s browsers: they download from outside the npm registry)');
mustRun(npm, ['install', '--no-audit', '--no-fund'], { ...process.env, ELECTRON_SKIP_BINARY_DOWNLOAD: '1', ONNXRUNTIME_NODE_INSTALL: 'skip', PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD: '1' });

step('the renderer build: npm run build:renderer (renderer/dist, what the app shows)');
mustRun(npm, ['run', '--silent', 'build:renderer']);

// The browser tests' own lookup (e2e/chromium.ts) decides whether Chromium is there; it is TypeScript,
// which tsx (installed above) loads.
const { register } = await import('tsx/esm/api');
register();
const { findChromium, DEBIAN_CHROMIUM, PLAYWRIGHT_CHROMIUM } = await import(pathToFileURL(join(ROOT, 'e2e', 'chromium.ts')).href);

/** apt-get as root, or through passwordless sudo; null where neither works (or there is no apt). */
function aptGet() {
  if (process.platform !== 'linux' || !existsSync('/usr/bin/apt-get')) return null;
  if (process.getuid?.() === 0) return { cmd: 'apt-get', args: [] };
  if (quiet('sudo', ['-n', 'true']).ok) return { cmd: 'sudo', args: ['-n', 'apt-get'] };
  return null;
}
const APT = aptGet();
/** Whether apt knows an installable package of this name (Debian's chromium; Ubuntu has only a snap stub). */
const aptHas = (pkg) => existsSync('/usr/bin/apt-cache') && /Candidate: (?!\(none\))/.test(quiet('apt-cache', ['policy', pkg]).out);
const aptEnv = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
let aptUpdated = false;
/** Installs Debian packages with apt-get when this user may; returns whether they are installed. */
function aptInstall(packages, approx) {
  if (!APT) return false;
  if (!aptUpdated) {
    say(`apt-get update ...`);
    const u = quiet(APT.cmd, [...APT.args, 'update', '-q'], aptEnv);
    if (!u.ok) {
      say(`apt-get update failed:\n${lastLines(u.out)}`);
      return false;
    }
    aptUpdated = true;
  }
  const unknown = packages.filter((p) => !aptHas(p));
  if (unknown.length) {
    say(`apt has no ${unknown.join(', ')} package here`);
    return false;
  }
  say(`apt-get install ${packages.join(' ')} (${approx}) ...`);
  const r = quiet(APT.cmd, [...APT.args, 'install', '-y', '-q', ...packages], aptEnv);
  if (!r.ok) say(`apt-get install failed:\n${lastLines(r.out)}`);
  return r.ok;
}

/** Whether Playwright's browser CDN answers (it does not on machines that reach only npm and apt). */
async function playwrightCdnAnswers() {
  const host = process.env.PLAYWRIGHT_DOWNLOAD_HOST || 'https://cdn.playwright.dev';
  try {
    await fetch(host, { method: 'HEAD', signal: AbortSignal.timeout(10_000) });
    return true;
  } catch (e) {
    say(`Playwright's browser download (${host}) cannot be reached: ${e.cause?.code ?? e.message}`);
    return false;
  }
}

const missing = [];

step('Chromium for the browser tests');
const chromiumVersion = (path) => {
  const r = quiet(path, ['--version']);
  return r.ok ? r.out.split('\n')[0] : null;
};
let chromium = findChromium();
if (!('path' in chromium)) {
  if (APT && aptInstall(['chromium'], 'about 300 MB with its libraries; a few minutes')) {
    chromium = findChromium();
  } else if (await playwrightCdnAnswers()) {
    // --with-deps installs the browser's system libraries with apt where this user may (Ubuntu, where apt's chromium is a snap).
    say(`npx playwright install${APT ? ' --with-deps' : ''} chromium (about 180 MB into ${dirname(dirname(PLAYWRIGHT_CHROMIUM))}) ...`);
    const r = quiet(npm, ['exec', '--', 'playwright', 'install', ...(APT ? ['--with-deps'] : []), 'chromium'], { ...process.env, PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD: '' });
    if (!r.ok) say(`playwright install failed:\n${lastLines(r.out)}`);
    chromium = findChromium();
  }
}
if ('path' in chromium && chromiumVersion(chromium.path)) {
  say(`${chromium.path}: ${chromiumVersion(chromium.path)}`);
} else {
  const why = 'path' in chromium ? `${chromium.path} does not start: ${quiet(chromium.path, ['--version']).out.split('\n')[0]}` : `none at ${DEBIAN_CHROMIUM} or ${PLAYWRIGHT_CHROMIUM}`;
  missing.push({
    what: `Chromium (${why})`,
    install: aptHas('chromium') ? 'sudo apt-get install chromium' : 'npx playwright install --with-deps chromium',
    skips: 'the browser tests (e2e/editor, infill-ui, models-ui, export) skip; npm run bench:browser and npm run screenshot cannot run',
  });
}

step(`Python's onnx and numpy at ${PYTHON} for int8 quantization (models/training/quantize.py)`);
const onnxCheck = () => quiet(PYTHON, ['-c', 'import numpy, onnx; print("onnx", onnx.__version__, "numpy", numpy.__version__)']);
let onnx = onnxCheck();
if (!onnx.ok && APT && aptInstall(['python3-onnx'], 'about 30 MB with numpy and protobuf')) onnx = onnxCheck();
if (onnx.ok) {
  say(`${PYTHON}: ${onnx.out}`);
} else {
  missing.push({
    what: `Python's onnx and numpy (${PYTHON}: ${existsSync(PYTHON) ? onnx.out.split('\n').at(-1) : 'not installed'})`,
    install: aptHas('python3-onnx') ? 'sudo apt-get install python3-onnx' : `${PYTHON} -m pip install onnx numpy`,
    skips: 'the int8 tests skip (models/manager/quantize.test.ts, the int8 switch in models/src/engine-host.test.ts); npm run bench -- --only int8 cannot run',
  });
}

console.log(`  (${seconds()})`);
if (!missing.length) {
  console.log('\nSet up. npm start runs the app; npm test runs every test.');
} else {
  console.log(`\nSet up, except for what ${APT ? 'could not be installed' : 'needs root or sudo for apt (run setup as root, or install it yourself)'}:`);
  for (const m of missing) console.log(`  - ${m.what}\n    install: ${m.install}, then run npm run setup again\n    until then: ${m.skips}`);
  console.log('npm start runs the app without them.');
}
