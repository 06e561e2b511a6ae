/**
 * npm run bench:browser [-- --json] [--keys N] [--runs N]
 *
 * The editor in Debian's Chromium (headless) against the real `serve` (engine process, embedded
 * model), measured inside the page with performance.now(). Targets (issue 4): a fresh set of 5,000
 * token decorations applied in < 16 ms (median); keystroke → next frame < 16 ms (p95) while the
 * engine is scoring; 20,000 tokens open, scroll and type without visible lag.
 *
 * - frame: the idle requestAnimationFrame interval, and a control: keystroke → next frame on a
 *   bare contenteditable page (what the browser alone costs, vsync wait included).
 * - decorate5k: a new version of a ~5,000-token text gets all its scores in one transaction
 *   (as when a whole text's scores arrive). Timed from inside a requestAnimationFrame callback: the
 *   dispatch alone, and dispatch → that frame rendered (style, layout, paint; a task posted from the
 *   callback runs after them). The engine's own update for the version is held back meanwhile.
 * - typing5k / typing20k: keys typed at the end of the first paragraph, so every key makes the
 *   engine re-score the whole text after it (it is scoring the whole time). Latency = the key
 *   event's timeStamp → the first frame after it rendered; `inFrame` is the share of keys whose
 *   edit was applied before that frame. `inputMs` is the editor's work for the key (its dispatches).
 * - open20k: setPlainText of ~20,000 tokens → first frame with the text, first colored frame,
 *   every token scored (the last is engine throughput).
 * - scroll20k: the scroller moves 240 px per frame from top to bottom: frame intervals and the work
 *   in each frame; then random jumps, and the time until the token at the center is colored.
 *
 * JSON (`-- --json`, one object; the keys are an interface, see renderer/README.md): conditions,
 * budgetMs, frame, decorate5k, typing5k, open20k, scroll20k, typing20k; every *Ms is milliseconds,
 * every *Ratio is that time / budgetMs.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright';
import type { TokenScore } from '../../common/api.ts';
import { findChromium } from '../chromium.ts';
import { afterNextFrame, openEditor, proseOfTokens, quantile, round, runWhenEntry, startSession, waitScored, type Session } from './page.ts';
import { CliError, intOption, isEntry, scriptOptions } from '../../models/cli/args.ts';
import { atomicWriteFile } from '../../node/files.ts';

const BUDGET_MS = 16;
const options = scriptOptions('bench:browser', { values: ['keys', 'runs', 'scroll-px', 'profile'], flags: ['json'] }, (args) => {
  if (args.positional.length) throw new CliError(`unexpected argument ${args.positional[0]}`);
  return {
    json: args.flags.has('json'),
    keys: intOption(args, 'keys', 60, 1),
    runs: intOption(args, 'runs', 30, 1),
    scrollPx: intOption(args, 'scroll-px', 120, 1),
    profile: args.values.profile ?? null,
  };
}, isEntry(import.meta.url) ? process.argv.slice(2) : []); // imported by bench:web, whose options are its own
const json = options.json;
const KEYS = options.keys;
/** --profile DIR: writes the page's CPU profile of each measurement there (open in DevTools; build with --minify false to read names). */
const PROFILE = options.profile;
const RUNS = options.runs;
/** Scroll speed: 120 px a frame is 7,200 px/s, a fast fling (a mouse wheel is nearer 2,000–3,000 px/s). */
const SCROLL_PX = options.scrollPx;
const TYPED = ' and so the quiet river kept running past the old mill while everyone in the town slept soundly';
const log = (...a: unknown[]) => (json ? console.error(...a) : console.log(...a));

export interface KeyRecord {
  start: number;
  /** When the edit of the key was applied (end of the editor's dispatch, or the bare page's input event). */
  handled: number;
  frameStart: number;
  end: number;
  inFrame: boolean;
  scoring: boolean;
  inputMs: number;
}

type ProbeWindow = Window & { __keys: KeyRecord[]; __inputMs: number; __changes: number; __changed: number };

/** Records, per printable key: its timestamp, the first frame after it, and the editor work it caused. */
export function installKeyProbe(page: Page): Promise<void> {
  return page.evaluate(() => {
    const w = window as unknown as ProbeWindow;
    w.__keys = [];
    w.__inputMs = 0;
    w.__changes = 0;
    const ed = window.likelyEditorState;
    const view = ed?.view as { dispatch: (tr: { docChanged: boolean }) => void } | null | undefined;
    if (view) {
      const dispatch = view.dispatch.bind(view);
      view.dispatch = (tr) => {
        const t = performance.now();
        dispatch(tr);
        if (tr.docChanged) {
          w.__changed = performance.now();
          w.__inputMs += w.__changed - t;
          w.__changes++;
        }
      };
    } else
      document.addEventListener(
        'input',
        () => {
          w.__changed = performance.now();
          w.__changes++;
        },
        true,
      );
    document.addEventListener(
      'keydown',
      (e) => {
        if (e.key.length !== 1) return;
        const rec: KeyRecord = { start: e.timeStamp, handled: 0, frameStart: 0, end: 0, inFrame: false, scoring: ed ? !ed.done : false, inputMs: 0 };
        const changes = w.__changes;
        const inputMs = w.__inputMs;
        w.__keys.push(rec);
        requestAnimationFrame(() => {
          rec.frameStart = performance.now();
          rec.inFrame = w.__changes > changes;
          rec.handled = rec.inFrame ? w.__changed : rec.frameStart;
          rec.inputMs = w.__inputMs - inputMs;
          const ch = new MessageChannel();
          ch.port1.onmessage = () => (rec.end = performance.now());
          ch.port2.postMessage(null);
        });
      },
      true,
    );
  });
}

export async function typeKeys(page: Page, keys: number): Promise<KeyRecord[]> {
  let typed = '';
  while (typed.length < keys) typed += TYPED;
  // About 12 characters a second, a fast typist.
  await page.keyboard.type(typed.slice(0, keys), { delay: 80 });
  await page.waitForTimeout(300);
  return page.evaluate(() => (window as unknown as ProbeWindow).__keys);
}

/** Runs fn under the page's CPU profiler when --profile is given. */
async function profiled<T>(page: Page, name: string, fn: () => Promise<T>): Promise<T> {
  if (!PROFILE) return fn();
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Profiler.enable');
  await cdp.send('Profiler.setSamplingInterval', { interval: 200 });
  await cdp.send('Profiler.start');
  const result = await fn();
  const { profile } = await cdp.send('Profiler.stop');
  mkdirSync(PROFILE, { recursive: true });
  await atomicWriteFile(join(PROFILE, `${name}.cpuprofile`), JSON.stringify(profile));
  await cdp.detach();
  return result;
}

export function keyStats(recs: KeyRecord[]) {
  const done = recs.filter((r) => r.end > 0);
  const lat = done.map((r) => r.end - r.start);
  const p50 = quantile(lat, 0.5);
  const p95 = quantile(lat, 0.95);
  const work = done.map((r) => r.handled - r.start + (r.end - r.frameStart));
  return {
    keys: recs.length,
    keyToFrameP50Ms: round(p50),
    keyToFrameP95Ms: round(p95),
    keyToFrameMaxMs: round(Math.max(...lat)),
    p50Ratio: round(p50 / BUDGET_MS),
    p95Ratio: round(p95 / BUDGET_MS),
    inputP50Ms: round(quantile(done.map((r) => r.inputMs), 0.5)),
    inputP95Ms: round(quantile(done.map((r) => r.inputMs), 0.95)),
    renderP95Ms: round(quantile(done.map((r) => r.end - r.frameStart), 0.95)),
    // The work a key costs: handling it up to its edit, and rendering the frame after it (the
    // rest of keyToFrame is the wait for that frame: frames follow the display's 60 Hz clock).
    keyWorkP50Ms: round(quantile(work, 0.5)),
    keyWorkP95Ms: round(quantile(work, 0.95)),
    keyWorkP95Ratio: round(quantile(work, 0.95) / BUDGET_MS),
    frameWaitP50Ms: round(quantile(done.map((r) => r.frameStart - r.handled), 0.5)),
    inFrame: round(done.filter((r) => r.inFrame).length / Math.max(1, done.length)),
    whileScoring: round(recs.filter((r) => r.scoring).length / Math.max(1, recs.length)),
  };
}

/** Puts the caret at the end of the first paragraph (without a click, which opens the popover). */
export async function caretAtEndOfFirstParagraph(page: Page): Promise<void> {
  await page.evaluate(() => {
    (window.likelyEditorState!.view as unknown as { focus(): void }).focus();
    const p = document.querySelector('.ProseMirror > p')!;
    const walker = document.createTreeWalker(p, NodeFilter.SHOW_TEXT);
    let last: Text | null = null;
    for (let n = walker.nextNode(); n; n = walker.nextNode()) last = n as Text;
    window.getSelection()!.collapse(last!, last!.length);
  });
  await afterNextFrame(page);
  await afterNextFrame(page);
}

/**
 * Types into a bare contenteditable page (its own renderer process). `animating`: with a bar that
 * moves every frame, as the editor's progress and arriving scores do while the engine scores.
 */
async function plainKeys(s: Session, keys: number, animating = false) {
  const context = await s.browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  await page.addInitScript({ content: 'window.__name = (f) => f;' });
  await page.setContent('<div id="e" contenteditable="true" style="font: 18px serif; padding: 20px; min-height: 300px">Plain text. </div><div id="bar" style="height: 4px; background: teal; width: 0"></div>');
  await page.evaluate('window.__name = (f) => f'); // the init script does not run for setContent
  if (animating)
    await page.evaluate(() => {
      const bar = document.getElementById('bar')!;
      const step = (t: number) => {
        bar.style.width = `${(t / 10) % 100}%`;
        requestAnimationFrame(step);
      };
      requestAnimationFrame(step);
    });
  await page.focus('#e');
  await page.keyboard.press('End');
  await installKeyProbe(page);
  const recs = await typeKeys(page, keys);
  await context.close();
  return keyStats(recs);
}

async function frameBaseline(s: Session) {
  const { page, close } = await openEditor(s);
  const intervals = await page.evaluate(
    () =>
      new Promise<number[]>((resolve) => {
        const ts: number[] = [];
        const step = (t: number) => {
          ts.push(t);
          if (ts.length < 121) requestAnimationFrame(step);
          else resolve(ts.slice(1).map((x, i) => x - ts[i]!));
        };
        requestAnimationFrame(step);
      }),
  );
  await close();
  const k = await plainKeys(s, Math.min(KEYS, 50));
  const a = await plainKeys(s, Math.min(KEYS, 50), true);
  return {
    intervalMs: round(quantile(intervals, 0.5)),
    plainKeyToFrameP50Ms: k.keyToFrameP50Ms,
    plainKeyToFrameP95Ms: k.keyToFrameP95Ms,
    plainAnimatingKeyToFrameP50Ms: a.keyToFrameP50Ms,
    plainAnimatingKeyToFrameP95Ms: a.keyToFrameP95Ms,
    plainWhileScoringKeyToFrameP50Ms: NaN,
    plainWhileScoringKeyToFrameP95Ms: NaN,
    engineScoringDuringControl: false,
  };
}

/** Opens `text` with setPlainText; times the first frame, the first colored frame and full scoring. */
export async function openText(page: Page, text: string) {
  const r = await page.evaluate(
    (t) =>
      new Promise<{ setTextMs: number; firstFrameMs: number; firstColorsMs: number }>((resolve) => {
        const t0 = performance.now();
        window.likelyEditor!.setPlainText(t);
        const setTextMs = performance.now() - t0;
        let firstFrameMs = 0;
        const step = () => {
          const ch = new MessageChannel();
          ch.port1.onmessage = () => {
            if (!firstFrameMs) firstFrameMs = performance.now() - t0;
            if (document.querySelector('.ProseMirror .tok:not(.pending)')) resolve({ setTextMs, firstFrameMs, firstColorsMs: performance.now() - t0 });
            else requestAnimationFrame(step);
          };
          ch.port2.postMessage(null);
        };
        requestAnimationFrame(step);
      }),
    text,
  );
  const t = Date.now();
  await waitScored(page);
  return { ...r, allScoredMs: r.firstColorsMs + (Date.now() - t) };
}

export async function decorate(page: Page, runs: number) {
  return page.evaluate(async (n) => {
    const ed = window.likelyEditorState!;
    type Tr = { setMeta(k: string, v: unknown): Tr };
    const view = ed.view as unknown as { state: { tr: Tr }; dispatch(tr: Tr): void };
    const client = ed.engine as unknown as { call: (m: string, p: unknown) => Promise<unknown> };
    const call = client.call;
    // Hold back the engine's own scoring of the versions made here: only this transaction applies scores.
    client.call = (m, p) => (m === 'update' ? Promise.resolve(undefined) : call.call(client, m, p));
    const KEY = 'likely-scores$';
    const base = ed.scores()!.mirror.tokens;
    const out: { dispatchMs: number; frameMs: number; drawn: number }[] = [];
    const frame = () => new Promise<void>((r) => requestAnimationFrame(() => setTimeout(r, 0)));
    try {
      for (let run = 0; run < n; run++) {
        view.dispatch(view.state.tr.setMeta(KEY, { type: 'resend' }).setMeta('addToHistory', false));
        await frame();
        const version = ed.scores()!.version;
        // Other scores each run, so colors change on screen too.
        const tokens: TokenScore[] = base.map((t) => ({ ...t, logprob: t.logprob * (run % 2 ? 0.8 : 1) }));
        const update = { version, tokenCount: tokens.length, firstChanged: 0, from: 0, tokens, scored: tokens.length, done: true };
        const tr = view.state.tr.setMeta(KEY, { type: 'scores', update: [update] }).setMeta('addToHistory', false);
        const m = await new Promise<{ dispatchMs: number; frameMs: number }>((resolve) =>
          requestAnimationFrame(() => {
            const t0 = performance.now();
            view.dispatch(tr);
            const dispatchMs = performance.now() - t0;
            const ch = new MessageChannel();
            ch.port1.onmessage = () => resolve({ dispatchMs, frameMs: performance.now() - t0 });
            ch.port2.postMessage(null);
          }),
        );
        const s = ed.scores()!;
        if (s.mirror.version !== version || s.fresh !== tokens.length || !ed.done) throw new Error(`run ${run}: the scores were not applied (fresh ${s.fresh} of ${tokens.length})`);
        out.push({ ...m, drawn: document.querySelectorAll('.ProseMirror .tok').length });
        await frame();
      }
    } finally {
      client.call = call;
    }
    return out;
  }, runs);
}

export async function scroll(page: Page, px = SCROLL_PX) {
  return page.evaluate(async (pxPerFrame) => {
    const scroller = document.querySelector('.editor-scroll') as HTMLElement;
    scroller.scrollTop = 0;
    await new Promise((r) => setTimeout(r, 300));
    const frames: { t: number; work: number }[] = [];
    await new Promise<void>((resolve) => {
      const step = (t: number) => {
        const ch = new MessageChannel();
        const rec = { t, work: 0 };
        ch.port1.onmessage = () => (rec.work = performance.now() - t);
        ch.port2.postMessage(null);
        frames.push(rec);
        const before = scroller.scrollTop;
        scroller.scrollTop += pxPerFrame;
        if (scroller.scrollTop === before || frames.length > 2000) setTimeout(resolve, 50);
        else requestAnimationFrame(step);
      };
      requestAnimationFrame(step);
    });
    // Jumps: frames rendered before the token at the center of the view is colored.
    const colored = () => {
      const box = scroller.getBoundingClientRect();
      const caret = document.caretRangeFromPoint(box.left + box.width / 2, box.top + box.height / 2);
      const node = caret?.startContainer;
      const el = node?.nodeType === Node.TEXT_NODE ? node.parentElement : null;
      return !el || !!el.closest('.tok');
    };
    const afterFrame = () => new Promise<void>((r) => requestAnimationFrame(() => {
      const ch = new MessageChannel();
      ch.port1.onmessage = () => r();
      ch.port2.postMessage(null);
    }));
    const jumps: number[] = [];
    let uncoloredFrames = 0;
    for (let j = 0; j < 20; j++) {
      scroller.scrollTop = Math.floor((((j * 7919) % 20) / 20) * (scroller.scrollHeight - scroller.clientHeight));
      const t0 = performance.now();
      for (let f = 0; f < 60; f++) {
        await afterFrame();
        if (colored()) break;
        uncoloredFrames++;
      }
      jumps.push(performance.now() - t0);
      await afterFrame();
    }
    return { intervals: frames.slice(1).map((f, i) => f.t - frames[i]!.t), work: frames.map((f) => f.work), height: scroller.scrollHeight, jumps, uncoloredFrames };
  }, px);
}

async function main(): Promise<void> {
  const t0 = Date.now();
  const s = await startSession();
  try {
    log('frame baseline ...');
    const frame = await frameBaseline(s);
    const { page, errors, close } = await openEditor(s);
    const model = await page.evaluate(() => window.likelyEditorState!.model!.name);

    const doc5 = proseOfTokens(5000);
    log(`open ${doc5.tokens} tokens ...`);
    await openText(page, doc5.text);
    const tokens5 = await page.evaluate(() => window.likelyEditorState!.scores()!.mirror.tokens.length);
    log(`decorate ${tokens5} tokens x ${RUNS} ...`);
    await decorate(page, 3); // warm-up
    const runs = await profiled(page, 'decorate5k', () => decorate(page, RUNS));
    const dispatch = runs.map((r) => r.dispatchMs);
    const frameMs = runs.map((r) => r.frameMs);
    const decorate5k = {
      tokens: tokens5,
      runs: runs.length,
      drawnElements: quantile(
        runs.map((r) => r.drawn),
        0.5,
      ),
      dispatchMedianMs: round(quantile(dispatch, 0.5)),
      dispatchP95Ms: round(quantile(dispatch, 0.95)),
      frameMedianMs: round(quantile(frameMs, 0.5)),
      frameP95Ms: round(quantile(frameMs, 0.95)),
      medianRatio: round(quantile(frameMs, 0.5) / BUDGET_MS),
      p95Ratio: round(quantile(frameMs, 0.95) / BUDGET_MS),
    };
    log(`type ${KEYS} keys in ${tokens5} tokens ...`);
    await waitScored(page);
    await caretAtEndOfFirstParagraph(page);
    await installKeyProbe(page);
    const typing5k = { tokens: tokens5, ...keyStats(await profiled(page, 'typing5k', () => typeKeys(page, KEYS))) };
    await close();
    if (errors.length) throw new Error(`page errors: ${errors.join('\n')}`);

    const big = await openEditor(s);
    const doc20 = proseOfTokens(20000, 40);
    log(`open ${doc20.tokens} tokens ...`);
    const opened = await openText(big.page, doc20.text);
    const tokens20 = await big.page.evaluate(() => window.likelyEditorState!.scores()!.mirror.tokens.length);
    const open20k = {
      tokens: tokens20,
      setTextMs: round(opened.setTextMs),
      firstFrameMs: round(opened.firstFrameMs),
      firstColorsMs: round(opened.firstColorsMs),
      allScoredMs: Math.round(opened.allScoredMs),
      firstFrameRatio: round(opened.firstFrameMs / BUDGET_MS),
    };
    log('scroll ...');
    const sc = await profiled(big.page, 'scroll20k', () => scroll(big.page));
    const scroll20k = {
      frames: sc.intervals.length,
      pxPerFrame: SCROLL_PX,
      heightPx: sc.height,
      intervalP50Ms: round(quantile(sc.intervals, 0.5)),
      intervalP95Ms: round(quantile(sc.intervals, 0.95)),
      intervalMaxMs: round(Math.max(...sc.intervals)),
      workP50Ms: round(quantile(sc.work, 0.5)),
      workP95Ms: round(quantile(sc.work, 0.95)),
      workMaxMs: round(Math.max(...sc.work)),
      workP95Ratio: round(quantile(sc.work, 0.95) / BUDGET_MS),
      longFrames: sc.intervals.filter((x) => x > 1.5 * frame.intervalMs).length,
      jumps: sc.jumps.length,
      jumpColoredP95Ms: round(quantile(sc.jumps, 0.95)),
      jumpUncoloredFrames: sc.uncoloredFrames,
    };
    log(`type ${KEYS} keys in ${tokens20} tokens ...`);
    await big.page.evaluate(() => ((document.querySelector('.editor-scroll') as HTMLElement).scrollTop = 0));
    await caretAtEndOfFirstParagraph(big.page);
    await installKeyProbe(big.page);
    const typing20k = { tokens: tokens20, ...keyStats(await profiled(big.page, 'typing20k', () => typeKeys(big.page, KEYS))) };
    // Control: keys on a bare page (its own renderer process) while the engine scores 20,000 new
    // tokens (a text it has not seen: its cache makes re-scoring a known text after an edit quick).
    await big.page.evaluate((t) => window.likelyEditor!.setPlainText(t), proseOfTokens(20000, 120).text);
    await big.page.waitForTimeout(500);
    const plain = await plainKeys(s, Math.min(KEYS, 50));
    frame.plainWhileScoringKeyToFrameP50Ms = plain.keyToFrameP50Ms;
    frame.plainWhileScoringKeyToFrameP95Ms = plain.keyToFrameP95Ms;
    frame.engineScoringDuringControl = await big.page.evaluate(() => !window.likelyEditorState!.done);
    await big.close();
    if (big.errors.length) throw new Error(`page errors: ${big.errors.join('\n')}`);

    const found = findChromium();
    const chromium = 'path' in found ? execFileSync(found.path, ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim() : found.reason;
    const result = {
      conditions: { model, chromium, headless: true, cpus: cpus().length, loadavg1m: round(loadavg()[0]!), seconds: Math.round((Date.now() - t0) / 1000) },
      budgetMs: BUDGET_MS,
      frame,
      decorate5k,
      typing5k,
      open20k,
      scroll20k,
      typing20k,
    };
    if (json) console.log(JSON.stringify(result));
    else print(result);
  } finally {
    await s.stop();
  }
}

function print(r: Record<string, unknown>): void {
  for (const [k, v] of Object.entries(r)) {
    if (typeof v !== 'object' || v === null) console.log(`${k}: ${v}`);
    else console.log(`${k}: ${Object.entries(v).map(([a, b]) => `${a}=${b}`).join('  ')}`);
  }
}

runWhenEntry(import.meta.url, main);
