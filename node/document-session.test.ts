import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { buildSync } from 'esbuild';
import type { Notice, ShellState } from '../common/shell.ts';
import { AUTOSAVE_DELAY_MS, DocumentSession, type SessionInit } from './document-session.ts';
import { readDocument } from './files.ts';
import { RecoveryStore } from './recovery.ts';

const here = dirname(fileURLToPath(import.meta.url));
const DELAY = 80;
let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'likely-session-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A session with an "editor" whose text the test sets, recording states and notices. */
function editor(recovery: RecoveryStore, init: SessionInit = {}, autosave = true, delay = DELAY) {
  const rec = { text: init.text ?? '', states: [] as ShellState[], notices: [] as Notice[], fetches: 0 };
  const session = new DocumentSession(
    {
      requestContent: async () => {
        rec.fetches++;
        return rec.text;
      },
      onState: (s) => rec.states.push(s),
      onNotice: (n) => rec.notices.push(n),
    },
    { recovery, autosaveDelayMs: delay, autosave: () => autosave },
    init,
  );
  const type = (s: string) => {
    rec.text += s;
    session.edited();
  };
  return { session, rec, type };
}

test('the autosave delay is about one second', () => {
  assert.equal(AUTOSAVE_DELAY_MS, 1000);
});

test('a file with a path is autosaved once typing pauses, and only then', async () => {
  const path = join(dir, 'auto.md');
  writeFileSync(path, 'Hello');
  const doc = await readDocument(path);
  const recovery = new RecoveryStore(join(dir, 'rec-auto'));
  const delay = 400; // generous, so a busy machine's late timers cannot fake a pause
  const { session, rec, type } = editor(recovery, doc, true, delay);
  assert.equal(session.dirty, false);
  for (const ch of ' world, typed') {
    type(ch);
    await sleep(20); // typing faster than the delay: no save yet
  }
  assert.equal(readFileSync(path, 'utf8'), 'Hello', 'nothing written while typing');
  assert.equal(rec.fetches, 0, 'the text is not even fetched while typing');
  assert.equal(rec.states.at(-1)?.dirty, true);
  assert.equal(rec.states.at(-1)?.title, 'auto.md');
  await sleep(delay * 2);
  await session.idle();
  assert.equal(readFileSync(path, 'utf8'), 'Hello world, typed');
  assert.equal(rec.fetches, 1);
  assert.equal(session.dirty, false);
  assert.equal(rec.states.at(-1)?.dirty, false);
  assert.ok(rec.states.at(-1)?.savedAt);
  assert.deepEqual(await recovery.list(), [], 'a file that saved needs no recovery copy');
});

test("a file of mixed line endings keeps every unedited line's ending through autosaves, saves and a restore from the recovery store", async () => {
  const path = join(dir, 'mixed.txt');
  writeFileSync(path, 'Dear a,\r\nfrom Unix\nback on Windows\r\nold Mac\rend\r\n');
  const recovery = new RecoveryStore(join(dir, 'rec-mixed'));
  const { session, rec } = editor(recovery, await readDocument(path));
  rec.text = rec.text.replace('from Unix', 'from Unix, edited');
  session.edited();
  await session.autosave();
  assert.equal(readFileSync(path, 'utf8'), 'Dear a,\r\nfrom Unix, edited\nback on Windows\r\nold Mac\rend\r\n');
  rec.text += 'P.S.\n';
  session.edited();
  assert.equal(await session.save(), 'saved');
  assert.equal(readFileSync(path, 'utf8'), 'Dear a,\r\nfrom Unix, edited\nback on Windows\r\nold Mac\rend\r\nP.S.\r\n');

  // Unsaved edits go to the recovery store with the file's line layout, and a restored session writes with it.
  const { session: held, rec: heldRec } = editor(recovery, await readDocument(path), false);
  heldRec.text = heldRec.text.replace('Dear a,', 'Dear b,');
  held.edited();
  await held.autosave();
  const [entry] = (await recovery.list()).filter((e) => e.id === held.recoveryId);
  held.close();
  const { session: restored } = editor(recovery, { path, text: entry!.text, format: entry!.format, encoding: entry!.encoding, recovered: { id: entry!.id, updatedAt: entry!.updatedAt } });
  assert.equal(await restored.save({ overwrite: true }), 'saved');
  assert.equal(readFileSync(path, 'utf8'), 'Dear b,\r\nfrom Unix, edited\nback on Windows\r\nold Mac\rend\r\nP.S.\r\n');
  session.close();
  restored.close();
});

test('with autosave off, a file with a path is kept in the recovery store instead', async () => {
  const path = join(dir, 'manual.md');
  writeFileSync(path, 'A');
  const recovery = new RecoveryStore(join(dir, 'rec-manual'));
  const { session, type } = editor(recovery, await readDocument(path), false);
  type('B');
  await sleep(DELAY * 2);
  await session.idle();
  assert.equal(readFileSync(path, 'utf8'), 'A');
  const [entry] = await recovery.list();
  assert.equal(entry?.text, 'AB');
  assert.equal(entry?.path, path);
  assert.equal(await session.save(), 'saved');
  assert.equal(readFileSync(path, 'utf8'), 'AB');
  assert.deepEqual(await recovery.list(), []);
});

test('untitled work goes to the recovery store, and Save As moves it to a file', async () => {
  const recovery = new RecoveryStore(join(dir, 'rec-untitled'));
  const { session, rec, type } = editor(recovery);
  type('Unsaved thoughts 日本 🙂');
  await sleep(DELAY * 2);
  await session.idle();
  const entries = await recovery.list();
  assert.equal(entries.length, 1);
  assert.equal(entries[0]!.text, 'Unsaved thoughts 日本 🙂');
  assert.equal(entries[0]!.path, null);
  assert.equal(entries[0]!.title, 'Untitled');
  assert.equal(session.dirty, true, 'the recovery store is not a save');
  assert.equal(await session.save(), 'needs-path');

  const path = join(dir, 'thoughts.txt');
  await session.saveAs(path);
  assert.equal(readFileSync(path, 'utf8'), 'Unsaved thoughts 日本 🙂');
  assert.equal(session.dirty, false);
  assert.equal(session.format, 'text');
  assert.equal(rec.states.at(-1)?.title, 'thoughts.txt');
  assert.deepEqual(await recovery.list(), []);
});

test('edits made while a save runs keep the document dirty', async () => {
  const recovery = new RecoveryStore(join(dir, 'rec-race'));
  const path = join(dir, 'race.md');
  let release!: () => void;
  let text = 'first';
  const session = new DocumentSession(
    {
      requestContent: () =>
        new Promise((resolve) => {
          release = () => resolve(text);
        }),
      onState: () => {},
      onNotice: () => {},
    },
    { recovery, autosaveDelayMs: 10_000 },
    { path, text },
  );
  session.edited();
  const saving = session.save();
  await sleep(10);
  text = 'first and more';
  session.edited(); // typed while the save waited for the text
  release();
  assert.equal(await saving, 'saved');
  assert.equal(session.dirty, true);
  session.close();
});

test('autosave does not overwrite a same-size change that kept the old mtime (cp -p, touch -r)', async () => {
  const path = join(dir, 'copied-over.md');
  writeFileSync(path, 'mine, version one');
  const ref = join(dir, 'copied-over.ref');
  writeFileSync(ref, '');
  execFileSync('touch', ['-r', path, ref]);
  const recovery = new RecoveryStore(join(dir, 'rec-same-size'));
  const { session, rec, type } = editor(recovery, await readDocument(path));
  writeFileSync(path, 'theirs, version 2');
  execFileSync('touch', ['-r', ref, path]);
  type(' edited');
  await sleep(DELAY * 2);
  await session.idle();
  assert.equal(readFileSync(path, 'utf8'), 'theirs, version 2', 'their change is intact');
  assert.match(rec.states.at(-1)?.problem ?? '', /changed by another program/);
  assert.equal(await session.save(), 'conflict', 'Save asks first');
  session.close();
});

test('autosave never overwrites a change made by another program; save asks first', async () => {
  const path = join(dir, 'shared.md');
  writeFileSync(path, 'mine');
  const recovery = new RecoveryStore(join(dir, 'rec-conflict'));
  const { session, rec, type } = editor(recovery, await readDocument(path));
  writeFileSync(path, 'theirs, longer');
  utimesSync(path, new Date(), new Date(Date.now() + 5000));
  type(' edited');
  await sleep(DELAY * 2);
  await session.idle();
  assert.equal(readFileSync(path, 'utf8'), 'theirs, longer', 'their change is intact');
  assert.match(rec.states.at(-1)?.problem ?? '', /changed by another program/);
  assert.equal(rec.notices.length, 1);
  assert.equal((await recovery.list())[0]?.text, 'mine edited', 'our text is in the recovery store');
  assert.equal(await session.save(), 'conflict');
  assert.equal(await session.save({ overwrite: true }), 'saved');
  assert.equal(readFileSync(path, 'utf8'), 'mine edited');
  assert.equal(rec.states.at(-1)?.problem, undefined);
  assert.deepEqual(await recovery.list(), []);

  unlinkSync(path);
  type('!');
  await sleep(DELAY * 2);
  await session.idle();
  assert.match(rec.states.at(-1)?.problem ?? '', /moved or deleted/);
  assert.equal(await session.save(), 'saved', 'an explicit save writes a deleted file again');
  assert.equal(readFileSync(path, 'utf8'), 'mine edited!');
});

test('a failed save keeps the text in the recovery store and says why', async () => {
  const recovery = new RecoveryStore(join(dir, 'rec-fail'));
  const { session } = editor(recovery, { text: 'precious' });
  await assert.rejects(session.saveAs(join(dir, 'no-such-folder', 'x.md')), /its folder .* does not exist/);
  assert.equal((await recovery.list())[0]?.text, 'precious');
  assert.equal(session.path, null);
  session.close();
});

test('restored work starts dirty under its old recovery id; Don\'t Save discards it', async () => {
  const recovery = new RecoveryStore(join(dir, 'rec-restore'));
  const first = editor(recovery);
  first.type('before the crash');
  await first.session.autosave();
  first.session.close(); // the "crash": nothing else happens
  const [entry] = await new RecoveryStore(join(dir, 'rec-restore')).list();
  assert.ok(entry);
  const { session } = editor(recovery, { text: entry.text, path: entry.path, format: entry.format, recovered: entry });
  assert.equal(session.dirty, true);
  assert.equal(session.recoveryId, entry.id);
  assert.equal(session.recoveredFrom, entry.updatedAt);
  await session.discard();
  assert.deepEqual(await recovery.list(), []);
});

test('restored work for a file is not autosaved over that file until the writer saves once', async () => {
  const path = join(dir, 'restored.md');
  writeFileSync(path, 'changed after the crash');
  const recovery = new RecoveryStore(join(dir, 'rec-held'));
  const entry = await recovery.write({ id: RecoveryStore.newId(), path, title: 'restored.md', format: 'markdown', text: 'recovered text' });
  const { session, type, rec } = editor(recovery, { text: entry.text, path, recovered: entry });
  assert.match(session.state().problem ?? '', /restored after a crash/);
  type(' and more');
  await sleep(DELAY * 2);
  await session.idle();
  assert.equal(readFileSync(path, 'utf8'), 'changed after the crash');
  assert.equal((await recovery.list())[0]?.text, 'recovered text and more');
  assert.equal(await session.save(), 'saved');
  assert.equal(readFileSync(path, 'utf8'), 'recovered text and more');
  type('!');
  await sleep(DELAY * 2);
  await session.idle();
  assert.equal(readFileSync(path, 'utf8'), 'recovered text and more!', 'autosave resumes after the first save');
  assert.equal(rec.states.at(-1)?.problem, undefined);
});

test('a process killed with SIGKILL while typing leaves its last autosave in the recovery store', async (t) => {
  const script = join(dir, 'typing-session.mjs');
  buildSync({ entryPoints: [join(here, 'testing', 'typing-session.ts')], bundle: true, platform: 'node', format: 'esm', outfile: script, logLevel: 'silent' });
  for (let round = 0; round < 8; round++) {
    const recDir = join(dir, `rec-kill-${round}`);
    const child = spawn(process.execPath, [script, recDir], { stdio: ['ignore', 'pipe', 'inherit'] });
    const saved: string[] = [];
    let buffer = '';
    const wanted = 2 + Math.floor(Math.random() * 3);
    await new Promise<void>((resolve, reject) => {
      child.once('error', reject);
      child.stdout.on('data', (d: Buffer) => {
        buffer += d.toString();
        const lines = buffer.split('\n');
        buffer = lines.pop()!;
        for (const line of lines) saved.push((JSON.parse(line) as { saved: string }).saved);
        if (saved.length >= wanted) resolve();
      });
    });
    await sleep(Math.random() * 150); // a random moment: mid-typing or mid-autosave
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
    const entries = await new RecoveryStore(recDir).list();
    assert.equal(entries.length, 1, `round ${round}: one recovery entry`);
    const text = entries[0]!.text;
    const last = saved.at(-1)!;
    assert.ok(text.startsWith(last), `round ${round}: the entry has at least the last reported autosave`);
    assert.match(text, /^(word\d+ )+$/, `round ${round}: the entry is whole words, not a cut write`);
    const words = text.trim().split(' ');
    assert.deepEqual(words, words.map((_, i) => `word${i}`), `round ${round}: every word in order`);
    if (round === 0) t.diagnostic(`round 0: killed after ${saved.length} autosaves; recovered ${words.length} words`);
  }
});
