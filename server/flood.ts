/**
 * Memory under an update flood (issue 12): starts the web server in a child process (real engine),
 * sends ROUNDS floods of N updates of a ~18 KB text over a new WebSocket each, waits until the
 * newest version is scored, and prints the server's memory after a full GC.
 *
 *   node --import tsx server/flood.ts [N=1000] [REPEATS=400] [ROUNDS=3]
 */
import { spawn } from 'node:child_process';
import WebSocket from 'ws';

const [N, REPEATS, ROUNDS] = [1000, 400, 3].map((d, i) => Number(process.argv[2 + i] ?? d)) as [number, number, number];
const runner = `
import { mkdtempSync, writeFileSync } from 'node:fs'; import { tmpdir } from 'node:os'; import { join } from 'node:path';
import { startWebServer } from './server/serve.ts';
const dist = mkdtempSync(join(tmpdir(), 'flood-dist-')); writeFileSync(join(dist, 'index.html'), '<p>');
const web = await startWebServer({ port: 0, distDir: dist, modelsDir: mkdtempSync(join(tmpdir(), 'flood-models-')) });
process.on('message', () => { for (let i = 0; i < 4; i++) globalThis.gc(); const m = process.memoryUsage(); process.send({ rss: m.rss, heap: m.heapUsed }); });
process.send({ port: web.port });
`;
const child = spawn(process.execPath, ['--expose-gc', '--import', 'tsx', '--input-type=module', '-e', runner], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
const next = <T>() => new Promise<T>((r) => child.once('message', (m) => r(m as T)));
const { port } = await next<{ port: number }>();
const memory = async () => {
  child.send('measure');
  const m = await next<{ rss: number; heap: number }>();
  return `server rss ${(m.rss / 1e6).toFixed(1)} MB, heap ${(m.heap / 1e6).toFixed(1)} MB`;
};
console.log(`start: ${await memory()}`);
const base = 'The quick brown fox jumps over the lazy dog. '.repeat(REPEATS);
for (let round = 1; round <= ROUNDS; round++) {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/engine`, { origin: `http://127.0.0.1:${port}` });
  await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
  const done = new Promise<void>((resolve) =>
    ws.on('message', (raw) => {
      const m = JSON.parse(String(raw)) as { kind: string; event?: string; data?: { version: number; done: boolean } };
      if (m.kind === 'event' && m.event === 'scores' && m.data?.done && m.data.version === N) resolve();
    }),
  );
  const t0 = Date.now();
  for (let v = 1; v <= N; v++) ws.send(JSON.stringify({ kind: 'call', id: v, method: 'update', params: { version: v, text: base + 'x'.repeat(v % 50) + ' word'.repeat(v % 7) } }));
  await Promise.race([done, new Promise((r) => setTimeout(r, 180_000))]);
  const ms = Date.now() - t0;
  ws.close();
  await new Promise((r) => setTimeout(r, 500));
  console.log(`flood ${round}: ${N} updates of ${(base.length / 1000).toFixed(0)} KB, newest scored in ${ms} ms; ${await memory()}`);
}
child.kill();
process.exit(0);
