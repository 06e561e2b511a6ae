import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { RecoveryStore } from './recovery.ts';

const dir = mkdtempSync(join(tmpdir(), 'likely-recovery-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('entries round-trip, oldest first, and are removed by id', async () => {
  const store = new RecoveryStore(join(dir, 'a'));
  assert.deepEqual(await store.list(), [], 'a missing folder is an empty store');
  const a = RecoveryStore.newId();
  const b = RecoveryStore.newId();
  await store.write({ id: a, path: null, title: 'Untitled', format: 'markdown', text: 'first 🙂', updatedAt: 2000 });
  await store.write({ id: b, path: '/home/w/notes.txt', title: 'notes.txt', format: 'text', encoding: { lineEnding: '\r\n', bom: false }, text: 'second', updatedAt: 1000 });
  const list = await store.list();
  assert.deepEqual(list.map((e) => e.text), ['second', 'first 🙂']);
  assert.deepEqual(list[0]!.encoding, { lineEnding: '\r\n', bom: false });
  await store.write({ id: a, path: null, title: 'Untitled', format: 'markdown', text: 'first, rewritten' });
  assert.equal((await store.list()).find((e) => e.id === a)?.text, 'first, rewritten');
  await store.remove(b);
  assert.deepEqual((await store.list()).map((e) => e.id), [a]);
  assert.deepEqual(readdirSync(join(dir, 'a')).filter((n) => n.endsWith('.likely-tmp')), []);
});

test('an unreadable entry is set aside, not offered forever and not deleted', async () => {
  const folder = join(dir, 'b');
  mkdirSync(folder);
  const id = RecoveryStore.newId();
  writeFileSync(join(folder, `${id}.json`), '{"id": "trunc');
  writeFileSync(join(folder, 'unrelated.json'), '{}');
  const store = new RecoveryStore(folder);
  assert.deepEqual(await store.list(), []);
  assert.ok(existsSync(join(folder, `${id}.json.unreadable`)));
  assert.ok(existsSync(join(folder, 'unrelated.json')), 'files that are not entries are left alone');
});

test('ids are checked, so no path can escape the store', async () => {
  const store = new RecoveryStore(join(dir, 'c'));
  await assert.rejects(store.write({ id: '../../etc/passwd', path: null, title: 'x', format: 'text', text: 'x' }), /invalid recovery id/);
  await assert.rejects(store.remove('../x'), /invalid recovery id/);
});
