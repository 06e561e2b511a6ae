// The CLI as scripts use it: its stdout goes to a pipe read by another process.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { AttentionResult, TokenScore } from '../../common/api.ts';
import { scoreProgress } from './progress.ts';

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

test('files the app refuses are refused the same way, at once: a FIFO (it used to block forever), a folder, binary data; UTF-16 with a BOM is text', { timeout: 120_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'likely-cli-files-'));
  try {
    const fifo = join(dir, 'pipe.txt');
    execFileSync('mkfifo', [fifo]);
    const binary = join(dir, 'image.png');
    writeFileSync(binary, Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 0, 0, 0x0d]));
    for (const [path, message] of [
      [fifo, /pipe\.txt is a named pipe \(FIFO\), not a text file/],
      [dir, /is a folder, not a text file/],
      [binary, /image\.png is not a text file \(it contains binary data\)/],
    ] as const) {
      const r = await cli(['score', path, '--json']);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, /^likely: .+\n$/);
      assert.match(r.stderr, message);
    }
    // Windows Notepad's "Unicode": the app opens it, and so does the CLI (it said "binary (NUL bytes)").
    const utf16 = join(dir, 'notepad.txt');
    writeFileSync(utf16, Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('Hello there, world.', 'utf16le')]));
    const r = await cli(['score', utf16, '--json']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal((JSON.parse(r.stdout) as { tokens: TokenScore[] }).tokens.map((t) => t.text).join(''), 'Hello there, world.');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('attention --json: the shape scripts read, top-k per head strongest first, all sources with --full; the human output and bad offsets', { timeout: 180_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'likely-cli-attention-'));
  try {
    const passage = 'Seven purple kites drifted over the quiet harbor while old Mr. Abernathy counted gulls.';
    const text = `${passage} ${passage}`;
    const file = join(dir, 'repeated.txt');
    writeFileSync(file, text);
    const at = text.lastIndexOf('Abernathy');
    const r = await cli(['attention', file, '--at', String(at + 2), '--json', '--k', '3']);
    assert.equal(r.code, 0, r.stderr);
    const json = JSON.parse(r.stdout) as AttentionResult;
    assert.deepEqual(Object.keys(json.token).sort(), ['end', 'index', 'start', 'text']);
    assert.equal(json.token.text, text.slice(json.token.start, json.token.end));
    assert.ok(json.token.start <= at + 2 && at + 2 < json.token.end, 'the token at the offset');
    assert.deepEqual(json.window, { start: 0, end: text.length });
    assert.ok(json.layers.length > 1);
    for (const layer of json.layers) {
      for (const head of layer.heads) {
        assert.equal(head.top.length, 3);
        for (const s of head.top) assert.deepEqual(Object.keys(s).sort(), ['end', 'index', 'start', 'text', 'weight']);
        assert.ok(head.top[0]!.weight >= head.top[1]!.weight && head.top[1]!.weight >= head.top[2]!.weight);
      }
    }
    assert.equal(json.copiedFrom?.text, text.slice(json.copiedFrom!.start, json.copiedFrom!.end));
    assert.ok(json.copiedFrom!.start < passage.length && json.copiedFrom!.start === json.token.start - passage.length - 1, `copied from the first copy: ${JSON.stringify(json.copiedFrom)}`);

    const full = JSON.parse((await cli(['attention', file, '--at', String(at + 2), '--json', '--full'])).stdout) as AttentionResult;
    assert.ok(full.layers.every((layer) => layer.heads.every((h) => h.top.length === full.sources)), 'every source with --full');

    const human = await cli(['attention', file, '--at', String(at)]);
    assert.equal(human.code, 0, human.stderr);
    assert.match(human.stdout, /^“␣Aber” at \d+\.\.\d+ \(token \d+\), predicted at “\.”; window 0\.\.\d+, \d+ sources\ncopied from “␣Aber” at \d+\.\.\d+ \(token \d+\): layer \d+ head \d+, weight [\d.]+\nlayer 0 {2}heads averaged: /);

    for (const [args, message] of [
      [['--at', String(text.length)], /--at \d+ is outside the text/],
      [['--at', 'x'], /--at must be an integer/],
      [[], /missing --at/],
      [['--at', '3', '--k', '0'], /--k must be between 1 and 1024/],
      [['--at', '3', '--full', '--k', '2'], /--full and --k are exclusive/],
    ] as const) {
      const bad = await cli(['attention', file, ...args]);
      assert.equal(bad.code, 2, `${args.join(' ')}: ${bad.stderr}`);
      assert.match(bad.stderr, /^likely: .+\n$/);
      assert.match(bad.stderr, message);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('progress goes to a terminal only, with tokens, rate and time left, and clears itself at the end', () => {
  assert.equal(scoreProgress({ isTTY: false, write: () => true }), undefined, 'a pipe or a file gets no progress');
  const out: string[] = [];
  let t = 0;
  const progress = scoreProgress({ isTTY: true, write: (s: string) => out.push(s) }, () => t)!;
  t = 10_000;
  progress(20_000, 100_000);
  t = 10_100;
  progress(21_000, 100_000); // within 200 ms of the last line: not redrawn
  t = 20_000;
  progress(100_000, 100_000);
  assert.deepEqual(out, ['\r\x1b[Kscored 20,000 of 100,000 tokens · 2,000 tokens/s · 0:40 left', '\r\x1b[K']);
});
