import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Engine } from './engine.ts';
import { loadEngine } from './load-from-folder.ts';

let engine: Engine;
before(async () => {
  engine = await loadEngine({ device: 'cpu' });
});
after(() => engine.dispose());

const TEXT = 'The jury said it did find that many of the registration and election laws are outmoded or inadequate. It recommended changes.';

test('bad offsets are clear errors', async () => {
  await assert.rejects(engine.infillText(TEXT, -1, 3), /outside the text/);
  await assert.rejects(engine.infillText(TEXT, 5, TEXT.length + 1), /outside the text/);
  await assert.rejects(engine.infillText(TEXT, 9, 4), /before its start/);
  await assert.rejects(engine.infillText('a 🎉 b', 3, 5), /surrogate pair/);
});

test('suggestions are whole words that replace the span, best first, without the original', async () => {
  const start = TEXT.indexOf('outmoded');
  const end = start + 'outmoded'.length;
  const r = await engine.infillText(TEXT, start, end, { k: 10 });
  assert.deepEqual(r.span, { start, end, text: 'outmoded' });
  assert.ok(r.suggestions.length >= 5, `got ${r.suggestions.length} suggestions`);
  for (let i = 0; i < r.suggestions.length; i++) {
    const s = r.suggestions[i]!;
    assert.notEqual(s.text, 'outmoded');
    assert.match(s.text, /^\S+$/, `one word without the leading space: ${JSON.stringify(s.text)}`);
    if (i > 0) assert.ok(s.score <= r.suggestions[i - 1]!.score);
  }
  assert.equal(new Set(r.suggestions.map((s) => s.text)).size, r.suggestions.length, 'no duplicates');
});

test('the suffix-aware score equals log P(candidate + following tokens) of the edited text', async () => {
  const start = TEXT.indexOf('outmoded');
  const end = start + 'outmoded'.length;
  const r = await engine.infillText(TEXT, start, end, { k: 3 });
  for (const s of r.suggestions) {
    const edited = TEXT.slice(0, start) + s.text + TEXT.slice(end);
    const { tokens } = await engine.score(edited);
    // Candidate tokens start at the space before the word; the suffix runs to the sentence's end.
    const from = start - 1;
    const to = edited.indexOf('.', start) + 1;
    const sum = tokens.filter((t) => t.start >= from && t.end <= to).reduce((a, t) => a + t.logprob, 0);
    assert.ok(Math.abs(sum - s.score) < 1e-3, `${s.text}: ${s.score} vs ${sum}`);
  }
  const prefixOnly = await engine.infillText(TEXT, start, end, { k: 3, prefixOnly: true });
  assert.ok(prefixOnly.suggestions.every((s) => Number.isFinite(s.score)));
});

test('infill on the live document reuses its cache and gives the same answer', async () => {
  engine.update(1, TEXT);
  await engine.idle();
  const start = TEXT.indexOf('election');
  const live = await engine.infill({ version: 1, start, end: start + 8, k: 5 });
  const cold = await (await loadEngine({ device: 'cpu', caching: false })).infillText(TEXT, start, start + 8, { k: 5 });
  assert.deepEqual(live.suggestions.map((s) => s.text), cold.suggestions.map((s) => s.text));
  live.suggestions.forEach((s, i) => assert.ok(Math.abs(s.score - cold.suggestions[i]!.score) < 1e-4));
  await assert.rejects(engine.infill({ version: 7, start, end: start + 8 }), /not the current document/);
});

test('an infill request superseded by a newer edit stops with a clear error; one on the newest version completes', async () => {
  engine.update(10, TEXT);
  await engine.idle();
  const start = TEXT.indexOf('election');
  const stale = engine.infill({ version: 10, start, end: start + 8, k: 5, includeWorse: true });
  engine.update(11, TEXT + ' More.');
  await assert.rejects(stale, /superseded by a newer edit/);
  await engine.idle();
  const fresh = await engine.infill({ version: 11, start, end: start + 8, k: 5, includeWorse: true });
  assert.ok(fresh.suggestions.length > 0);
});

test('CLI infill prints the contract JSON and rejects bad offsets with one line', () => {
  const dir = mkdtempSync(join(tmpdir(), 'likely-infill-'));
  const file = join(dir, 'draft.txt');
  writeFileSync(file, TEXT);
  const start = TEXT.indexOf('jury');
  const run = (...extra: string[]) => spawnSync('npx', ['tsx', 'models/cli.ts', 'infill', file, '--from', String(start), '--to', String(start + 4), '--json', '--k', '4', ...extra], { encoding: 'utf8' });
  const ok = run('--all');
  assert.equal(ok.status, 0, ok.stderr);
  type Out = { span: { start: number; end: number; text: string }; suggestions: { text: string; score: number }[]; original: { score: number }; hidden: number };
  const out = JSON.parse(ok.stdout) as Out;
  assert.deepEqual(out.span, { start, end: start + 4, text: 'jury' });
  assert.equal(out.suggestions.length, 4, '--all lists every candidate up to --k');
  assert.deepEqual(Object.keys(out.suggestions[0]!).sort(), ['score', 'text']);
  // By default, what the editor offers: only rewrites that beat the original, and how many did not.
  const offered = JSON.parse(run().stdout) as Out;
  assert.equal(offered.hidden + offered.suggestions.length >= 4, true);
  for (const s of offered.suggestions) assert.ok(s.score > offered.original.score, `${s.text} beats the original`);
  const bad = spawnSync('npx', ['tsx', 'models/cli.ts', 'infill', file, '--from', '10', '--to', '2'], { encoding: 'utf8' });
  assert.notEqual(bad.status, 0);
  assert.equal(bad.stderr.trim().split('\n').length, 1);
  assert.match(bad.stderr, /before its start/);
});

test('a clicked token grows to its whole word (and to adjacent unlikely words)', async () => {
  engine.update(20, TEXT);
  await engine.idle();
  const doc = engine.current!;
  const word = TEXT.indexOf('outmoded');
  const index = Array.from(doc.enc.starts).findIndex((s, i) => s > word && doc.enc.ends[i]! <= word + 8);
  assert.ok(index > 0, 'outmoded is split into several tokens');
  const span = await engine.suggestSpan(20, index);
  assert.ok(span.start <= word && span.end >= word + 8, `span ${span.start}..${span.end} covers the word`);
  assert.match(TEXT.slice(span.start, span.end), /^[\p{L} ]+$/u, 'whole words only');
  const period = TEXT.indexOf('.');
  const punct = await engine.suggestSpan(20, Array.from(doc.enc.starts).indexOf(period));
  assert.deepEqual(punct, { start: period, end: period + 1 }, 'a punctuation token stays itself');
});
