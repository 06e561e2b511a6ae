// WorkerEngineClient against a stand-in worker that answers like web/worker/engine-worker.ts: calls
// go out as WireMessage, results and events come back to the right promise and listeners, a failing
// worker fails the calls and says so, and importModel sends the picked folder before the call.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { EngineStatus } from '../../common/api.ts';
import type { WireMessage } from '../../common/rpc.ts';
import { WorkerEngineClient, type WorkerLike } from './worker-engine-client.ts';

class FakeWorker implements WorkerLike {
  readonly sent: unknown[] = [];
  private readonly handlers: { message: ((e: MessageEvent) => void)[]; error: ((e: ErrorEvent) => void)[] } = { message: [], error: [] };
  postMessage(message: unknown): void {
    this.sent.push(message);
  }
  addEventListener(type: 'message' | 'error', listener: ((e: MessageEvent) => void) & ((e: ErrorEvent) => void)): void {
    this.handlers[type].push(listener);
  }
  reply(msg: WireMessage): void {
    for (const h of this.handlers.message) h({ data: msg } as MessageEvent);
  }
  fail(message: string): void {
    for (const h of this.handlers.error) h({ message } as ErrorEvent);
  }
}

test('calls go out as WireMessage and their results and events come back', async () => {
  const worker = new FakeWorker();
  const client = new WorkerEngineClient(worker, async () => null);
  const statuses: EngineStatus[] = [];
  client.on('status', (s) => statuses.push(s));
  const topK = client.call('topK', { version: 3, index: 1, k: 2 });
  const call = worker.sent[0] as Extract<WireMessage, { kind: 'call' }>;
  assert.deepEqual({ ...call, id: 0 }, { kind: 'call', id: 0, method: 'topK', params: { version: 3, index: 1, k: 2 } });
  worker.reply({ kind: 'event', event: 'status', data: { state: 'scoring' } });
  worker.reply({ kind: 'result', id: call.id, result: [{ id: 1, text: 'a', logprob: -1 }] });
  assert.deepEqual(await topK, [{ id: 1, text: 'a', logprob: -1 }]);
  assert.deepEqual(statuses, [{ state: 'scoring' }]);
  const failing = client.call('modelInfo', {});
  worker.reply({ kind: 'result', id: (worker.sent[1] as { id: number }).id, error: 'no model: the file is truncated' });
  await assert.rejects(failing, /no model: the file is truncated/);
});

test('a worker that fails fails the waiting calls and reports an error status', async () => {
  const worker = new FakeWorker();
  const client = new WorkerEngineClient(worker, async () => null);
  const statuses: EngineStatus[] = [];
  client.on('status', (s) => statuses.push(s));
  const waiting = client.call('modelInfo', {});
  worker.fail('WebAssembly is not available');
  await assert.rejects(waiting, /the engine worker failed: WebAssembly is not available/);
  assert.equal(statuses.at(-1)?.state, 'error');
  assert.match(statuses.at(-1)!.message!, /could not start in this tab/);
});

test('importModel without a folder path picks one in the page and sends it before the call; cancelling sends nothing', async () => {
  const worker = new FakeWorker();
  const folder = { name: 'my-model', files: [{ path: 'config.json', file: new Blob(['{}']) as File }] };
  let answer: typeof folder | null = folder;
  const client = new WorkerEngineClient(worker, async () => (answer ? { kind: 'picked-folder', folder: answer } : null));
  const imported = client.models.call('importModel', {});
  await new Promise((r) => setTimeout(r, 0));
  assert.deepEqual(worker.sent[0], { kind: 'picked-folder', folder });
  const call = worker.sent[1] as Extract<WireMessage, { kind: 'call' }>;
  assert.equal(call.method, 'importModel');
  worker.reply({ kind: 'result', id: call.id, result: { id: 'local-my-model' } });
  assert.deepEqual(await imported, { id: 'local-my-model' });
  answer = null;
  assert.equal(await client.models.call('importModel', {}), null);
  assert.equal(worker.sent.length, 2, 'nothing sent when the picker was cancelled');
});
