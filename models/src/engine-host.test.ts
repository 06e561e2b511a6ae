import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { EngineStatus, ScoreUpdate } from '../../common/api.ts';
import { EngineHost } from './engine-host.ts';

function waitFor<T>(host: EngineHost, event: 'scores' | 'status', pred: (d: T) => boolean, ms = 60_000): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${event}`)), ms);
    const off = host.on(event, (d) => {
      if (pred(d as T)) {
        clearTimeout(timer);
        off();
        resolve(d as T);
      }
    });
  });
}

test('the engine process scores, and after a crash it restarts and re-scores the current document', async () => {
  const host = new EngineHost({ device: 'cpu' });
  try {
    await waitFor<EngineStatus>(host, 'status', (s) => s.state === 'ready');
    const text = 'The engine runs in its own process.';
    const done = waitFor<ScoreUpdate>(host, 'scores', (u) => u.version === 1 && u.done);
    await host.call('update', { version: 1, text });
    const first = await done;
    const top = await host.call('topK', { version: 1, index: 2, k: 10 });
    assert.equal(top.length, 10);
    assert.ok(top[0]!.logprob >= top[9]!.logprob);

    const restarting = waitFor<EngineStatus>(host, 'status', (s) => s.state === 'restarting');
    const rescored = waitFor<ScoreUpdate>(host, 'scores', (u) => u.version === 1 && u.done);
    host.kill(); // SIGKILL, as a native crash or the OOM killer would
    const status = await restarting;
    assert.match(status.message ?? '', /restarting/);
    // A call during the restart fails fast with a clear error instead of hanging.
    await assert.rejects(host.call('topK', { version: 1, index: 0, k: 5 }), /restarting|stopped/);
    const again = await rescored;
    assert.equal(host.restarts.length, 1);
    assert.equal(again.tokenCount, first.tokenCount);
    assert.deepEqual(again.tokens.map((t) => t.logprob), first.tokens.map((t) => t.logprob));
  } finally {
    host.close();
  }
});

test('a missing model is a clear error status, not a restart loop', async () => {
  const host = new EngineHost({ modelDir: '/nonexistent/model', device: 'cpu' });
  try {
    const s = await waitFor<EngineStatus>(host, 'status', (s) => s.state === 'error');
    assert.match(s.message ?? '', /does not exist/);
    await assert.rejects(host.call('modelInfo', {}), /no model/);
    assert.equal(host.restarts.length, 0);
  } finally {
    host.close();
  }
});

test('invalid parameters from a client are rejected', async () => {
  const host = new EngineHost({ device: 'cpu' });
  try {
    await assert.rejects(host.call('update', { version: 1, text: 42 as unknown as string }), /invalid parameters/);
  } finally {
    host.close();
  }
});
