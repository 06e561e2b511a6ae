// likely review on the real embedded model, as scripts run it: a child process, its stdout a pipe.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import type { RepeatSpan, ReviewSpan } from '../../common/review.ts';

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

type Entry = ReviewSpan & { line: number; column: number; rewrites?: { text: string; score: number }[]; original?: { score: number } };
interface ReviewJson {
  model: string;
  tokens: number;
  words: number;
  cutoff: { logprob: number; rank: number | null };
  surprising: Entry[];
  predictable: Entry[];
  repeats: (Entry & RepeatSpan)[];
}

const dir = mkdtempSync(join(tmpdir(), 'likely-review-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Plain sentences in everyday words: the embedded model's own spans here stay below ~11 nats. */
const PLAIN = [
  'We walked to the river in the morning. The water was cold and the sky was clear. We sat on the bank and talked about the day.',
  'In the afternoon we went to the town to buy some food. The shop was busy, and the people were friendly. We bought bread and milk and went home.',
  'In the evening we sat by the fire and read our books. It was a quiet day, but it was a good one.',
];
const PLANTED = ['carburetor', 'xylophone', 'giraffe'];
const planted = PLAIN.join('\n\n')
  .replace('the sky was clear', `the sky was ${PLANTED[0]}`)
  .replace('bought bread and', `bought ${PLANTED[1]} and`)
  .replace('read our books', `read our ${PLANTED[2]}`) + '\n';

async function review(name: string, text: string, ...options: string[]): Promise<{ text: string; json: ReviewJson }> {
  const file = join(dir, name);
  writeFileSync(file, text);
  const r = await cli(['review', file, '--json', ...options]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.indexOf('\n'), r.stdout.length - 1, 'one JSON line');
  return { text, json: JSON.parse(r.stdout) as ReviewJson };
}

function checkEntries(text: string, json: ReviewJson) {
  for (const kind of ['surprising', 'predictable', 'repeats'] as const) {
    for (const s of json[kind]) {
      assert.equal(s.text, text.slice(s.start, s.end), `${kind}: text is the file's slice`);
      assert.equal(typeof s.surprisal, 'number');
      assert.ok(Math.abs(s.probability - Math.exp(-s.surprisal)) <= 1e-12 * Math.max(1, s.probability));
      assert.ok(s.first < s.last && typeof s.key === 'string' && Array.isArray(s.words));
      const before = text.slice(0, s.start).split('\n');
      assert.deepEqual([s.line, s.column], [before.length, Array.from(before.at(-1)!).length + 1], 'line and column of the start');
    }
  }
}

test('review --json: three planted odd words among ordinary sentences are the three most surprising spans', { timeout: 120_000 }, async () => {
  const { text, json } = await review('planted.txt', planted);
  assert.deepEqual(Object.keys(json).filter((k) => ['surprising', 'predictable', 'repeats'].includes(k)), ['surprising', 'predictable', 'repeats']);
  assert.equal(json.model, 'Likely Mini (embedded)');
  checkEntries(text, json);
  const top = json.surprising.slice(0, 3).map((s) => s.text);
  for (const word of PLANTED) assert.ok(top.some((t) => t.split(/\W+/).includes(word)), `${word} is among the top three: ${JSON.stringify(json.surprising.map((s) => s.text))}`);
  for (let i = 1; i < json.surprising.length; i++) assert.ok(json.surprising[i - 1]!.peak >= json.surprising[i]!.peak, 'most surprising first');
  // The same sentences without the planted words flag none of those places as strongly.
  const plain = await review('plain.txt', PLAIN.join('\n\n') + '\n');
  assert.ok(plain.json.surprising.every((s) => s.peak < json.surprising[2]!.peak), 'the plain draft’s worst span is milder than the third planted word');
});

test('review --json: a paragraph pasted twice is a repeat of the first, not a predictable run', { timeout: 120_000 }, async () => {
  const pasted = PLAIN.join('\n\n') + '\n\n' + PLAIN[0] + '\n';
  const { text, json } = await review('pasted.txt', pasted);
  checkEntries(text, json);
  const second = pasted.lastIndexOf(PLAIN[0]!);
  const repeat = json.repeats.find((r) => r.start <= second + 3 && r.end >= second + PLAIN[0]!.length - 3);
  assert.ok(repeat, `the pasted paragraph is a repeat: ${JSON.stringify(json.repeats.map((r) => [r.start, r.end, r.text]))}`);
  assert.ok(repeat.source.start <= 3 && repeat.source.end >= PLAIN[0]!.length - 3, 'its source is the first paragraph');
  assert.equal(text.slice(repeat.source.start, repeat.source.end), repeat.text);
  assert.ok(!json.predictable.some((p) => p.end > second && p.start < pasted.length), 'nothing in the copy is a predictable run');
  assert.ok(!json.surprising.some((s) => s.start >= second), 'nothing in the copy is surprising');
});

test('review --rewrites: each surprising span gets the engine’s rewrites, best first, with the original’s score', { timeout: 180_000 }, async () => {
  const { json } = await review('rewrites.txt', planted, '--rewrites', '--top', '2', '--k', '2');
  assert.equal(json.surprising.length, 2, '--top 2');
  for (const s of json.surprising) {
    assert.ok(s.rewrites && s.rewrites.length >= 1 && s.rewrites.length <= 2, `${s.text}: 1–2 rewrites`);
    assert.ok(s.rewrites.every((w) => typeof w.text === 'string' && w.text !== s.text && Number.isFinite(w.score)));
    for (let i = 1; i < s.rewrites.length; i++) assert.ok(s.rewrites[i - 1]!.score >= s.rewrites[i]!.score, 'best first');
    assert.ok(Number.isFinite(s.original?.score));
    assert.ok(s.rewrites[0]!.score > s.original!.score, `a planted word's best rewrite fits better than it: ${s.text}`);
  }
  assert.ok(json.predictable.every((p) => p.rewrites === undefined), 'only surprising spans get rewrites');
});

test('review without --json: a readable list with line:column; bad options are one-line errors', { timeout: 120_000 }, async () => {
  const file = join(dir, 'readable.txt');
  writeFileSync(file, planted);
  const r = await cli(['review', file]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^.*readable\.txt: 79 words, \d+ tokens \(Likely Mini \(embedded\), cpu\)/);
  assert.match(r.stdout, /surprising: \d+, most surprising first\n +1 +1:75 +“carburetor”/);
  assert.match(r.stdout, /\npredictable: \d+\n/);
  assert.match(r.stdout, /\nrepeats: \d+\n/);
  for (const [args, message] of [
    [['review', file, '--k', '0'], /--k must be between 1 and 50/],
    [['review', file, '--top', 'x'], /--top must be an integer/],
    [['review'], /missing FILE/],
    [['review', file, '--frob'], /unknown option --frob/],
  ] as const) {
    const bad = await cli([...args]);
    assert.equal(bad.code, 2, bad.stderr);
    assert.equal(bad.stdout, '');
    assert.match(bad.stderr, /^likely: .+\n$/);
    assert.match(bad.stderr, message);
  }
});
