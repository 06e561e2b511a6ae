// End to end: `likely export` (the real CLI and the embedded model) writes an HTML file; Chromium
// opens it from file:// with the network blocked and recorded, and the DOM is checked against
// `likely score --json` for the same file: token count, colors (computed styles vs colorScale),
// numbers on hover and focus, histogram counts, structure, and hostile text staying text.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import type { Browser, BrowserContext, Page } from 'playwright';
import type { TokenScore } from '../common/api.ts';
import { colorScale, type ColorMode } from '../common/colors.ts';
import { tokenDetails } from '../common/export-html.ts';
import { formatProbability } from '../common/format.ts';
import { logprobHistogram, rankBucketCounts } from '../common/stats.ts';
import { launchChromium, NO_CHROMIUM, ROOT } from './web-harness.ts';

interface ScoreJson {
  model: string;
  device: string;
  perplexity: number;
  tokens: TokenScore[];
}

function likely(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync('npm', ['run', '--silent', 'likely', '--', ...args], { cwd: ROOT, encoding: 'utf8', maxBuffer: 1 << 26, env: { ...process.env, LIKELY_DEBUG: '' } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function score(file: string): ScoreJson {
  const r = likely(['score', file, '--json']);
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as ScoreJson;
}

function exportHtml(file: string, out: string, mode?: ColorMode): void {
  const r = likely(['export', file, '--html', out, ...(mode ? ['--mode', mode] : [])]);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, resolve(out) + '\n');
}

// A hostile draft: markup, entities, control characters, bidi overrides and isolates, CRLF,
// emoji (a ZWJ family), CJK (characters GPT-2 splits into several byte tokens).
const HOSTILE =
  'Notes on <script>window.__ran = 1; alert(1)</script> and </span><img src=x onerror="window.__ran = 2"> tags.\r\n' +
  'Entities &amp; &lt;b&gt; stay, "quotes" and \'apostrophes\' too; x" onmouseover="window.__ran=3.\r\n' +
  '\r\n' +
  'Controls: bell\u0007 escape\u001b del\u007f next-line\u0085. Bidi: abc\u202Edcba\u202C and \u2067isolated\u2069 end.\r\n' +
  'Emoji 👩‍👩‍👧 and 😀, CJK 日本語の文章.\r\n';

const MARKDOWN = '# Export *heading*\n\nA paragraph with **strong words** and `code`.\n\n- first item\n- second item\n\nLast line.\n';

let dir: string;
let browser: Browser;
const files: Record<string, { src: string; html: string; score: ScoreJson }> = {};

before(async () => {
  if (NO_CHROMIUM) return;
  dir = mkdtempSync(join(tmpdir(), 'likely-export-'));
  for (const [name, text] of [
    ['hostile.txt', HOSTILE],
    ['draft.md', MARKDOWN],
  ] as const) {
    const src = join(dir, name);
    writeFileSync(src, text);
    const html = join(dir, name + '.html');
    exportHtml(src, html);
    files[name] = { src, html, score: score(src) };
  }
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

interface Opened {
  page: Page;
  context: BrowserContext;
  /** Every request the page attempted other than the file itself. */
  requests: string[];
  errors: string[];
  dialogs: string[];
}

async function open(file: string, opts: { colorScheme?: 'light' | 'dark'; javaScriptEnabled?: boolean } = {}): Promise<Opened> {
  const context = await browser.newContext({ offline: true, colorScheme: opts.colorScheme ?? 'light', javaScriptEnabled: opts.javaScriptEnabled ?? true, viewport: { width: 1000, height: 800 } });
  const url = pathToFileURL(file).href;
  const requests: string[] = [];
  const errors: string[] = [];
  const dialogs: string[] = [];
  await context.route('**/*', (route) => {
    if (route.request().url() === url) return route.continue();
    requests.push(route.request().url());
    return route.abort();
  });
  const page = await context.newPage();
  page.on('request', (r) => {
    if (r.url() !== url) requests.push(r.url());
  });
  page.on('pageerror', (e) => errors.push(e.message));
  // A CSP violation (something tried to load or run) shows up here.
  page.on('console', (m) => errors.push(`${m.type()}: ${m.text()}`));
  page.on('dialog', (d) => {
    dialogs.push(d.message());
    void d.dismiss();
  });
  await page.goto(url, { waitUntil: 'load' });
  return { page, context, requests, errors, dialogs };
}

/** The colors as the browser computes them, for comparison with getComputedStyle. */
async function computed(page: Page, colors: string[]): Promise<string[]> {
  return page.evaluate((cs) => {
    const probe = document.createElement('div');
    document.body.append(probe);
    const out = cs.map((c) => {
      probe.style.backgroundColor = '';
      probe.style.backgroundColor = c;
      return getComputedStyle(probe).backgroundColor;
    });
    probe.remove();
    return out;
  }, colors);
}

const tokenBackgrounds = (page: Page) => page.$$eval('main [data-i]', (els) => els.map((e) => getComputedStyle(e).backgroundColor));
const afterContent = (page: Page, index: number) =>
  page.$$eval('main [data-i]', (els, i) => {
    const s = getComputedStyle(els[i]!, '::after');
    return { content: s.content, position: s.position, bottom: s.bottom, display: s.display };
  }, index);
/** CSS `content` value of a string: "\"…\"" with quotes and backslashes escaped. */
const cssString = (s: string) => JSON.stringify(s).replace(/\\n/g, '\\a ');

test('the exported file makes no network request, runs nothing, and shows hostile text as text', { skip: NO_CHROMIUM }, async () => {
  const f = files['hostile.txt']!;
  const o = await open(f.html);
  try {
    const dom = await o.page.evaluate(() => ({
      scripts: document.scripts.length,
      imgs: document.images.length,
      ran: (window as unknown as { __ran?: number }).__ran ?? null,
      onAttrs: [...document.querySelectorAll('*')].flatMap((e) => [...e.attributes].filter((a) => a.name.startsWith('on')).map((a) => a.name)),
      elements: [...new Set([...document.querySelectorAll('main *')].map((e) => e.tagName.toLowerCase()))].sort(),
      text: document.querySelector('main')!.textContent!,
    }));
    assert.deepEqual(o.requests, []);
    assert.deepEqual(o.errors, []);
    assert.deepEqual(o.dialogs, []);
    assert.equal(dom.scripts, 0);
    assert.equal(dom.imgs, 0);
    assert.equal(dom.ran, null);
    assert.deepEqual(dom.onAttrs, []);
    assert.deepEqual(dom.elements, ['p', 'span']);
    // The markup is there, character for character, as text.
    assert.ok(dom.text.includes('<script>window.__ran = 1; alert(1)</script>'));
    assert.ok(dom.text.includes('</span><img src=x onerror="window.__ran = 2">'));
    assert.ok(dom.text.includes('&amp; &lt;b&gt;'));
    assert.ok(dom.text.includes('x" onmouseover="window.__ran=3.'));
    assert.ok(dom.text.includes('Emoji 👩‍👩‍👧 and 😀, CJK 日本語の文章.'));
    // Controls and bidi characters are visible code points, never live in the page.
    // eslint-disable-next-line no-control-regex
    assert.doesNotMatch(dom.text, /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/);
    for (const cp of ['0007', '001B', '007F', '0085', '202E', '202C', '2067', '2069']) assert.ok(dom.text.includes(`U+${cp}`), cp);
    assert.ok(dom.text.includes('abcU+202EdcbaU+202C'));
    // Two paragraphs (blank line), the CRLF inside the first kept as a line break without a visible CR.
    const paragraphs = await o.page.$$eval('main > p', (ps) => ps.map((p) => p.textContent));
    assert.equal(paragraphs.length, 2);
    assert.match(paragraphs[0]!, /tags\.\nEntities/);
  } finally {
    await o.context.close();
  }
});

test('token count and colors equal `likely score --json` with colorScale, in each mode, light and dark', { skip: NO_CHROMIUM }, async () => {
  const f = files['hostile.txt']!;
  const tokens = f.score.tokens;
  const source = readFileSync(f.src, 'utf8');
  assert.ok(tokens.some((t) => t.text === ''), 'the draft has tokens that are only part of a character');
  for (const mode of ['logprob', 'rank', 'entropy'] as ColorMode[]) {
    const html = mode === 'logprob' ? f.html : join(dir, `hostile-${mode}.html`);
    if (mode !== 'logprob') exportHtml(f.src, html, mode);
    for (const scheme of ['light', 'dark'] as const) {
      const o = await open(html, { colorScheme: scheme });
      try {
        const got = await tokenBackgrounds(o.page);
        assert.equal(got.length, tokens.length, `${mode}: one element per token`);
        const want = await computed(o.page, tokens.map(colorScale(mode, tokens, scheme)));
        assert.deepEqual(got, want, `${mode} ${scheme}`);
        // Each element holds its token's text (controls as code points, CR before LF dropped); tokens
        // that are only part of a character are empty; newline tokens between paragraphs are ¶ markers.
        const texts = await o.page.$$eval('main [data-i]', (els) => els.map((e) => e.textContent));
        tokens.forEach((t, k) => {
          const crlf = t.text.endsWith('\r') && source[t.end] === '\n' ? t.text.slice(0, -1) : t.text;
          // eslint-disable-next-line no-control-regex
          const visible = crlf.replace(/\r\n/g, '\n').replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g, (c) => 'U+' + c.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0'));
          if (/^\s*\n\s*$/.test(t.text) && texts[k] === '') return;
          assert.equal(texts[k], visible, `token ${k} ${JSON.stringify(t.text)}`);
        });
        assert.deepEqual(o.requests, []);
      } finally {
        await o.context.close();
      }
    }
  }
});

test('header: model, device, perplexity, token count as score reports them', { skip: NO_CHROMIUM }, async () => {
  const f = files['hostile.txt']!;
  const o = await open(f.html);
  try {
    const header = await o.page.evaluate(() => Object.fromEntries(['model', 'device', 'perplexity', 'tokens'].map((id) => [id, document.getElementById(id)!.textContent])));
    const ppl = f.score.perplexity;
    assert.deepEqual(header, {
      model: f.score.model,
      device: f.score.device,
      perplexity: ppl >= 100 ? Math.round(ppl).toLocaleString('en-US') : ppl.toFixed(2),
      tokens: f.score.tokens.length.toLocaleString('en-US'),
    });
  } finally {
    await o.context.close();
  }
});

test('hover and keyboard focus show probability, rank, entropy and the top 5 predictions (with JS off)', { skip: NO_CHROMIUM }, async () => {
  const f = files['hostile.txt']!;
  const tokens = f.score.tokens;
  const text = readFileSync(f.src, 'utf8');
  const o = await open(f.html, { javaScriptEnabled: false });
  try {
    const i = tokens.findIndex((t) => t.text === ' tags');
    assert.ok(i > 0);
    assert.equal((await afterContent(o.page, i)).content, 'none');
    await o.page.hover(`main [data-i] >> nth=${i}`);
    const shown = await afterContent(o.page, i);
    const firstLine = tokenDetails(text.slice(tokens[i]!.start, tokens[i]!.end), tokens[i]!);
    assert.ok(shown.content.startsWith(cssString(firstLine).slice(0, -1) + '\\a top 5: '), shown.content);
    assert.match(shown.content, new RegExp(`p ${formatProbability(tokens[i]!.logprob).replace('.', '\\.')} · rank ${tokens[i]!.rank.toLocaleString('en-US')} · entropy ${tokens[i]!.entropy.toFixed(2)} nats`));
    assert.equal((shown.content.split('\\a ')[1]!.match(/%/g) ?? []).length, 5, 'five predictions with their probabilities');
    assert.equal(shown.position, 'fixed');
    assert.equal(shown.bottom, '0px');
    assert.notEqual(shown.display, 'none');

    // Keyboard: the first Tab lands on the first token, the next on the second; the panel follows focus.
    await o.page.mouse.move(0, 0);
    await o.page.keyboard.press('Tab');
    const focused = await o.page.evaluate(() => {
      const all = [...document.querySelectorAll('main [data-i]')];
      return all.indexOf(document.activeElement!);
    });
    assert.equal(focused, 0);
    const first = await afterContent(o.page, 0);
    assert.ok(first.content.startsWith(cssString(tokenDetails(tokens[0]!.text, tokens[0]!)).slice(0, -1)), first.content);
    await o.page.keyboard.press('Tab');
    assert.equal((await afterContent(o.page, 0)).content, 'none');
    assert.match((await afterContent(o.page, 1)).content, new RegExp(`rank ${tokens[1]!.rank.toLocaleString('en-US')} `));
    // A token that is only part of a character says so.
    const part = tokens.findIndex((t) => t.text === '');
    await o.page.focus(`main [data-i] >> nth=${part}`);
    assert.match((await afterContent(o.page, part)).content, /^"\(part of a character\) p /);

    // Printing keeps the colors and hides the panel.
    await o.page.emulateMedia({ media: 'print' });
    assert.equal((await afterContent(o.page, part)).display, 'none');
    const printed = await tokenBackgrounds(o.page);
    assert.deepEqual(printed, await computed(o.page, tokens.map(colorScale('logprob', tokens, 'light'))));
    assert.deepEqual(o.requests, []);
  } finally {
    await o.context.close();
  }
});

test('the histograms show the counts of logprobHistogram and rankBucketCounts', { skip: NO_CHROMIUM }, async () => {
  const f = files['hostile.txt']!;
  const tokens = f.score.tokens;
  const o = await open(f.html);
  try {
    const bars = (id: string) =>
      o.page.$$eval(`#${id} rect.bar`, (rs) => rs.map((r) => ({ count: Number(r.getAttribute('data-count')), height: (r as SVGRectElement).getBBox().height, label: r.querySelector('title')!.textContent! })));
    const lp = await bars('hist-logprob');
    const rk = await bars('hist-rank');
    assert.deepEqual(lp.map((b) => b.count), logprobHistogram(tokens).map((b) => b.count));
    assert.deepEqual(rk.map((b) => b.count), rankBucketCounts(tokens).map((b) => b.count));
    assert.equal(lp.reduce((s, b) => s + b.count, 0), tokens.length);
    for (const set of [lp, rk]) {
      const max = Math.max(...set.map((b) => b.count));
      for (const b of set) {
        assert.ok(Math.abs(b.height - (b.count / max) * 110) < 0.06, `height ${b.height} for ${b.count} of ${max}`);
        assert.match(b.label, new RegExp(`: ${b.count} tokens`));
      }
    }
    // The count printed above each bar.
    const printed = await o.page.$$eval('#hist-rank text.bc', (ts) => ts.map((t) => Number(t.textContent)));
    assert.deepEqual(printed, rankBucketCounts(tokens).map((b) => b.count));
  } finally {
    await o.context.close();
  }
});

test('a Markdown draft keeps its headings, lists and emphasis, with the same tokens as score', { skip: NO_CHROMIUM }, async () => {
  const f = files['draft.md']!;
  const o = await open(f.html);
  try {
    const dom = await o.page.evaluate(() => ({
      count: document.querySelectorAll('main [data-i]').length,
      h1: document.querySelector('main h1')?.textContent,
      em: [...document.querySelectorAll('main h1 em')].map((e) => e.textContent).join(''),
      strong: [...document.querySelectorAll('main strong')].map((e) => e.textContent).join(''),
      code: [...document.querySelectorAll('main code')].map((e) => e.textContent).join(''),
      items: [...document.querySelectorAll('main ul > li')].map((e) => e.textContent),
      paragraphs: [...document.querySelectorAll('main > p')].map((e) => e.textContent),
      h1Size: parseFloat(getComputedStyle(document.querySelector('main h1')!).fontSize),
      pSize: parseFloat(getComputedStyle(document.querySelector('main p')!).fontSize),
      strongWeight: getComputedStyle(document.querySelector('main strong')!).fontWeight,
    }));
    assert.equal(dom.count, f.score.tokens.length);
    assert.equal(dom.h1, '# Export *heading*');
    assert.equal(dom.em, '*heading*');
    assert.equal(dom.strong, '**strong words**');
    assert.equal(dom.code, '`code`');
    assert.deepEqual(dom.items, ['- first item', '- second item']);
    assert.deepEqual(dom.paragraphs, ['A paragraph with **strong words** and `code`.', 'Last line.']);
    assert.ok(dom.h1Size > dom.pSize);
    assert.ok(Number(dom.strongWeight) >= 700);
    assert.deepEqual(o.requests, []);
  } finally {
    await o.context.close();
  }
});
