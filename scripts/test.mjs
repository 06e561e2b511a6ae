// The README's test command: lint + typecheck, then every test file (unit, integration, browser
// E2E) under node's test runner. The last line is "N passed, N failed, N skipped".
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

const env = { ...process.env, ELECTRON_SKIP_BINARY_DOWNLOAD: '1', ONNXRUNTIME_NODE_INSTALL: 'skip' };
const run = (cmd, args) => spawnSync(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'], env, encoding: 'utf8', maxBuffer: 1 << 28 });

let failedChecks = 0;
for (const [name, cmd, args] of [
  ['lint', 'npx', ['eslint', '.']],
  ['typecheck', 'npx', ['tsc', '-b']],
  ['typecheck .svelte', 'npx', ['svelte-check', '--tsconfig', 'renderer/tsconfig.json', '--fail-on-warnings', '--output', 'human']],
  ['renderer build', 'npm', ['run', '--silent', 'build:renderer']],
]) {
  const r = run(cmd, args);
  process.stdout.write(r.stdout ?? '');
  console.log(`${r.status === 0 ? 'ok' : 'FAILED'}: ${name}`);
  if (r.status !== 0) failedChecks++;
}

// Node 20's test runner takes no globs: collect every *.test.ts under the source folders.
function testFiles(dir) {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return ['node_modules', 'dist', 'artifacts', 'random', 'embedded'].includes(e.name) ? [] : testFiles(path);
    return e.name.endsWith('.test.ts') ? [path] : [];
  });
}
const files = process.argv.slice(2).length ? process.argv.slice(2) : ['common', 'models', 'electron', 'renderer', 'e2e'].flatMap(testFiles);
const r = run('node', ['--import', 'tsx', '--test', '--test-concurrency=2', '--test-reporter=spec', ...files]);
process.stdout.write(r.stdout ?? '');
const count = (label) => Number((r.stdout.match(new RegExp(`ℹ ${label} (\\d+)`)) ?? [])[1] ?? 0);
const passed = count('pass');
const failed = count('fail') + failedChecks;
const skipped = count('skipped');
console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(r.status === 0 && failedChecks === 0 ? 0 : 1);
