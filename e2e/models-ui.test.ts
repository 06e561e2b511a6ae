// The Models panel in Debian's Chromium against the real `serve`: the models folder is a temp dir,
// HF_ENDPOINT points at a local hub (models/testing/local-hub.ts) serving an int8 variant of the
// embedded model under a name of its own, and `--registry` adds it as a small registry entry. The
// panel lists sizes and memory, downloads it with a progress bar (bytes, speed, time left), pauses
// and resumes, switches the engine to it (the open document is re-scored: its numbers become the
// int8 model's, equal to `likely score --model`, and the text stays), the status bar names it with
// its precision and device, and the device setting goes to CPU with the reason shown.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Browser, Page } from 'playwright';
import type { TokenScore } from '../common/api.ts';
import type { DownloadProgress, ModelsClient } from '../common/models-api.ts';
import { LocalHub } from '../models/testing/local-hub.ts';
import { EMBEDDED_MODEL_DIR } from '../models/src/paths.ts';
import { EMBEDDED_NAME } from '../models/testing/embedded.ts';
import './page-globals.ts';
import { ARTIFACTS, ensureRendererBuilt, launchChromium, NO_CHROMIUM, ROOT, startServe, waitScored, watchErrors, type Served } from './web-harness.ts';

const PYTHON = '/usr/bin/python3';
const REPO = 'likely-test/tiny-int8';
const ID = 'tiny-test-int8';
const NAME = 'Test model int8 (test hub)';
const WAIT = { timeout: 30_000 };
const DRAFT = 'The committee met on Tuesday to discuss the budget. Several members argued that the proposal would raise taxes on small farms.';

let work: string;
let modelsDir: string;
let hub: LocalHub;
let served: Served;
let browser: Browser;
let precision: 'int8' | 'fp32' = 'int8';
const savedEndpoint = process.env.HF_ENDPOINT;

/** The model the hub serves: the embedded one quantized to int8 (or, without python3-onnx, copied), renamed. */
function hubModel(dir: string): string[] {
  const q = spawnSync(PYTHON, [join(ROOT, 'models', 'training', 'quantize.py'), EMBEDDED_MODEL_DIR, dir], { encoding: 'utf8' });
  if (q.status !== 0) {
    precision = 'fp32';
    cpSync(EMBEDDED_MODEL_DIR, dir, { recursive: true, filter: (src) => !basename(src).startsWith('.likely-') });
  }
  const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as { likely?: Record<string, unknown> };
  config.likely = { ...config.likely, name: precision === 'int8' ? NAME : NAME.replace('int8', 'copy') };
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
  return ['config.json', 'tokenizer.json', 'tokenizer_config.json', precision === 'int8' ? 'onnx/model_quantized.onnx' : 'onnx/model.onnx'];
}

before(async () => {
  if (NO_CHROMIUM) return;
  mkdirSync(ARTIFACTS, { recursive: true });
  work = mkdtempSync(join(tmpdir(), 'likely-models-ui-'));
  modelsDir = join(work, 'models');
  const files = hubModel(join(work, 'hub-model'));
  hub = await new LocalHub().start();
  hub.addRepo(REPO, join(work, 'hub-model'));
  hub.chunkDelayMs = 40; // ~30 MB in 256 KB chunks: a few seconds, long enough to see progress and pause
  // The app's registry plus one small entry on the local hub.
  const registry = JSON.parse(readFileSync(join(ROOT, 'models', 'registry.json'), 'utf8')) as { models: unknown[] };
  registry.models.push({
    id: ID,
    name: 'Tiny test model (local hub)',
    size: 'small',
    precision,
    repo: REPO,
    revision: 'main',
    memoryBytes: 300_000_000,
    files: files.map((path) => ({ path, bytes: null, approxBytes: hub.file(REPO, path).data.length, sha256: null })),
  });
  // The same files under another id: downloaded in the offline test, after the hub is gone.
  registry.models.push({ ...(registry.models.at(-1) as object), id: 'offline-test-fp32', name: 'Offline test model (local hub)' });
  // One no machine can run, so the memory warning shows whatever this machine has.
  registry.models.push({
    id: 'too-big-test-fp32',
    name: 'Too big for any machine (test)',
    size: 'xl',
    precision: 'fp32',
    repo: REPO,
    revision: 'main',
    memoryBytes: 5e15,
    files: [{ path: 'config.json', bytes: null, approxBytes: 1000, sha256: null }, { path: 'onnx/model.onnx', bytes: null, approxBytes: 4e15, sha256: null }],
  });
  writeFileSync(join(work, 'registry.json'), JSON.stringify(registry));
  process.env.HF_ENDPOINT = hub.endpoint;
  ensureRendererBuilt();
  served = await startServe(['--models-dir', modelsDir, '--registry', join(work, 'registry.json')]);
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await served?.stop();
  await hub?.close();
  if (savedEndpoint === undefined) delete process.env.HF_ENDPOINT;
  else process.env.HF_ENDPOINT = savedEndpoint;
  if (work) rmSync(work, { recursive: true, force: true });
});


const mirrorLogprobs = (page: Page) => page.evaluate(() => window.likelyEditorState!.scores()!.mirror.tokens.map((t) => t.logprob));

test('download a model from the hub with progress, pause and resume, switch to it (re-scored, named in the status bar), device CPU', { skip: NO_CHROMIUM, timeout: 120_000 }, async () => {
  const context = await browser.newContext({ viewport: { width: 1200, height: 820 } });
  context.setDefaultTimeout(30_000);
  const page = await context.newPage();
  const errors = watchErrors(page);
  try {
    await page.goto(served.url);
    await page.waitForSelector('.ProseMirror', WAIT);
    await page.waitForFunction(() => window.likelyEditorState?.model !== null, null, WAIT);
    // Every progress report the page receives, to check what the panel shows against.
    await page.evaluate(() => {
      const log: DownloadProgress[] = [];
      (window as unknown as { progressLog: DownloadProgress[] }).progressLog = log;
      (window.likelyEditorState!.engine as unknown as { models: ModelsClient }).models.on('modelProgress', (p) => log.push(p));
    });
    await page.click('.ProseMirror');
    await page.keyboard.type(DRAFT);
    await waitScored(page);
    const before = await mirrorLogprobs(page);
    const status = page.locator('.statusbar');
    const statusText = await status.innerText();
    assert.match(statusText.slice(Math.max(0, statusText.indexOf(EMBEDDED_NAME))), new RegExp(`^${EMBEDDED_NAME.replace(/[()]/g, '\\$&')}[\\s\\S]*fp32[\\s\\S]*CPU`));

    // The panel: every model with its download size and memory; warnings where the machine lacks memory.
    await page.click('[data-action="models"]');
    const panel = page.getByRole('dialog', { name: 'Models' });
    await panel.waitFor();
    const row = panel.locator(`[data-model-id="${ID}"]`);
    await row.waitFor();
    assert.ok((await panel.locator('[data-models="current"]').innerText()).includes(`Using ${EMBEDDED_NAME} · fp32 · CPU`));
    const state = await page.evaluate(() => (window.likelyEditorState!.engine as unknown as { models: ModelsClient }).models.call('modelsState', {}));
    assert.equal(state.modelsDir, modelsDir);
    const hubEntry = state.models.find((m) => m.id === ID)!;
    assert.match(await row.locator('[data-fact="download"]').innerText(), new RegExp(`download ${(hubEntry.downloadBytes! / 1e6).toFixed(1)} MB`));
    assert.equal(await row.locator('[data-fact="memory"]').innerText(), 'needs about 300 MB of memory');
    assert.equal(await panel.locator('li[data-model-id]').count(), state.models.length);
    for (const m of state.models) {
      const warning = panel.locator(`[data-model-id="${m.id}"] [data-fact="memory-warning"]`);
      assert.equal(await warning.count(), m.memoryWarning ? 1 : 0, `${m.id} warning shown exactly when the machine lacks memory`);
    }
    assert.match(
      await panel.locator('[data-model-id="too-big-test-fp32"] [data-fact="memory-warning"]').innerText(),
      /^⚠ needs about 5000 TB of memory; this machine has [\d.]+ GB in all$/,
    );
    assert.equal(await panel.locator('[data-model-id="too-big-test-fp32"] [data-action="download"]').innerText(), 'Download anyway');
    assert.equal(await row.locator('[data-action="download"]').innerText(), 'Download');
    const xl = panel.locator('[data-model-id="gpt2-xl-fp32"]');
    assert.match(await xl.locator('[data-fact="memory"]').innerText(), /needs about [\d.]+ GB of memory/);
    assert.match(await xl.locator('[data-fact="download"]').innerText(), /download [\d.]+ GB/);

    // Download: a progress bar with bytes, speed and time left; pause keeps the bytes; resume finishes.
    await row.locator('[data-action="download"]').click();
    const statusOf = row.locator(`[data-status-of="${ID}"]`);
    await page.waitForFunction((id) => /MB of [\d.]+ MB · [\d.]+ [kM]B\/s · \d+:\d\d left/.test(document.querySelector(`[data-status-of="${id}"]`)?.textContent ?? ''), ID, WAIT);
    // Pause inside the weights (sent slowly by the CDN), past the small files the hub sends at once.
    await page.waitForFunction(
      () => (window as unknown as { progressLog: DownloadProgress[] }).progressLog.some((p) => p.phase === 'downloading' && p.file.startsWith('onnx/') && p.bytes > 4_000_000),
      null,
      WAIT,
    );
    assert.equal(await row.locator('progress').count(), 1);
    await page.screenshot({ path: join(ARTIFACTS, 'models-downloading.png') });
    await row.locator('[data-action="pause"]').click();
    await row.locator('[data-action="resume"]').waitFor();
    const pausedText = await statusOf.innerText();
    assert.match(pausedText, /^Paused at [\d.]+ MB of [\d.]+ MB$/);
    assert.equal(await panel.locator('[data-models="error"]').count(), 0, 'a pause is not an error');
    const pausedAt = Number(/Paused at ([\d.]+) MB/.exec(pausedText)![1]) * 1e6;
    hub.chunkDelayMs = 5;
    await row.locator('[data-action="resume"]').click();
    await row.locator('[data-action="use"]').waitFor({ timeout: 60_000 });
    assert.equal(await statusOf.innerText(), 'Installed');
    const progress = await page.evaluate(() => (window as unknown as { progressLog: DownloadProgress[] }).progressLog);
    const done = progress.at(-1)!;
    assert.equal(done.phase, 'done');
    assert.equal(done.bytes, done.totalBytes);
    const resumed = progress.filter((p) => p.phase === 'downloading' && p.resumedBytes > 0);
    assert.ok(resumed.length > 0 && resumed[0]!.resumedBytes >= pausedAt - 300_000, 'the second run resumed from the paused bytes');
    assert.ok(
      hub.log.some((r) => r.server === 'cdn' && /^bytes=[1-9]\d*-$/.test(String(r.headers.range))),
      'resumed with a Range request',
    );
    assert.ok(progress.some((p) => p.bytesPerSecond > 0 && p.etaSeconds !== null), 'speed and time left were reported');

    // Use it: the engine switches, the document is scored again under the new model, the text stays.
    await row.locator('[data-action="use"]').click();
    const expectedName = precision === 'int8' ? NAME : NAME.replace('int8', 'copy');
    await page.waitForFunction((name) => document.querySelector('[data-status="model"]')?.textContent === name, expectedName, WAIT);
    await page.waitForFunction((id) => document.querySelector(`[data-status-of="${id}"]`)?.textContent === 'In use', ID, WAIT);
    await page.waitForFunction(
      (old) => {
        const s = window.likelyEditorState!;
        const tokens = s.scores()!.mirror.tokens;
        return s.done && tokens.length === old.length && tokens.some((t, i) => t.logprob !== old[i]);
      },
      before,
      WAIT,
    ).catch((e: Error) => {
      if (precision === 'int8') throw e; // a plain copy scores the same numbers
    });
    await waitScored(page);
    assert.equal(await page.evaluate(() => window.likelyEditor!.getPlainText()), DRAFT, 'the text is untouched');
    const after = await mirrorLogprobs(page);
    const file = join(work, 'draft.txt');
    writeFileSync(file, DRAFT);
    const cli = spawnSync('npm', ['run', '--silent', 'likely', '--', 'score', file, '--json', '--model', join(modelsDir, ID)], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
    assert.equal(cli.status, 0, cli.stderr);
    const want = (JSON.parse(cli.stdout) as { tokens: TokenScore[] }).tokens.map((t) => t.logprob);
    assert.equal(after.length, want.length);
    assert.ok(
      after.every((lp, i) => Math.abs(lp - want[i]!) < 2e-3),
      'the editor now shows the new model\'s numbers (as `likely score --model` computes them)',
    );
    if (precision === 'int8') assert.ok(after.some((lp, i) => Math.abs(lp - before[i]!) > 1e-6), 'int8 numbers differ from fp32');
    assert.match(await status.innerText(), new RegExp(`${precision}[\\s\\S]*CPU`));

    // Device: CPU restarts the engine there and says why the GPU is not used.
    await panel.locator('[data-device="cpu"]').click();
    await page.waitForFunction(() => document.querySelector('[data-device="cpu"]')?.getAttribute('aria-checked') === 'true', null, WAIT);
    await page.waitForFunction(() => /CPU chosen in settings/.test(document.querySelector('[data-models="gpu-note"]')?.textContent ?? ''), null, WAIT);
    assert.equal(await page.locator('[data-status="device"]').innerText(), 'CPU');
    assert.equal(await page.locator('[data-status="device"]').getAttribute('title'), 'GPU not used: CPU chosen in settings');
    assert.equal(await page.locator('[data-status="model"]').innerText(), expectedName, 'the model stays');
    await waitScored(page);
    assert.equal(await page.evaluate(() => window.likelyEditor!.getPlainText()), DRAFT);
    await page.screenshot({ path: join(ARTIFACTS, 'models-panel.png') });

    // GPU only: where no GPU provider works, the panel says why and the engine stays on the CPU.
    await panel.locator('[data-device="gpu"]').click();
    await page.waitForFunction(
      () => document.querySelector('[data-models="error"]') !== null || document.querySelector('[data-device="gpu"]')?.getAttribute('aria-checked') === 'true',
      null,
      WAIT,
    );
    const gpuError = panel.locator('[data-models="error"]');
    if (await gpuError.count()) {
      assert.match(await gpuError.innerText(), /GPU requested but .*provider/);
      assert.equal(await panel.locator('[data-device="cpu"]').getAttribute('aria-checked'), 'true', 'the setting stays on what runs');
      await page.waitForFunction(() => (window.likelyEditorState as unknown as { status: { state: string } }).status.state === 'ready', null, WAIT);
      assert.equal(await page.locator('[data-status="device"]').innerText(), 'CPU');
      assert.equal(await page.locator('[data-status="model"]').innerText(), expectedName, 'the model stays');
      await waitScored(page);
      await panel.locator('[data-device="cpu"]').click(); // already CPU: nothing to do
    } else {
      assert.match(await page.locator('[data-status="device"]').innerText(), /^GPU \(/);
      await panel.locator('[data-device="cpu"]').click();
      await page.waitForFunction(() => document.querySelector('[data-status="device"]')?.textContent === 'CPU', null, WAIT);
    }

    // The choice is kept for the next start of the server.
    assert.deepEqual(JSON.parse(readFileSync(join(modelsDir, '.likely-web-settings.json'), 'utf8')), { modelId: ID, device: 'cpu' });
    await page.keyboard.press('Escape');
    assert.equal(await panel.count(), 0, 'Escape closes the panel');
    assert.deepEqual(errors, [], 'no console errors (CSP violations included)');
  } finally {
    await context.close();
  }
});

test('the first minutes in the Models panel: one recommended download, what each precision costs, the GPU reason behind "details", the hub named, one clear line when offline', { skip: NO_CHROMIUM, timeout: 120_000 }, async () => {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  context.setDefaultTimeout(30_000);
  const page = await context.newPage();
  const errors = watchErrors(page);
  try {
    await page.goto(served.url);
    await page.waitForFunction(() => window.likelyEditorState?.model !== null, null, WAIT);
    await page.click('[data-action="models"]');
    const panel = page.getByRole('dialog', { name: 'Models' });
    await panel.locator('li[data-model-id]').first().waitFor();
    // The first test switched to the tiny model; a writer still on the embedded one sees the recommendation.
    if (await page.evaluate(() => window.likelyEditorState!.model!.id === 'embedded')) {
      assert.match(await panel.locator('[data-models="recommended"]').innerText(), /Recommended first download: GPT-2 small \(124M\), fp16 \(253 MB\)/);
    }
    const costs = panel.locator('[data-models="precision-costs"]');
    await costs.locator('summary').click();
    const rows = await costs.locator('tbody tr').allInnerTexts();
    assert.equal(rows.length, 3);
    assert.match(rows[1]!, /^fp16\s+253 MB\s+0\.\d+ nats per token on average/);
    assert.match(rows[2]!, /^int8\s+[\d.]+ MB\s+0\.\d+ nats per token/);
    const note = panel.locator('[data-models="gpu-note"]');
    if (await note.count()) {
      assert.equal(await note.evaluate((d) => (d as HTMLDetailsElement).open), false, 'the reason waits behind "GPU not used"');
      assert.equal(await note.locator('summary').innerText(), 'GPU not used');
    }
    assert.match(await panel.innerText(), new RegExp(`Downloads from ${hub.endpoint.replace(/^https?:\/\//, '').replace(/[.]/g, '\\.')}`));
    // Offline: the hub stops answering; one line says so and what to do, the row offers Resume.
    await hub.close();
    const row = panel.locator('[data-model-id="offline-test-fp32"]');
    await row.locator('[data-action="download"]').click();
    const error = panel.locator('[data-models="error"]');
    await error.waitFor(WAIT);
    assert.match(await error.innerText(), /^Can't reach 127\.0\.0\.1:\d+: you may be offline\. Resume once you are back online/);
    await page.waitForFunction(() => /Stopped: the hub did not answer/.test(document.querySelector('[data-status-of="offline-test-fp32"]')?.textContent ?? ''), null, WAIT);
    assert.equal(await row.locator('[data-action="resume"]').count(), 1);
    assert.deepEqual(errors, [], 'no console errors');
  } finally {
    await context.close();
  }
});
