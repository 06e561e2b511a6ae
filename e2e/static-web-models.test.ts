// Models in the static build (dist/web), in Chromium, served by a plain static server with a local
// hub (models/testing/local-hub.ts: the hub's file layout, tree API and CDN redirects, rebuilt
// offline) as the only other origin allowed: GPT-2 small (the hub's Xenova/gpt2 interface, rebuilt
// from the embedded weights) downloads into the browser's Cache Storage with progress, verified,
// and once used scores like the embedded model; a corrupt file is refused; a model too large for a
// tab is refused with the reason; a model folder picked from disk loads; removal empties the storage.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Browser, Locator, Page } from 'playwright';
import { HUB_ENDPOINT_KEY } from '../common/worker-messages.ts';
import type { RegistryModel } from '../models/manager/registry.ts';
import { EMBEDDED_MODEL_DIR } from '../models/src/paths.ts';
import { buildHubRepos } from '../models/testing/hub-models.ts';
import { LocalHub } from '../models/testing/local-hub.ts';
import './page-globals.ts';
import { serveStatic, type StaticServer } from './static-server.ts';
import { ensureWebBuilt, launchChromium, NO_CHROMIUM, ROOT, waitScored, watchErrors } from './web-harness.ts';

const WAIT = { timeout: 90_000 };
const SMALL = 'gpt2-small-fp32';
const TEXT = 'The committee met on Tuesday to discuss the budget for the new library.';
let browser: Browser;
let server: StaticServer;
let hub: LocalHub;
let dir: string;

before(async () => {
  if (NO_CHROMIUM) return;
  dir = mkdtempSync(join(tmpdir(), 'likely-static-models-'));
  ensureWebBuilt();
  const registry = (JSON.parse(readFileSync(join(ROOT, 'models', 'registry.json'), 'utf8')) as { models: RegistryModel[] }).models;
  hub = await new LocalHub().start();
  for (const [repo, folder] of buildHubRepos(join(dir, 'hub'), registry.filter((m) => m.id === SMALL))) hub.addRepo(repo, folder);
  server = await serveStatic(join(ROOT, 'dist', 'web'), { isolated: true });
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await server?.close();
  await hub?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const row = (page: Page, id: string) => page.locator(`.models-panel li[data-model-id="${id}"]`);
/**
 * Clicks a model's "Use" and waits until the document has been scored again by it: the switch
 * reports the new model before its scores arrive, so waiting for the model id alone can read the
 * old scores, or the empty start of the new ones.
 */
async function useModel(page: Page, use: Locator, id: string): Promise<void> {
  await page.evaluate(() => {
    const w = window as unknown as { rescoredBy?: string | null };
    w.rescoredBy = null;
    window.likelyEditorState!.engine.on('scores', (u) => {
      if (u.done) w.rescoredBy = window.likelyEditorState!.model?.id ?? null;
    });
  });
  await use.click();
  await page.waitForFunction((want) => (window as unknown as { rescoredBy?: string }).rescoredBy === want, id, WAIT);
  await waitScored(page, 90_000);
}

const tokens = (page: Page) => page.evaluate(() => window.likelyEditorState!.scores()!.mirror.tokens.map((t) => [t.text, t.logprob, t.rank] as const));

test('static build models: download GPT-2 small from the hub into the browser (verified, progress), use it, refuse what does not fit or does not verify, pick a folder, remove', { skip: NO_CHROMIUM, timeout: 300_000 }, async () => {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  context.setDefaultTimeout(60_000);
  const allowed = new Set([server.origin, hub.endpoint, hub.cdnEndpoint]);
  const blocked: string[] = [];
  await context.route('**/*', (route) => {
    const url = new URL(route.request().url());
    if (allowed.has(url.origin)) return route.continue();
    blocked.push(url.href);
    return route.abort('blockedbyclient');
  });
  await context.addInitScript(([key, endpoint]) => localStorage.setItem(key!, endpoint!), [HUB_ENDPOINT_KEY, hub.endpoint]);
  const page = await context.newPage();
  const errors = watchErrors(page);
  await page.goto(server.url);
  await page.waitForFunction(() => window.likelyEditorState?.model !== null, null, WAIT);
  await page.evaluate((t) => window.likelyEditor!.setPlainText(t), TEXT);
  await waitScored(page, 90_000);
  const embedded = await tokens(page);

  await page.click('[data-action="models"]');
  // What does not fit in a tab says so, and is refused.
  const medium = row(page, 'gpt2-medium-fp32');
  assert.match(await medium.locator('[data-fact="memory-warning"]').innerText(), /too large for a browser tab/);
  await medium.locator('[data-action="download"]').click();
  await page.waitForSelector('[data-models="error"]', WAIT);
  assert.match(await page.locator('[data-models="error"]').innerText(), /GPT-2 medium .* too large for a browser tab/);
  assert.equal(hub.log.filter((r) => r.url.includes('gpt2-medium')).length, 0, 'nothing of it was requested');

  // A corrupt download is discarded and reported.
  hub.corrupt.add('onnx/model.onnx');
  hub.chunkDelayMs = 0;
  await row(page, SMALL).locator('[data-action="download"]').click();
  await page.waitForFunction((id) => document.querySelector(`[data-status-of="${id}"]`)?.textContent?.startsWith('Failed'), SMALL, WAIT);
  assert.match(await page.locator(`[data-status-of="${SMALL}"]`).innerText(), /does not match its SHA-256/);
  hub.corrupt.clear();

  // The real download: progress, verified, installed.
  hub.chunkDelayMs = 5;
  const resume = row(page, SMALL).locator('[data-action="resume"], [data-action="download"]');
  await resume.first().click();
  await page.waitForSelector(`.models-panel li[data-model-id="${SMALL}"] progress`, WAIT);
  await page.waitForFunction((id) => document.querySelector(`[data-status-of="${id}"]`)?.textContent === 'Installed', SMALL, WAIT);
  hub.chunkDelayMs = 0;
  assert.ok(hub.log.some((r) => r.server === 'hub' && r.url.startsWith('/api/models/Xenova/gpt2/tree/')), 'checksums came from the hub\'s tree API');

  // Used: the document is re-scored by it, like the embedded model (same weights, the hub's interface).
  await useModel(page, row(page, SMALL).locator('[data-action="use"]'), SMALL);
  const small = await tokens(page);
  assert.equal(small.length, embedded.length);
  small.forEach(([text, logprob], i) => {
    assert.equal(text, embedded[i]![0]);
    assert.ok(Math.abs(logprob - embedded[i]![1]) < 1e-3, `token ${i} ${JSON.stringify(text)}: ${logprob} vs embedded ${embedded[i]![1]}`);
  });

  // A folder picked from disk (the embedded model's own files) loads as a new model.
  const chooser = page.waitForEvent('filechooser');
  await page.click('[data-action="import"]');
  await (await chooser).setFiles(EMBEDDED_MODEL_DIR);
  const picked = page.locator('.models-panel li[data-model-id="local-embedded"]');
  await picked.waitFor(WAIT);
  await useModel(page, picked.locator('[data-action="use"]'), 'local-embedded');
  assert.deepEqual((await tokens(page)).map((t) => t[0]), embedded.map((t) => t[0]));

  // Removed: the browser's storage holds nothing of it.
  await row(page, SMALL).locator('[data-action="remove"]').click();
  await row(page, SMALL).locator('[data-action="remove"]').click();
  await page.waitForFunction((id) => document.querySelector(`[data-status-of="${id}"]`)?.textContent === 'Not downloaded', SMALL, WAIT);
  const stored = await page.evaluate(async () => (await (await caches.open('likely-models')).keys()).map((r) => r.url));
  assert.deepEqual(stored, []);
  await context.close();
  assert.deepEqual(errors, []);
  assert.deepEqual(blocked, []);
});
