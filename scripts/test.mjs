// The README's test command: lint + typecheck, then every test file (unit, integration, browser
// E2E) under node's test runner. The last line is "N passed, N failed, N skipped".
import { spawnSync } from 'node:child_process';

const env = { ...process.env, ELECTRON_SKIP_BINARY_DOWNLOAD: '1', ONNXRUNTIME_NODE_INSTALL: 'skip' };
const run = (cmd, args) => spawnSync(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'], env, encoding: 'utf8', maxBuffer: 1 << 28 });

let failedChecks = 0;
for (const [name, cmd, args] of [
  ['lint', 'npx', ['eslint', '.']],
  ['typecheck', 'npx', ['tsc', '-b']],
  ['renderer build', 'npm', ['run', '--silent', 'build:renderer']],
]) {
  const r = run(cmd, args);
  process.stdout.write(r.stdout ?? '');
  console.log(`${r.status === 0 ? 'ok' : 'FAILED'}: ${name}`);
  if (r.status !== 0) failedChecks++;
}

const patterns = process.argv.slice(2).length ? process.argv.slice(2) : ['common/**/*.test.ts', 'models/**/*.test.ts', 'electron/**/*.test.ts', 'renderer/**/*.test.ts', 'e2e/**/*.test.ts'];
const r = run('node', ['--import', 'tsx', '--test', '--test-concurrency=2', '--test-reporter=spec', ...patterns]);
process.stdout.write(r.stdout ?? '');
const count = (label) => Number((r.stdout.match(new RegExp(`ℹ ${label} (\\d+)`)) ?? [])[1] ?? 0);
const passed = count('pass');
const failed = count('fail') + failedChecks;
const skipped = count('skipped');
console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(r.status === 0 && failedChecks === 0 ? 0 : 1);
