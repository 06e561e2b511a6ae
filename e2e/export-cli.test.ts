// `likely export` error handling through the real CLI: every bad input is a one-line error on
// stderr, nothing on stdout, a non-zero exit, and no file is created, changed or left behind.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, test } from 'node:test';

const ROOT = resolve(import.meta.dirname, '..');
const dir = mkdtempSync(join(tmpdir(), 'likely-export-cli-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function likely(...args: string[]) {
  const r = spawnSync('npm', ['run', '--silent', 'likely', '--', 'export', ...args], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, LIKELY_DEBUG: '' } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const good = join(dir, 'good.txt');
writeFileSync(good, 'A short draft to export.\n');
const existing = join(dir, 'existing.html');
writeFileSync(existing, 'keep me');
const binary = join(dir, 'binary.txt');
writeFileSync(binary, Buffer.from([0x50, 0x4b, 0x03, 0x04, 0x00, 0x00, 0xff]));
const empty = join(dir, 'empty.txt');
writeFileSync(empty, '');
const folder = join(dir, 'folder');
mkdirSync(folder);

const CASES: [string, string[], RegExp][] = [
  ['missing file', [join(dir, 'nope.txt'), '--html', existing], /^likely: nope\.txt was not found \(.*nope\.txt\)$/],
  ['binary file', [binary, '--html', existing], /^likely: binary\.txt is not a text file \(it contains binary data\)$/],
  ['empty file', [empty, '--html', existing], /^likely: .*empty\.txt is empty$/],
  ['a folder as FILE', [folder, '--html', existing], /^likely: .*folder is a folder, not a text file$/],
  ['bad mode', [good, '--html', existing, '--mode', 'colors'], /^likely: --mode must be logprob, rank or entropy, got "colors"$/],
  ['missing --html', [good], /^likely: missing --html OUT$/],
  ['--html without a value', [good, '--html'], /^likely: option --html needs a value$/],
  ['unknown option', [good, '--html', existing, '--json'], /^likely: unknown option --json$/],
  ['two files', [good, binary, '--html', existing], /^likely: expected one FILE, got 2$/],
  ['OUT in a missing folder', [good, '--html', join(dir, 'no', 'such', 'out.html')], /^likely: cannot write .*out\.html: its folder does not exist$/],
  ['OUT under a file', [good, '--html', join(good, 'out.html')], /^likely: cannot write .*out\.html: part of its path is not a folder$/],
  ['OUT is a folder', [good, '--html', folder], /^likely: cannot write .*folder: it is a folder$/],
  ['OUT is the input', [good, '--html', good], /^likely: --html .*good\.txt is the input file; choose another output path$/],
];

for (const [name, args, message] of CASES) {
  test(`bad input gives a one-line error and a non-zero exit: ${name}`, () => {
    const before = readdirSync(dir).sort();
    const r = likely(...args);
    assert.notEqual(r.status, 0);
    assert.equal(r.stdout, '');
    assert.equal(r.stderr.split('\n').filter(Boolean).length, 1, r.stderr);
    assert.match(r.stderr.trim(), message);
    assert.deepEqual(readdirSync(dir).sort(), before, 'no file created or left behind');
    assert.equal(readFileSync(existing, 'utf8'), 'keep me');
    assert.equal(readFileSync(good, 'utf8'), 'A short draft to export.\n');
  });
}

test("OUT goes through the app's own writer: a device node or FIFO (or a link to one) is refused and left as it was, a link is written through, a dangling link creates its target", { skip: process.platform === 'win32' && 'needs mkfifo and symbolic links' }, () => {
  const out = join(dir, 'writer');
  mkdirSync(out);
  const fifo = join(out, 'pipe.html');
  spawnSync('mkfifo', [fifo]);
  const toFifo = join(out, 'to-pipe.html');
  symlinkSync(fifo, toFifo);
  const toDevice = join(out, 'to-null.html');
  symlinkSync('/dev/null', toDevice);
  const cases: [string, RegExp][] = [
    [fifo, /^likely: cannot save over pipe\.html: it is a named pipe \(FIFO\), not a regular file$/],
    [toFifo, /^likely: cannot save over to-pipe\.html: it is a named pipe \(FIFO\), not a regular file$/],
    [toDevice, /^likely: cannot save over to-null\.html: it is a device, not a regular file$/],
  ];
  // A device node of its own (never /dev/null itself: the old export replaced what it was given). Only root may make one.
  const device = join(out, 'device.html');
  if (spawnSync('mknod', [device, 'c', '1', '3']).status === 0) cases.push([device, /^likely: cannot save over device\.html: it is a device, not a regular file$/]);
  for (const [target, message] of cases) {
    const r = likely(good, '--html', target);
    assert.notEqual(r.status, 0, `${target}: ${r.stderr}`);
    assert.equal(r.stdout, '');
    assert.match(r.stderr.trim(), message);
  }
  assert.ok(lstatSync(fifo).isFIFO(), 'the FIFO is still a FIFO (it used to become a regular file)');
  if (cases.length > 3) assert.ok(lstatSync(device).isCharacterDevice(), 'the device node is still one');
  assert.ok(lstatSync(toFifo).isSymbolicLink() && lstatSync(toDevice).isSymbolicLink());

  const target = join(out, 'target.html');
  writeFileSync(target, 'old');
  const link = join(out, 'link.html');
  symlinkSync(target, link);
  const dangling = join(out, 'dangling.html');
  symlinkSync('created-by-export.html', dangling);
  for (const path of [link, dangling]) {
    const r = likely(good, '--html', path);
    assert.equal(r.status, 0, r.stderr);
    assert.ok(lstatSync(path).isSymbolicLink(), `${path} is still a link (it used to be replaced by a file)`);
  }
  assert.match(readFileSync(target, 'utf8'), /^<!doctype html>/, "the link's target got the export");
  assert.match(readFileSync(join(out, 'created-by-export.html'), 'utf8'), /^<!doctype html>/, "the dangling link's target was created");
  assert.deepEqual(readdirSync(out).filter((n) => n.endsWith('.likely-tmp') || n.endsWith('.tmp')), [], 'no temporary file left');
});

test('a good export replaces OUT atomically, prints its absolute path and leaves no temporary file', () => {
  const before = readdirSync(dir).sort();
  const r = likely(good, '--html', existing, '--mode', 'rank');
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, resolve(existing) + '\n');
  assert.equal(r.stderr, '');
  assert.deepEqual(readdirSync(dir).sort(), before);
  const html = readFileSync(existing, 'utf8');
  assert.match(html, /^<!doctype html>/);
  assert.match(html, /data-mode="rank"/);
  assert.match(html, /<title>good\.txt — Likely<\/title>/);
});
