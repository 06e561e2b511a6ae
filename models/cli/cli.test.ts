// The CLI as scripts use it: its stdout goes to a pipe read by another process.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { AttentionResult, TokenScore } from '../../common/api.ts';
import { scoreProgress } from './progress.ts';
import { EMBEDDED_MODEL_DIR } from '../src/paths.ts';
import { configWith } from '../testing/bad-configs.ts';
import { hostileFolder, HOSTILE_WORDS, type Hostile } from '../testing/hostile-folders.ts';

function cli(args: string[], script = 'models/cli.ts', timeoutMs = 0): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], { stdio: ['ignore', 'pipe', 'pipe'], timeout: timeoutMs || undefined, killSignal: 'SIGKILL' });
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

test('every option that takes a value fails with one line when it has none, in the CLI and in every script (eval:model --model used to evaluate the embedded model)', { timeout: 600_000 }, async () => {
  const cases: [string, string[]][] = [
    ['models/cli.ts', ['score', 'x.txt', '--model']],
    ['models/cli.ts', ['score', 'x.txt', '--model', '--json']],
    ['models/cli.ts', ['score', 'x.txt', '--model=']],
    ['models/cli.ts', ['infill', 'x.txt', '--from']],
    ['models/cli.ts', ['export', 'x.txt', '--html']],
    ['models/cli.ts', ['models', 'import', 'dir', '--id']],
    ['server/serve.ts', ['--port']],
    ['server/serve.ts', ['--models-dir']],
    ['models/bench/bench.ts', ['--model']],
    ['models/bench/bench.ts', ['--only']],
    ['models/eval/model-card.ts', ['--model']],
    ['models/eval/model-card.ts', ['--max-tokens', '--json']],
    ['models/eval/infill-eval.ts', ['--model']],
    ['models/eval/infill-eval.ts', ['--items']],
    ['models/synthetic/random-models.ts', ['small', '--dtype']],
    ['e2e/bench/browser-bench.ts', ['--keys']],
    ['e2e/bench/browser-bench.ts', ['--profile']],
    ['e2e/bench/static-web-bench.ts', ['--runs']],
    ['e2e/bench/screenshot.ts', ['--out']],
  ];
  for (const [script, args] of cases) {
    const r = await cli(args, script, 60_000);
    const what = `${script} ${args.join(' ')}: ${r.stderr}`;
    assert.equal(r.code, 2, what);
    assert.equal(r.stdout, '', what);
    assert.match(r.stderr, /^[\w: ]+: option --[\w-]+ needs a value\n$/, what);
  }
  // Values that are there but wrong are one line too.
  for (const [script, args, message] of [
    ['models/eval/model-card.ts', ['--max-tokens', 'many'], /^eval:model: --max-tokens must be an integer, got "many"\n$/],
    ['models/eval/infill-eval.ts', ['--items', '0'], /^eval:infill: --items must be at least 1, got 0\n$/],
    ['models/bench/bench.ts', ['--only', 'p4'], /^bench: --only takes p1, p2, p3, infill, int8, got "p4"\n$/],
    ['models/bench/bench.ts', ['--frobnicate'], /^bench: unknown option --frobnicate\n$/],
    ['models/synthetic/random-models.ts', ['huge'], /^models:random: unknown size "huge"; usage: /],
  ] as const) {
    const r = await cli([...args], script, 60_000);
    assert.equal(r.code, 2, `${script}: ${r.stderr}`);
    assert.match(r.stderr, message);
  }
});

test('a model folder with a FIFO, a link to /dev/zero or a 9 GB file in place of one of its files is one line naming it, at once (score and eval:model hung, or grew to 9 GB)', { timeout: 900_000, skip: process.platform === 'win32' && 'needs mkfifo' }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'likely-cli-hostile-'));
  try {
    const text = join(dir, 'draft.txt');
    writeFileSync(text, 'A short draft to score.\n');
    const cases: [string, Hostile][] = [
      ['config.json', 'fifo'],
      ['onnx/model.onnx', 'fifo'],
      ['vocab.json', 'fifo'],
      ['merges.txt', 'fifo'],
      ['tokenizer.json', 'fifo'],
      ['onnx/model.onnx_data', 'fifo'],
      ['config.json', 'zero'],
      ['onnx/model.onnx', 'zero'],
      ['vocab.json', 'zero'],
      ['config.json', 'huge'],
      ['vocab.json', 'huge'],
      ['onnx/model.onnx', 'huge'],
    ];
    for (const [file, kind] of cases) {
      const model = hostileFolder(join(dir, 'model'), file, kind);
      for (const [script, args] of [
        ['models/cli.ts', ['score', text, '--model', model]],
        ...(file === 'config.json' || kind === 'fifo' ? [['models/eval/model-card.ts', ['--model', model, '--max-tokens', '50']] as const] : []),
      ] as const) {
        const r = await cli([...args], script, 60_000);
        const what = `${script} with ${file} as ${kind}: ${r.code} ${r.stderr}`;
        assert.equal(r.code, 1, what);
        assert.equal(r.stdout, '', what);
        assert.equal(r.stderr.split('\n').filter(Boolean).length, 1, what);
        assert.ok(r.stderr.includes(join(model, file)), what);
        assert.match(r.stderr, HOSTILE_WORDS[kind], what);
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('config values the graph cannot run and malformed tokenizers are one line from score and eval:model, with no onnxruntime log line (n_positions 0 hung score on a long text)', { timeout: 600_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'likely-cli-config-'));
  try {
    const long = join(dir, 'long.txt');
    writeFileSync(long, 'The river ran past the mill and the town slept. '.repeat(400));
    const model = join(dir, 'model');
    cpSync(EMBEDDED_MODEL_DIR, model, { recursive: true, filter: (src) => !src.split('/').pop()!.startsWith('.likely-') });
    for (const [change, message] of [
      [{ n_positions: 0 }, /"n_positions" must be a positive integer, got 0/],
      [{ n_positions: '1e308' }, /"n_positions" must be at most 131072, got 1e\+308/],
      [{ n_head: 4 }, /n_head 4 does not match/],
    ] as const) {
      writeFileSync(join(model, 'config.json'), configWith(change));
      for (const [script, args] of [['models/cli.ts', ['score', long, '--model', model]], ['models/eval/model-card.ts', ['--model', model]]] as const) {
        const r = await cli([...args], script, 120_000);
        assert.equal(r.code, 1, `${script} ${JSON.stringify(change)}: ${r.stderr}`);
        assert.match(r.stderr, message);
        assert.ok(r.stderr.includes(join(model, 'config.json')), r.stderr);
        assert.equal(r.stderr.split('\n').filter(Boolean).length, 1, r.stderr);
        assert.ok(!r.stderr.includes('\x1b') && !r.stderr.includes('onnxruntime'), r.stderr);
      }
    }
    writeFileSync(join(model, 'config.json'), configWith({}));
    rmSync(join(model, 'vocab.json'));
    const tj = JSON.parse(readFileSync(join(model, 'tokenizer.json'), 'utf8')) as { model: Record<string, unknown> };
    writeFileSync(join(model, 'tokenizer.json'), JSON.stringify({ ...tj, model: { ...tj.model, merges: { broken: true } } }));
    for (const [script, args] of [['models/cli.ts', ['score', long, '--model', model]], ['models/eval/model-card.ts', ['--model', model]]] as const) {
      const r = await cli([...args], script, 120_000);
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, new RegExp(`^[\\w:]+: ${join(model, 'tokenizer.json').replace(/[.]/g, '\\.')}: model\\.merges is an object, not a list of merges\\n$`));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('plain score shows token text by the app\'s rule: bidi controls and other invisible characters as ⟨U+XXXX⟩, never raw', { timeout: 120_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'likely-cli-bidi-'));
  try {
    const file = join(dir, 'bidi\u202e.txt');
    writeFileSync(file, 'Pay \u202eeulav\u202c now \u2066isolated\u2069 text\u0007 here \u200f and \u001b[31mred.\n');
    const r = await cli(['score', file]);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(![...r.stdout].some((ch) => /[\u202a-\u202e\u2066-\u2069\u200e\u200f]/.test(ch) || (ch < ' ' && ch !== '\n')), 'no invisible character reaches the terminal');
    assert.match(r.stdout, /⟨U\+202E⟩/);
    assert.match(r.stdout, /^.*bidi⟨U\+202E⟩\.txt: \d+ tokens/);
    // The JSON keeps the text exactly (a contract): only the human form is made visible.
    const json = await cli(['score', file, '--json']);
    assert.ok((JSON.parse(json.stdout) as { tokens: TokenScore[] }).tokens.map((t) => t.text).join('').includes('\u202eeulav'));
    // infill shows its span and rewrites the same way.
    const infill = await cli(['infill', file, '--from', '4', '--to', '11', '--k', '3']);
    assert.equal(infill.code, 0, infill.stderr);
    assert.match(infill.stdout, /^“⟨U\+202E⟩eulav⟨U\+202C⟩” at 4\.\.11/);
    assert.ok(![...infill.stdout].some((ch) => /[\u202a-\u202e\u2066-\u2069]/.test(ch)), infill.stdout);
    // An error that quotes a name does the same.
    const missing = await cli(['score', join(dir, 'gone\u202e\u001b[2J.txt')]);
    assert.match(missing.stderr, /^likely: gone⟨U\+202E⟩⟨U\+001B⟩\[2J\.txt was not found/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
