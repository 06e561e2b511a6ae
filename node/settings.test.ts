import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { DEFAULT_SETTINGS, MAX_RECENT_FILES, sanitizeSettings, SettingsStore } from './settings.ts';

const dir = mkdtempSync(join(tmpdir(), 'likely-settings-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('defaults without a file; updates persist across a reload', async () => {
  const path = join(dir, 'a', 'settings.json');
  const first = await SettingsStore.load(path);
  assert.deepEqual(first.get(), DEFAULT_SETTINGS);
  assert.equal(first.loadProblem, null);
  const seen: string[] = [];
  first.onChange((s) => seen.push(s.theme));
  await first.update({ theme: 'dark', autosave: false, windowBounds: { x: 10, y: 20, width: 900, height: 700 } });
  assert.deepEqual(seen, ['dark']);
  const again = await SettingsStore.load(path);
  assert.equal(again.get().theme, 'dark');
  assert.equal(again.get().autosave, false);
  assert.deepEqual(again.get().windowBounds, { x: 10, y: 20, width: 900, height: 700 });
});

test('the file on disk holds the last of many quick updates', async () => {
  const path = join(dir, 'b', 'settings.json');
  const store = await SettingsStore.load(path);
  const writes = ['light', 'dark', 'system', 'light', 'dark'].map((theme) => store.update({ theme: theme as 'light' }));
  await Promise.all(writes);
  assert.equal(JSON.parse(readFileSync(path, 'utf8')).theme, 'dark');
});

test('recent files: most recent first, no duplicates, at most ten', async () => {
  const store = await SettingsStore.load(join(dir, 'c', 'settings.json'));
  for (let i = 0; i < 12; i++) await store.addRecent(`/docs/${i}.md`);
  await store.addRecent('/docs/5.md');
  const recent = store.get().recentFiles;
  assert.equal(recent.length, MAX_RECENT_FILES);
  assert.deepEqual(recent.slice(0, 3), ['/docs/5.md', '/docs/11.md', '/docs/10.md']);
  await store.removeRecent('/docs/5.md');
  assert.equal(store.get().recentFiles[0], '/docs/11.md');
});

test('a corrupt file is set aside and the defaults used', async () => {
  const path = join(dir, 'settings-corrupt.json');
  writeFileSync(path, '{"theme": "dark",');
  const store = await SettingsStore.load(path);
  assert.deepEqual(store.get(), DEFAULT_SETTINGS);
  assert.match(store.loadProblem ?? '', /set aside as settings\.json\.corrupt/);
  assert.ok(existsSync(`${path}.corrupt`));
});

test('each invalid field falls back alone', () => {
  const s = sanitizeSettings({
    theme: 'neon',
    recentFiles: ['relative.md', '/ok.md', 42, '/ok.md'],
    autosave: 'yes',
    windowBounds: { width: 50, height: 600 },
    modelDir: 'not/absolute',
    modelId: '../escape',
    device: 'gpu',
  });
  assert.equal(s.theme, 'system');
  assert.deepEqual(s.recentFiles, ['/ok.md']);
  assert.equal(s.autosave, true);
  assert.equal(s.windowBounds, null);
  assert.equal(s.modelDir, null);
  assert.equal(s.modelId, null);
  assert.equal(s.device, 'gpu');
  const chosen = sanitizeSettings({ modelId: 'gpt2-medium-fp16', modelDir: '/models/gpt2-medium-fp16', device: 'cpu' });
  assert.deepEqual([chosen.modelId, chosen.modelDir, chosen.device], ['gpt2-medium-fp16', '/models/gpt2-medium-fp16', 'cpu']);
  assert.deepEqual(sanitizeSettings(null), DEFAULT_SETTINGS);
});
