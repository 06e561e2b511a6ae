import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { test } from 'node:test';
import type { EngineEvents, EngineStatus, ScoreUpdate } from '../common/api.ts';
import { EMBEDDED_MODEL_DIR } from '../models/src/paths.ts';
import { WindowEngine } from './window-engine.ts';

type Event = { [E in keyof EngineEvents]: { event: E; data: EngineEvents[E] } }[keyof EngineEvents];

/** The real engine (embedded model) in a real Node child process, with what the window would receive recorded. */
function start() {
  const events: Event[] = [];
  const waiters = new Set<() => void>();
  const engine = new WindowEngine({ device: 'cpu' }, (event, data) => {
    events.push({ event, data } as Event);
    for (const w of [...waiters]) w();
  });
  const until = <T>(pick: (e: Event) => T | undefined, ms = 60_000, start = 0): Promise<T> =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('timed out')), ms);
      let from = start;
      const check = () => {
        for (; from < events.length; from++) {
          const hit = pick(events[from]!);
          if (hit !== undefined) {
            clearTimeout(timer);
            waiters.delete(check);
            return resolve(hit);
          }
        }
      };
      waiters.add(check);
      check();
    });
  const scored = (version: number, from = 0) => until((e) => (e.event === 'scores' && e.data.version === version && e.data.done ? e.data : undefined), 60_000, from);
  const status = (state: EngineStatus['state']) => until((e) => (e.event === 'status' && e.data.state === state ? e.data : undefined));
  return { engine, events, scored, status };
}

test('the window gets scores; when the engine process is killed it sees the restart, and scoring resumes with the edit made meanwhile', async () => {
  const { engine, events, scored, status } = start();
  try {
    const ready = await status('ready');
    assert.ok(ready.model?.name, 'the ready status names the model');
    const text = 'The writer types a sentence, and the engine scores every token of it.';
    void engine.call('update', { version: 1, text });
    const first = (await scored(1)) as ScoreUpdate;
    assert.ok(first.tokenCount > 10);
    const before = engine.tracker.complete(1)!;
    assert.equal(before.length, first.tokenCount);
    assert.ok(before.every((t) => Number.isFinite(t.logprob) && t.logprob <= 0));

    const seen = events.length;
    engine.restart(); // SIGKILL, as a native crash would
    const restarting = await status('restarting');
    assert.match(restarting.message ?? '', /restarting/);
    // The writer keeps typing while the engine is down: the call neither blocks nor is lost.
    const edited = text + ' More words arrive.';
    const t0 = Date.now();
    const pending = engine.call('update', { version: 2, text: edited }).catch((e: Error) => e.message);
    assert.ok(Date.now() - t0 < 50, 'update returns at once');
    await status('ready');
    const again = (await scored(2)) as ScoreUpdate;
    assert.ok(again.tokenCount > first.tokenCount);
    const after = engine.tracker.complete(2)!;
    // The unchanged prefix scores exactly as before the crash (same model, same context).
    const prefix = before.slice(0, before.length - 1);
    assert.deepEqual(after.slice(0, prefix.length).map((t) => t.logprob), prefix.map((t) => t.logprob));
    assert.equal(engine.host.restarts, 1);
    assert.ok(events.slice(seen).some((e) => e.event === 'status' && e.data.state === 'restarting'));
    const result = await pending;
    assert.ok(result === undefined || /restarting|stopped/.test(String(result)), `update during the restart: ${String(result)}`);

    const html = await engine.exportHtml({ title: 'Crash test' });
    assert.equal((html.match(/ data-i="/g) ?? []).length, after.length, 'one annotated span per token');
    assert.match(html, /<title>Crash test/);
  } finally {
    engine.close();
  }
});

test('switching the model re-scores the window\'s document and the export names the new model', async () => {
  const copy = mkdtempSync(join(tmpdir(), 'likely-window-switch-'));
  cpSync(EMBEDDED_MODEL_DIR, copy, { recursive: true, filter: (src) => !basename(src).startsWith('.likely-') });
  const config = JSON.parse(readFileSync(join(copy, 'config.json'), 'utf8')) as { likely: Record<string, unknown> };
  writeFileSync(join(copy, 'config.json'), JSON.stringify({ ...config, likely: { ...config.likely, name: 'Switched model' } }));
  const { engine, events, scored, status } = start();
  try {
    await status('ready');
    void engine.call('update', { version: 1, text: 'A window switches its model while a draft is open.' });
    await scored(1);
    const before = engine.tracker.complete(1)!;
    const seen = events.length;
    const info = await engine.switchModel({ modelDir: copy });
    assert.equal(info.name, 'Switched model');
    const rescored = () => events.slice(seen).some((e) => e.event === 'scores' && e.data.version === 1 && e.data.done);
    for (let i = 0; i < 1500 && !rescored(); i++) await new Promise((r) => setTimeout(r, 20));
    assert.ok(rescored(), 'the document is scored again by the new model');
    const html = await engine.exportHtml({ title: 'After the switch' });
    assert.match(html, /Switched model/);
    assert.equal(engine.tracker.complete(1)!.length, before.length);
  } finally {
    engine.close();
    rmSync(copy, { recursive: true, force: true });
  }
});

test('a reloaded page counts its versions from 1 again and gets every token of its document', async () => {
  const { engine, events, scored, status } = start();
  try {
    await status('ready');
    const text = 'A page that reloads sends the same text again, and must see it colored.';
    void engine.call('update', { version: 1, text });
    void engine.call('update', { version: 2, text: text + ' More.' });
    const first = (await scored(2)) as ScoreUpdate;
    engine.newPage(); // what the preload's "a page loaded" message does
    const seen = events.length;
    void engine.call('update', { version: 1, text: text + ' More.' });
    const again = (await scored(1, seen)) as ScoreUpdate;
    const chunks = events.slice(seen).flatMap((e) => (e.event === 'scores' && e.data.version === 1 ? [e.data] : []));
    assert.equal(chunks[0]!.firstChanged, 0, 'nothing is assumed kept from the previous page');
    assert.equal(new Set(chunks.flatMap((c) => c.tokens.map((t) => t.start))).size, first.tokenCount, 'every token arrives');
    assert.equal(again.tokenCount, first.tokenCount);
    assert.deepEqual(engine.tracker.complete(1)!.map((t) => t.logprob), chunks.flatMap((c) => c.tokens).map((t) => t.logprob));
    await assert.rejects(engine.call('update', { version: 1, text }), /version must be greater than the last one \(1\)/);
  } finally {
    engine.close();
  }
});
