/**
 * npm run bench:web [-- --json] [--keys N] [--runs N]
 *
 * The static build (dist/web) in Debian's Chromium (headless), served by a plain static server
 * (e2e/static-server.ts) with cross-origin isolation (so onnxruntime-web uses threads), against the
 * Node engine (onnxruntime-node, in this process) on the same model, in one run. Targets (issue 16):
 * in-page full score and keystroke ≤ 3× the Node engine's; the page never blocks input while it
 * scores (keystroke → next frame p95, as in `npm run bench:browser`).
 *
 * - full1k: a new ~1,024-token text (a different one each run, so no cache helps) until every
 *   token is scored: Node, engine.update → the `done` scores event; page, the editor's setPlainText
 *   → the `done` event in the page (worker + transport + the editor's handling of the events).
 *   Also in a page that is not cross-origin isolated (one WebAssembly thread): `pageSingleThreadMs`.
 * - keystroke1k: one character appended at the end of a ~1,000-token text, until it is scored
 *   (Node: update; page: an editor transaction → `done`), one after another; median and p95.
 * - typing1k: keys typed at the end of the first paragraph of the ~1,000-token text (every key
 *   re-scores the text after it, so the worker scores the whole time): keystroke → next frame.
 * - bundle: bytes of dist/web by kind (gzip of the code and WebAssembly, as a server would send it).
 * - firstLoad: a fresh browser profile: navigation → the editor shown, → the model loaded (the
 *   worker fetched and compiled onnxruntime's WebAssembly and the model), → a short text colored.
 *
 * JSON (`-- --json`, one object): conditions, full1k, keystroke1k, typing1k, bundle, firstLoad;
 * every *Ms is milliseconds; *Ratio is page / Node (full1k, keystroke1k) or p95 / 16 ms (typing1k).
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { extname, join, relative } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { Browser, Page } from 'playwright';
import type { ScoreUpdate } from '../../common/api.ts';
import type { Engine } from '../../models/src/engine.ts';
import { loadEngine } from '../../models/src/load-from-folder.ts';
import { findChromium } from '../chromium.ts';
import { serveStatic, type StaticServer } from '../static-server.ts';
import { ensureWebBuilt, launchChromium, ROOT, watchErrors } from '../web-harness.ts';
import { caretAtEndOfFirstParagraph, installKeyProbe, keyStats, typeKeys } from './browser-bench.ts';
import { proseOfTokens, quantile, round, runWhenEntry, waitScored } from './page.ts';
import { CliError, intOption, scriptOptions } from '../../models/cli/args.ts';

const options = scriptOptions('bench:web', { values: ['keys', 'runs'], flags: ['json'] }, (args) => {
  if (args.positional.length) throw new CliError(`unexpected argument ${args.positional[0]}`);
  return { json: args.flags.has('json'), keys: intOption(args, 'keys', 40, 1), runs: intOption(args, 'runs', 3, 1) };
});
const json = options.json;
const KEYS = options.keys;
const RUNS = options.runs;
const STROKES = 10;
const WEB = join(ROOT, 'dist', 'web');
const log = (...a: unknown[]) => console.error(...a);

/** Node: scores `text` as version `version` and resolves with the milliseconds until done. */
function nodeUpdate(engine: Engine, version: number, text: string): Promise<number> {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const off = engine.on('scores', (u: ScoreUpdate) => {
      if (u.version === version && u.done) {
        off();
        resolve(performance.now() - t0);
      }
    });
    engine.update(version, text);
  });
}

/** Page: runs `act` (an edit through the editor) and resolves with the milliseconds until its scores are done. */
function pageTimed(page: Page, act: 'set' | 'append', text: string): Promise<number> {
  return page.evaluate(
    ({ act, text }) =>
      new Promise<number>((resolve) => {
        const ed = window.likelyEditorState!;
        let t0 = 0;
        const off = ed.engine.on('scores', (u) => {
          if (t0 && u.done && u.version === ed.scores()!.version) {
            off();
            resolve(performance.now() - t0);
          }
        });
        t0 = performance.now();
        if (act === 'set') window.likelyEditor!.setPlainText(text);
        else {
          const view = ed.view as unknown as { state: { doc: { content: { size: number } }; tr: { insertText(t: string, pos: number): unknown } }; dispatch(tr: unknown): void };
          view.dispatch(view.state.tr.insertText(text, view.state.doc.content.size - 1));
        }
      }),
    { act, text },
  );
}

async function openPage(browser: Browser, server: StaticServer) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, deviceScaleFactor: 1 });
  context.setDefaultTimeout(300_000);
  const page = await context.newPage();
  await page.addInitScript({ content: 'window.__name = (f) => f;' });
  await page.addInitScript({ content: "localStorage.setItem('likely:first-run-note-dismissed', '1');" });
  const errors = watchErrors(page);
  const t0 = Date.now();
  await page.goto(server.url);
  await page.waitForSelector('.ProseMirror');
  const editorMs = Date.now() - t0;
  await page.waitForFunction(() => window.likelyEditorState?.model !== null, null, { timeout: 300_000, polling: 50 });
  const modelMs = Date.now() - t0;
  return { page, errors, editorMs, modelMs, close: () => context.close() };
}

function bundle() {
  const files: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) (e.isDirectory() ? walk : (p: string) => files.push(p))(join(d, e.name));
  };
  walk(WEB);
  const kind = (f: string) => (relative(WEB, f).startsWith('model/') ? 'model' : extname(f) === '.wasm' ? 'wasm' : ['.js', '.mjs'].includes(extname(f)) ? 'js' : 'other');
  const sum = (k: string) => files.filter((f) => kind(f) === k).reduce((n, f) => n + statSync(f).size, 0);
  const gz = (k: string) => files.filter((f) => kind(f) === k).reduce((n, f) => n + gzipSync(readFileSync(f), { level: 6 }).length, 0);
  return {
    files: files.length,
    totalBytes: sum('model') + sum('wasm') + sum('js') + sum('other'),
    modelBytes: sum('model'),
    wasmBytes: sum('wasm'),
    wasmGzipBytes: gz('wasm'),
    jsBytes: sum('js'),
    jsGzipBytes: gz('js'),
    otherBytes: sum('other'),
  };
}

async function main(): Promise<void> {
  const t0 = Date.now();
  ensureWebBuilt();
  const texts = Array.from({ length: RUNS }, (_, i) => proseOfTokens(1024, i * 10));
  const doc1k = proseOfTokens(1000, 200);

  log('Node engine ...');
  const engine = await loadEngine({ device: 'cpu' });
  let v = 1;
  await nodeUpdate(engine, v++, proseOfTokens(1024, 300).text); // warm-up
  const nodeFull = [];
  for (const t of texts) nodeFull.push(await nodeUpdate(engine, v++, t.text));
  let text = doc1k.text;
  await nodeUpdate(engine, v++, text);
  const nodeKeys = [];
  for (let i = 0; i < STROKES; i++) nodeKeys.push(await nodeUpdate(engine, v++, (text += 'abcdefghij'[i])));
  const model = engine.info.name;
  await engine.dispose();

  const isolated = await serveStatic(WEB, { isolated: true });
  const plain = await serveStatic(WEB);
  const browser = await launchChromium();
  try {
    log('first load (fresh profile) ...');
    const first = await openPage(browser, isolated);
    const firstColorsMs = await pageTimed(first.page, 'set', 'The first page of the draft.');
    const firstLoad = { editorMs: first.editorMs, modelReadyMs: first.modelMs, firstColorsMs: Math.round(first.modelMs + firstColorsMs) };
    // The rule of models/src/ort-web.ts wasmThreads().
    const threads = await first.page.evaluate(() => (crossOriginIsolated ? Math.max(1, Math.min(4, navigator.hardwareConcurrency - 1)) : 1));
    const pageModel = await first.page.evaluate(() => window.likelyEditorState!.model!);

    log('page: full score ...');
    await pageTimed(first.page, 'set', proseOfTokens(1024, 300).text); // warm-up
    const pageFull = [];
    for (const t of texts) pageFull.push(await pageTimed(first.page, 'set', t.text));
    log('page: keystrokes ...');
    await pageTimed(first.page, 'set', doc1k.text);
    const pageKeys = [];
    for (let i = 0; i < STROKES; i++) pageKeys.push(await pageTimed(first.page, 'append', 'abcdefghij'[i]!));

    log(`page: typing ${KEYS} keys while scoring ...`);
    await pageTimed(first.page, 'set', doc1k.text);
    await caretAtEndOfFirstParagraph(first.page);
    await installKeyProbe(first.page);
    const typing1k = { tokens: doc1k.tokens, ...keyStats(await typeKeys(first.page, KEYS)) };
    await waitScored(first.page);
    await first.close();
    if (first.errors.length) throw new Error(`page errors: ${first.errors.join('\n')}`);

    log('page without isolation (one thread): full score ...');
    const single = await openPage(browser, plain);
    await pageTimed(single.page, 'set', proseOfTokens(1024, 300).text);
    const singleFull = [];
    for (const t of texts) singleFull.push(await pageTimed(single.page, 'set', t.text));
    await single.close();

    const med = (xs: number[]) => quantile(xs, 0.5);
    const found = findChromium();
    const chromium = 'path' in found ? execFileSync(found.path, ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim() : found.reason;
    const result = {
      conditions: { model, pageModel: `${pageModel.name} on ${pageModel.device}`, pageThreads: threads, nodeThreads: cpus().length, chromium, headless: true, cpus: cpus().length, loadavg1m: round(loadavg()[0]!), seconds: Math.round((Date.now() - t0) / 1000) },
      full1k: { tokens: Math.round(med(texts.map((t) => t.tokens))), runs: RUNS, nodeMs: Math.round(med(nodeFull)), pageMs: Math.round(med(pageFull)), ratio: round(med(pageFull) / med(nodeFull)), pageSingleThreadMs: Math.round(med(singleFull)), singleThreadRatio: round(med(singleFull) / med(nodeFull)) },
      keystroke1k: { tokens: doc1k.tokens, strokes: STROKES, nodeMedianMs: round(med(nodeKeys)), pageMedianMs: round(med(pageKeys)), ratio: round(med(pageKeys) / med(nodeKeys)), nodeP95Ms: round(quantile(nodeKeys, 0.95)), pageP95Ms: round(quantile(pageKeys, 0.95)) },
      typing1k,
      bundle: bundle(),
      firstLoad,
    };
    if (json) console.log(JSON.stringify(result));
    else for (const [k, val] of Object.entries(result)) console.log(`${k}: ${Object.entries(val).map(([a, b]) => `${a}=${b}`).join('  ')}`);
  } finally {
    await browser.close().catch(() => {});
    await isolated.close();
    await plain.close();
  }
}

runWhenEntry(import.meta.url, main);
