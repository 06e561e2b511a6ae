// The CLI as scripts use it: its stdout goes to a pipe read by another process.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { TokenScore } from '../../common/api.ts';

function cli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'models/cli.ts', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

test('score --json to a pipe is complete (well past the 64 KiB a pipe buffers), one line, parseable', { timeout: 180_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'likely-cli-'));
  try {
    const words = ['river', 'morning', 'the', 'walked', 'slowly', 'and', 'light', 'over', 'of', 'a', 'town', 'she'];
    const text = Array.from({ length: 4000 }, (_, i) => words[(i * 7 + (i >> 3)) % words.length]).join(' ') + '.\n';
    const file = join(dir, 'long.txt');
    writeFileSync(file, text);
    const r = await cli(['score', file, '--json']);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(r.stdout.length > 256 * 1024, `stdout is ${r.stdout.length} bytes`);
    assert.equal(r.stdout.indexOf('\n'), r.stdout.length - 1, 'one JSON line');
    const { tokens } = JSON.parse(r.stdout) as { tokens: TokenScore[] };
    assert.equal(tokens.map((t) => t.text).join(''), text, 'the tokens reproduce the whole file');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('an unknown command or a missing file is one line on stderr and a non-zero exit', async () => {
  for (const args of [['frobnicate'], ['score', '/nonexistent/likely.txt', '--json']]) {
    const r = await cli(args);
    assert.notEqual(r.code, 0);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /^likely: .+\n$/);
  }
});
