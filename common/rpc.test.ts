// The one RPC vocabulary (rpc.ts) and the engine-call validator every transport runs (api.ts).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { validateEngineCall } from './api.ts';
import { MAX_UPDATE_CHARS } from './limits.ts';
import { CallError, Listeners, PendingCalls, receive } from './rpc.ts';

test('engine calls are checked with one line that says what is wrong', () => {
  assert.deepEqual(validateEngineCall('update', { version: 3, text: 'hi' }), { method: 'update', params: { version: 3, text: 'hi' } });
  validateEngineCall('topK', { version: 1, index: 0, k: 10 });
  validateEngineCall('predictions', { version: 1, from: 0, to: 5, k: 5 });
  validateEngineCall('infill', { version: 1, start: 2, end: 4 });
  validateEngineCall('infill', { version: 1, start: 2, end: 4, k: 8, prefixOnly: true });
  validateEngineCall('suggestSpan', { version: 1, index: 3 });
  validateEngineCall('attention', { version: 1, index: 3 });
  validateEngineCall('attention', { version: 1, index: 3, k: 1024 });
  validateEngineCall('modelInfo', {});
  validateEngineCall('update', { version: 1, text: 'x'.repeat(MAX_UPDATE_CHARS) });
  // The cases a hostile page sent over the WebSocket, which used to be clamped there instead of refused.
  const bad: [unknown, unknown, RegExp][] = [
    ['dispose', {}, /^unknown engine method "dispose"$/],
    ['__proto__', {}, /unknown engine method/],
    ['constructor', {}, /unknown engine method/],
    [42, {}, /unknown engine method/],
    ['update', { version: 1, text: 42 }, /^invalid parameters for update: text must be a string$/],
    ['update', { version: -1, text: '' }, /version must be a non-negative integer/],
    ['update', { version: 2 ** 53, text: '' }, /version must be a non-negative integer/],
    ['update', { version: 1.5, text: '' }, /version must be a non-negative integer/],
    ['update', { version: 1, text: 'x'.repeat(MAX_UPDATE_CHARS + 1) }, /the text is \d+ characters; the limit is/],
    ['update', { version: 1, text: 'x', fresh: 'yes' }, /fresh must be true or false/],
    ['update', null, /expected an object/],
    ['update', [1, 'x'], /expected an object/],
    ['topK', { version: 1, index: 0, k: 1e9 }, /k must be an integer from 1 to 100/],
    ['topK', { version: 1, index: 0, k: 0 }, /k must be an integer from 1 to 100/],
    ['topK', { version: 1, index: 0, k: -1 }, /k must be an integer from 1 to 100/],
    ['topK', { version: 1, index: 0.5, k: 5 }, /index must be a non-negative integer/],
    ['predictions', { version: 1, from: 5, to: 2, k: 5 }, /to must not be less than from/],
    ['predictions', { version: 1, from: 0, to: 2, k: 11 }, /k must be an integer from 1 to 10/],
    ['infill', { version: 1, start: 4, end: 2 }, /end must not be less than start/],
    ['infill', { version: 1, start: 0, end: 2, k: 1e9 }, /k must be an integer from 1 to 50/],
    ['infill', { version: 1, start: 0, end: 2, prefixOnly: 'yes' }, /prefixOnly must be true or false/],
    ['attention', { version: 1, index: -1 }, /index must be a non-negative integer/],
    ['attention', { version: 1 }, /index must be a non-negative integer/],
    ['attention', { version: 1, index: 2, k: 0 }, /k must be an integer from 1 to 1024/],
    ['attention', { version: 1, index: 2, k: 1025 }, /k must be an integer from 1 to 1024/],
  ];
  for (const [method, params, message] of bad) {
    assert.throws(() => validateEngineCall(method, params), (e: Error) => e instanceof CallError && message.test(e.message) && !e.message.includes('\n'), `${String(method)} ${JSON.stringify(params)?.slice(0, 40)}`);
  }
});

test('pending calls settle once, by id; a lost connection fails every one', async () => {
  const pending = new PendingCalls();
  const a = pending.add();
  const b = pending.add();
  assert.notEqual(a.id, b.id);
  assert.equal(pending.settle({ id: a.id, result: 42 }), true);
  assert.equal(pending.settle({ id: a.id, result: 43 }), false, 'a second answer is ignored');
  assert.equal(await a.result, 42);
  pending.rejectAll('lost the connection');
  await assert.rejects(b.result, /lost the connection/);
  assert.equal(pending.size, 0);
});

test('receive routes results to their call and events to their listeners', async () => {
  const pending = new PendingCalls();
  const listeners = new Listeners<{ tick: number }>();
  const seen: number[] = [];
  const off = listeners.on('tick', (n) => seen.push(n));
  const call = pending.add();
  receive({ kind: 'event', event: 'tick', data: 1 }, pending, listeners);
  receive({ kind: 'result', id: call.id, error: 'no model' }, pending, listeners);
  receive('garbage', pending, listeners);
  off();
  receive({ kind: 'event', event: 'tick', data: 2 }, pending, listeners);
  assert.deepEqual(seen, [1]);
  await assert.rejects(call.result, /^Error: no model$/);
});
