import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { buildSync } from 'esbuild';
import {
  atomicWriteFile,
  checkSaveTarget,
  decodeDocument,
  DocumentError,
  encodeDocument,
  fileChanged,
  formatForPath,
  readDocument,
  removeStaleTemps,
  tempPathFor,
  writeDocument,
} from './files.ts';
import { killTestContents } from './testing/kill-contents.ts';

const here = dirname(fileURLToPath(import.meta.url));
let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'likely-files-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

/**
 * Runs fn without root's powers when the tests run as root (as CI does): root reads and writes every
 * file, so a permission error only happens to another user. As root the effective ids become
 * nobody's (65534) for fn, in this process, and root's again after; otherwise fn just runs.
 */
async function unprivileged<T>(fn: () => Promise<T>): Promise<T> {
  if (process.getuid?.() !== 0) return fn();
  chmodSync(dir, 0o755); // nobody must reach the files inside
  process.setegid!(65534);
  process.seteuid!(65534);
  try {
    return await fn();
  } finally {
    process.seteuid!(0);
    process.setegid!(0);
  }
}

describe('readDocument', () => {
  test('reads UTF-8 Markdown and text, keeping what it needs to write them back the same', async () => {
    const md = join(dir, 'draft.md');
    writeFileSync(md, '\ufeff# Title\r\nCafé 日本 🙂\r\n');
    const doc = await readDocument(md);
    assert.equal(doc.text, '# Title\nCafé 日本 🙂\n');
    assert.equal(doc.format, 'markdown');
    assert.deepEqual(doc.encoding, { lineEnding: '\r\n', bom: true });
    assert.deepEqual(encodeDocument(doc.text, doc.encoding), readFileSync(md));
    assert.equal(doc.stamp.size, statSync(md).size);

    const txt = join(dir, 'notes.txt');
    writeFileSync(txt, 'plain\nlines\n');
    const t = await readDocument(txt);
    assert.equal(t.format, 'text');
    assert.deepEqual(t.encoding, { lineEnding: '\n', bom: false });
    assert.equal(t.text, 'plain\nlines\n');
  });

  test('an empty file opens as an empty document', async () => {
    const p = join(dir, 'empty.md');
    writeFileSync(p, '');
    assert.equal((await readDocument(p)).text, '');
  });

  test('UTF-16 with a byte-order mark is decoded (and would be saved as UTF-8)', async () => {
    const p = join(dir, 'utf16.txt');
    writeFileSync(p, Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('Hello — 世界', 'utf16le')]));
    const doc = await readDocument(p);
    assert.equal(doc.text, 'Hello — 世界');
    assert.equal(encodeDocument(doc.text, doc.encoding).toString('utf8'), 'Hello — 世界');
  });

  const refusals: [string, Buffer | null, RegExp][] = [
    ['image.png', Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d]), /image\.png is not a text file \(it contains binary data\)/],
    ['latin1.txt', Buffer.from([0x63, 0x61, 0x66, 0xe9, 0x0a]), /latin1\.txt is not UTF-8 text/],
    ['missing.md', null, /missing\.md was not found/],
  ];
  for (const [name, bytes, message] of refusals) {
    test(`refuses ${name} with a one-line reason`, async () => {
      const p = join(dir, name);
      if (bytes) writeFileSync(p, bytes);
      await assert.rejects(readDocument(p), (e: Error) => e instanceof DocumentError && message.test(e.message) && !e.message.includes('\n'));
      if (bytes) assert.deepEqual(readFileSync(p), bytes, 'the file is untouched');
    });
  }

  test('refuses a folder and a file over the size limit, naming the limit', async () => {
    await assert.rejects(readDocument(dir), /is a folder, not a text file/);
    const big = join(dir, 'big.md');
    writeFileSync(big, 'a'.repeat(2048 + 1));
    await assert.rejects(readDocument(big, 2048), /big\.md is 3 KB; Likely opens text files up to 2 KB/);
  });

  test('a FIFO is refused at once (reading one blocked forever), and so is a device', { timeout: 10_000 }, async () => {
    const fifo = join(dir, 'pipe.md');
    execFileSync('mkfifo', [fifo]);
    await assert.rejects(readDocument(fifo), /^DocumentError: pipe\.md is a named pipe \(FIFO\), not a text file$/);
    await assert.rejects(readDocument('/dev/zero'), /^DocumentError: zero is a device, not a text file$/);
  });

  test('a path through a file (ENOTDIR, which root cannot bypass) is one clear line', async () => {
    const file = join(dir, 'plain-file.txt');
    writeFileSync(file, 'x');
    await assert.rejects(readDocument(join(file, 'draft.md')), /^DocumentError: cannot read draft\.md: a part of its path \(.*plain-file\.txt\) is a file, not a folder$/);
  });

  test('an unreadable file is refused with "permission denied"', async () => {
    const p = join(dir, 'secret.md');
    writeFileSync(p, 'x');
    chmodSync(p, 0o000);
    await unprivileged(() => assert.rejects(readDocument(p), /cannot read secret\.md: permission denied/));
  });

  test('formats by extension', () => {
    assert.equal(formatForPath('/a/b.MD'), 'markdown');
    assert.equal(formatForPath('/a/b.markdown'), 'markdown');
    assert.equal(formatForPath('/a/b.txt'), 'text');
    assert.equal(formatForPath('/a/README'), 'text');
  });

  test('a lone CR ends a line (the editor shows it as one), and comes back as a CR', () => {
    const { text, encoding } = decodeDocument(Buffer.from('a\rb\nc'), 'x.txt');
    assert.equal(text, 'a\nb\nc');
    assert.equal(encodeDocument(text, encoding).toString('utf8'), 'a\rb\nc');
    const oldMac = decodeDocument(Buffer.from('one\rtwo\r'), 'mac.txt');
    assert.deepEqual([oldMac.text, oldMac.encoding], ['one\ntwo\n', { lineEnding: '\r', bom: false }]);
    assert.equal(encodeDocument('one\ntwo\nthree\n', oldMac.encoding).toString('utf8'), 'one\rtwo\rthree\r');
  });
});

describe('mixed line endings', () => {
  const roundTrip = (raw: string, edit: (text: string) => string = (t) => t) => {
    const { text, encoding } = decodeDocument(Buffer.from(raw), 'mixed.txt');
    return encodeDocument(edit(text), encoding).toString('utf8');
  };

  test('a file that mixes CRLF, LF and CR is written back byte-identical when unedited (every bare LF used to become CRLF)', () => {
    for (const raw of ['a\r\nb\nc\r\n', 'a\nb\r\nc', '\r\n\n\r\r\n', 'x\ry\nz\r\n\n', '\ufeffbom\r\nthen\nend']) {
      assert.equal(roundTrip(raw), raw, JSON.stringify(raw));
    }
  });

  test('unedited lines keep their own endings when other lines are edited, added or removed', () => {
    assert.equal(roundTrip('a\r\nb\nc\r\n', (t) => t.replace('b', 'B, edited')), 'a\r\nB, edited\nc\r\n', 'an edited line keeps its ending');
    assert.equal(roundTrip('a\r\nb\nc\r\n', (t) => t.replace('b\n', '')), 'a\r\nc\r\n');
    assert.equal(roundTrip('a\r\nb\nc\r\n', (t) => t.replace('b\n', 'b\nnew\n')), 'a\r\nb\nnew\nc\r\n', 'a new line takes the ending of the line before it');
    assert.equal(roundTrip('a\r\nb\nc\r\n', (t) => 'top\n' + t), 'top\r\na\r\nb\nc\r\n', 'a line with none before it takes the most common ending');
    assert.equal(roundTrip('a\r\nb\nc\r\n', (t) => t + 'd'), 'a\r\nb\nc\r\nd');
    assert.equal(roundTrip('a\r\nb\nc', (t) => t + ' more\nd'), 'a\r\nb\nc more\nd');
    assert.equal(roundTrip('one\r\ntwo\nthree\r\nfour\nfive\r\n', (t) => t.replace('two', '2').replace('four', '4')), 'one\r\n2\nthree\r\n4\nfive\r\n', 'edits in two places');
  });

  test('writes in a row: each lines up with what the one before wrote', async () => {
    const p = join(dir, 'mixed-twice.txt');
    writeFileSync(p, 'a\r\nb\nc\r\n');
    const doc = await readDocument(p);
    const first = await writeDocument(p, doc.text.replace('c', 'c!') + 'd\n', doc.encoding);
    assert.equal(readFileSync(p, 'utf8'), 'a\r\nb\nc!\r\nd\r\n');
    await writeDocument(p, 'a\nb, again\nc!\nd\n', first.encoding);
    assert.equal(readFileSync(p, 'utf8'), 'a\r\nb, again\nc!\r\nd\r\n');
  });

  test('property: random mixes of CRLF, LF and CR lines, random edits of some lines: every unedited line keeps its bytes', () => {
    let seed = 20240527;
    const rand = (n: number) => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 8) % n;
    const ENDINGS = ['\r\n', '\n', '\r'];
    for (let round = 0; round < 300; round++) {
      // Unique line texts, so "the same line" is unambiguous; some blank lines, which repeat.
      let id = 0;
      const line = () => (rand(6) === 0 ? '' : `line ${round}.${id++} ${'x'.repeat(rand(4))}`);
      const made = Array.from({ length: 1 + rand(30) }, () => ({ text: line(), ending: ENDINGS[rand(3)]! }));
      if (rand(3) === 0) made.at(-1)!.ending = ''; // no line break at the end
      const raw = made.map((l) => l.text + l.ending).join('');
      // The file's lines as its bytes say (a CR before an empty LF line reads as one CRLF).
      const lines = [...raw.matchAll(/([^\r\n]*)(\r\n|\r|\n)|([^\r\n]+)$/g)].map((m) => ({ text: m[1] ?? m[3]!, ending: m[2] ?? '' }));
      const { text, encoding } = decodeDocument(Buffer.from(raw), 'random.txt');
      assert.equal(encodeDocument(text, encoding).toString('utf8'), raw, 'unedited: byte-identical');

      // Edit: change, insert or delete some lines; remember where each kept line came from.
      const edited: { text: string; from: number | null }[] = [];
      lines.forEach((l, i) => {
        const r = rand(10);
        if (r === 0) return; // deleted
        if (r === 1) edited.push({ text: `${l.text} edited ${round}.${id++}`, from: null });
        else edited.push({ text: l.text, from: i });
        if (r === 2) edited.push({ text: `inserted ${round}.${id++}`, from: null });
      });
      const lastTerminated = lines.at(-1)!.ending !== '';
      const newText = edited.map((e) => e.text).join('\n') + (lastTerminated ? '\n' : '');
      const written = encodeDocument(newText, encoding).toString('utf8');
      const back = [...written.matchAll(/([^\r\n]*)(\r\n|\r|\n)|([^\r\n]+)$/g)].map((m) => m[2] ?? '');
      assert.equal(written.replace(/\r\n?/g, '\n'), newText, 'the text is the edited text');
      edited.forEach((e, i) => {
        const unedited = e.from !== null && e.text !== '' && i < edited.length - 1 + (lastTerminated ? 1 : 0);
        if (unedited && lines[e.from!]!.ending) assert.equal(back[i], lines[e.from!]!.ending, JSON.stringify({ raw, newText, line: e.text }));
      });
    }
  });
});

describe('atomicWriteFile', () => {
  test('writes, replaces, keeps permissions, follows a symlink, leaves no temp file', async () => {
    const p = join(dir, 'atomic.md');
    await atomicWriteFile(p, 'one');
    assert.equal(readFileSync(p, 'utf8'), 'one');
    chmodSync(p, 0o640);
    const stamp = await atomicWriteFile(p, 'two, longer');
    assert.equal(readFileSync(p, 'utf8'), 'two, longer');
    assert.equal(statSync(p).mode & 0o777, 0o640);
    assert.equal(stamp.size, 11);

    const link = join(dir, 'link.md');
    symlinkSync(p, link);
    await atomicWriteFile(link, 'three');
    assert.equal(readFileSync(p, 'utf8'), 'three');
    assert.ok(statSync(link, { throwIfNoEntry: true }) && readdirSync(dir).includes('link.md'));
    assert.deepEqual(readdirSync(dir).filter((n) => n.endsWith('.likely-tmp')), []);
  });

  test('a write into a missing folder fails clearly and creates nothing', async () => {
    await assert.rejects(atomicWriteFile(join(dir, 'nope', 'x.md'), 'x'), /cannot save x\.md: its folder .* does not exist/);
  });

  test('a write over a folder is refused', async () => {
    mkdirSync(join(dir, 'sub'));
    await assert.rejects(atomicWriteFile(join(dir, 'sub'), 'x'), /is a folder/);
  });

  test('a failed write leaves the old file and no temp file', async () => {
    const ro = join(dir, 'ro');
    mkdirSync(ro);
    writeFileSync(join(ro, 'keep.md'), 'old');
    chmodSync(ro, 0o555);
    try {
      await unprivileged(() => assert.rejects(atomicWriteFile(join(ro, 'keep.md'), 'new'), /permission denied/));
      assert.equal(readFileSync(join(ro, 'keep.md'), 'utf8'), 'old');
      assert.deepEqual(readdirSync(ro), ['keep.md']);
    } finally {
      chmodSync(ro, 0o700);
    }
  });

  test('a write that fails half-way leaves the old file and no temp file (as root too)', { skip: process.platform === 'win32' && 'needs ulimit' }, async () => {
    // A file-size limit of 4 KB (RLIMIT_FSIZE binds root as well) makes the temp file's write fail with EFBIG.
    const folder = join(dir, 'limited');
    mkdirSync(folder);
    const target = join(folder, 'keep.md');
    writeFileSync(target, 'old');
    const script = join(dir, 'write-once.mjs');
    buildSync({
      stdin: { contents: `import { atomicWriteFile } from './files.ts';\natomicWriteFile(process.argv[2], 'new '.repeat(100_000)).then(() => console.log('saved'), (e) => console.log(e.message));`, resolveDir: here, loader: 'ts' },
      bundle: true,
      platform: 'node',
      format: 'esm',
      outfile: script,
      logLevel: 'silent',
    });
    const out = execFileSync('bash', ['-c', 'ulimit -f 4 && exec "$0" "$1" "$2"', process.execPath, script, target], { encoding: 'utf8' });
    assert.equal(out.trim(), 'cannot save keep.md: the file would be larger than this disk or this account allows');
    assert.equal(readFileSync(target, 'utf8'), 'old');
    assert.deepEqual(readdirSync(folder), ['keep.md']);
  });

  test('a save into a path through a file (ENOTDIR) is refused with one clear line and creates nothing', async () => {
    const file = join(dir, 'not-a-folder.txt');
    writeFileSync(file, 'x');
    await assert.rejects(atomicWriteFile(join(file, 'x.md'), 'x'), /^DocumentError: cannot save x\.md: a part of its path \(.*not-a-folder\.txt\) is a file, not a folder$/);
    assert.equal(readFileSync(file, 'utf8'), 'x');
  });

  test('a save over a FIFO, directly or through a symlink, is refused and leaves it a FIFO (it used to become a regular file)', async () => {
    const fifo = join(dir, 'out.fifo');
    execFileSync('mkfifo', [fifo]);
    const link = join(dir, 'out-link.md');
    symlinkSync(fifo, link);
    for (const path of [fifo, link]) {
      await assert.rejects(atomicWriteFile(path, 'text'), /^DocumentError: cannot save over out[.-](fifo|link\.md): it is a named pipe \(FIFO\), not a regular file$/);
      assert.ok(lstatSync(fifo).isFIFO(), 'still a FIFO');
    }
    assert.deepEqual(readdirSync(dir).filter((n) => n.endsWith('.likely-tmp')), []);
  });

  test('a dangling symlink is written through: its target is created and the link stays a link (it used to be replaced by a file)', async () => {
    const folder = join(dir, 'dangling');
    mkdirSync(join(folder, 'real'), { recursive: true });
    const link = join(folder, 'draft.md');
    symlinkSync(join('real', 'draft.md'), link); // relative, and its target does not exist yet
    await atomicWriteFile(link, 'through the link');
    assert.ok(lstatSync(link).isSymbolicLink(), 'still a link');
    assert.equal(readFileSync(join(folder, 'real', 'draft.md'), 'utf8'), 'through the link');
    // A chain of links, the last one dangling.
    const chain = join(folder, 'chain.md');
    symlinkSync(join(folder, 'middle.md'), chain);
    symlinkSync(join(folder, 'real', 'end.md'), join(folder, 'middle.md'));
    await atomicWriteFile(chain, 'end of the chain');
    assert.ok(lstatSync(chain).isSymbolicLink() && lstatSync(join(folder, 'middle.md')).isSymbolicLink());
    assert.equal(readFileSync(join(folder, 'real', 'end.md'), 'utf8'), 'end of the chain');
    // A dangling link into a folder that does not exist: one line, and the link is left alone.
    const nowhere = join(folder, 'nowhere.md');
    symlinkSync(join(folder, 'missing-folder', 'x.md'), nowhere);
    await assert.rejects(atomicWriteFile(nowhere, 'x'), /^DocumentError: cannot save nowhere\.md: it is a link to .*missing-folder.x\.md, whose folder does not exist$/);
    assert.ok(lstatSync(nowhere).isSymbolicLink());
    // A link to a device or FIFO is refused before anything is written, by the check commands use too.
    const toDevice = join(folder, 'zero.md');
    symlinkSync('/dev/zero', toDevice);
    await assert.rejects(checkSaveTarget(toDevice), /^DocumentError: cannot save over zero\.md: it is a device, not a regular file$/);
    await assert.rejects(atomicWriteFile(toDevice, 'x'), /it is a device/);
    assert.ok(lstatSync(toDevice).isSymbolicLink());
    await checkSaveTarget(link);
    await checkSaveTarget(join(folder, 'new-file.md'));
    assert.deepEqual(readdirSync(join(folder, 'real')).sort(), ['draft.md', 'end.md']);
  });

  test('file names up to the 255-byte limit save, new or over an existing file, ASCII and CJK (the temp name used to pass the limit)', async () => {
    const folder = join(dir, 'long-names');
    mkdirSync(folder);
    const names = ['a'.repeat(240) + '.md', 'b'.repeat(251) + '.txt', '日本語の長い名前'.repeat(10) + '.md', 'é'.repeat(125) + '.md'];
    for (const name of names) {
      assert.ok(Buffer.byteLength(name) <= 255, `${Buffer.byteLength(name)} bytes`);
      const p = join(folder, name);
      await atomicWriteFile(p, 'first');
      await atomicWriteFile(p, 'second, over the existing file');
      assert.equal(readFileSync(p, 'utf8'), 'second, over the existing file');
      assert.ok(Buffer.byteLength(basename(tempPathFor(p))) <= 255, 'the temp name fits');
    }
    assert.deepEqual(readdirSync(folder).sort(), [...names].sort(), 'no temp file left');
    // A killed save's leftover beside a long-named file is still found by the clean-up, and only its own.
    const p = join(folder, names[2]!);
    const leftover = tempPathFor(p);
    const other = tempPathFor(join(folder, names[0]!));
    const anHourAgo = new Date(Date.now() - 3600_000);
    for (const t of [leftover, other]) {
      writeFileSync(t, 'partial');
      utimesSync(t, anHourAgo, anHourAgo); // left by a save killed an hour ago
    }
    assert.equal(await removeStaleTemps(p), 1);
    assert.ok(!existsSync(leftover) && existsSync(other));
    assert.equal(await removeStaleTemps(join(folder, names[0]!)), 1);
  });

  describe('killed with SIGKILL in the middle of saves', () => {
    let script: string;
    before(() => {
      // Bundled once into plain JS so each child starts in tens of milliseconds.
      script = join(dir, 'save-loop.mjs');
      buildSync({ entryPoints: [join(here, 'testing', 'save-loop.ts')], bundle: true, platform: 'node', format: 'esm', outfile: script, logLevel: 'silent' });
    });

    async function killLoop(mode: 'atomic' | 'plain', rounds: number, target: string) {
      const [oldText, newText] = killTestContents();
      writeFileSync(target, oldText);
      const seen = { old: 0, new: 0, bad: [] as string[] };
      for (let i = 0; i < rounds; i++) {
        const child = spawn(process.execPath, [script, target, mode], { stdio: ['ignore', 'pipe', 'inherit'] });
        await new Promise<void>((resolve, reject) => {
          child.once('error', reject);
          child.stdout.once('data', () => resolve());
        });
        // A random moment: after 0–40 ms of back-to-back saves.
        await new Promise((r) => setTimeout(r, Math.random() * 40));
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGKILL');
        await exited;
        const now = readFileSync(target, 'utf8');
        if (now === oldText) seen.old++;
        else if (now === newText) seen.new++;
        else seen.bad.push(`round ${i}: ${now.length} chars`);
      }
      return seen;
    }

    test('60 kills: the file is always exactly the old or the new content', async (t) => {
      const target = join(dir, 'killed.md');
      const seen = await killLoop('atomic', 60, target);
      assert.deepEqual(seen.bad, []);
      assert.equal(seen.old + seen.new, 60);
      assert.ok(seen.old > 0 && seen.new > 0, `both contents were seen (old ${seen.old}, new ${seen.new})`);
      // Kills that landed mid-save leave their temp file; they prove the dangerous moment was hit.
      const leftovers = readdirSync(dir).filter((n) => n.startsWith('.killed.md.') && n.endsWith('.likely-tmp'));
      t.diagnostic(`old ${seen.old}, new ${seen.new}, killed mid-save ${leftovers.length} of 60`);
      assert.ok(leftovers.length > 0, 'some kills landed while a temp file was being written');
      assert.equal(await removeStaleTemps(target, 0), leftovers.length);
      assert.deepEqual(readdirSync(dir).filter((n) => n.endsWith('.likely-tmp')), []);
    });

    test('control: the same kills catch a plain fs.writeFileSync with a partial or empty file', async (t) => {
      const seen = await killLoop('plain', 30, join(dir, 'plain.md'));
      t.diagnostic(`plain writes: ${seen.bad.length} of 30 kills left a partial or empty file`);
      assert.ok(seen.bad.length > 0, `a non-atomic save was caught half-written (${seen.bad.length} of 30)`);
    });
  });
});

test('a change that keeps the size and the mtime (cp -p, touch -r) is still a change', async () => {
  const p = join(dir, 'same-size.md');
  writeFileSync(p, 'The first version.');
  const { stamp } = await readDocument(p);
  assert.equal(await fileChanged(p, stamp), 'unchanged');
  const ref = join(dir, 'same-size.ref');
  writeFileSync(ref, '');
  execFileSync('touch', ['-r', p, ref]);
  writeFileSync(p, 'The other version.'); // same length
  execFileSync('touch', ['-r', ref, p]); // and the old mtime, to the nanosecond
  assert.equal(statSync(p).mtimeMs, stamp.mtimeMs, 'the mtime is the old one');
  assert.equal(await fileChanged(p, stamp), 'changed');
  rmSync(p);
  assert.equal(await fileChanged(p, stamp), 'missing');
  // What the app wrote is what it compares against next time.
  const written = await atomicWriteFile(p, 'Written by the app.');
  assert.equal(await fileChanged(p, written), 'unchanged');
});

test('removeStaleTemps leaves recent temp files (a save in progress) alone', async () => {
  const target = join(dir, 'stale.md');
  writeFileSync(join(dir, '.stale.md.123-abcd.likely-tmp'), 'partial');
  assert.equal(await removeStaleTemps(target, 60_000), 0);
  assert.ok(existsSync(join(dir, '.stale.md.123-abcd.likely-tmp')));
  assert.equal(await removeStaleTemps(target, 0), 1);
});
