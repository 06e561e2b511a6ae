/**
 * npm run bench [-- --json] [--model DIR] [--only p1,p2,p3,infill,attention,int8,review]   (int8 runs only when asked)
 *
 * Measures the engine against bare onnxruntime on a GPT-2-small-shaped model (random weights, the
 * same cost as the real one), all in one run, and prints ratios (the machines are noisy; ratios
 * measured side by side are what the targets are about).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Engine } from '../src/engine.ts';
import { loadEngine } from '../src/load-from-folder.ts';
import { openModelFolder } from '../src/model-folder.ts';
import { createSession, type Session, type TensorData } from '../src/ort.ts';
import { FIXTURES_DIR, RANDOM_MODELS_DIR } from '../src/paths.ts';
import { EOT, type Tokenizer } from '../src/tokenizer.ts';
import { brownProse } from './corpus.ts';
import { benchReview } from './review-bench.ts';
import { buildModelFolder, ensureRandomModel } from '../synthetic/random-models.ts';
import { CliError, scriptOptions } from '../cli/args.ts';
import { visibleLine } from '../../common/format.ts';

const BENCHES = ['p1', 'p2', 'p3', 'infill', 'int8'];
const options = scriptOptions('bench', { values: ['model', 'only'], flags: ['json'] }, (args) => {
  if (args.positional.length) throw new CliError(`unexpected argument ${args.positional[0]}`);
  const only = args.values.only?.split(',');
  const unknown = only?.find((b) => !BENCHES.includes(b));
  if (unknown !== undefined) throw new CliError(`--only takes ${BENCHES.join(', ')}, got "${unknown}"`);
  return { json: args.flags.has('json'), model: args.values.model, only };
});
const { json, only } = options;
const opt = (name: 'model') => options[name];
const log = (...a: unknown[]) => {
  if (!json) console.log(...a);
  else console.error(...a);
};

async function time<T>(fn: () => Promise<T>): Promise<[number, T]> {
  const t = performance.now();
  const v = await fn();
  return [(performance.now() - t) / 1000, v];
}

async function median(n: number, fn: () => Promise<number>): Promise<number> {
  const xs: number[] = [];
  for (let i = 0; i < n; i++) xs.push(await fn());
  xs.sort((a, b) => a - b);
  return xs[Math.floor(xs.length / 2)]!;
}

/** The plain model (logits output), fed directly: what a naive implementation pays. */
class BareModel {
  constructor(
    private readonly s: Session,
    private readonly layers: number,
    private readonly heads: number,
    private readonly headDim: number,
  ) {}

  async forward(ids: number[], past: TensorData[] | null): Promise<TensorData[]> {
    const P = past ? past[0]!.dims[2]! : 0;
    const T = ids.length;
    const feeds: Record<string, TensorData> = {
      input_ids: { type: 'int64', data: BigInt64Array.from(ids, BigInt), dims: [1, T] },
      attention_mask: { type: 'int64', data: new BigInt64Array(P + T).fill(1n), dims: [1, P + T] },
      position_ids: { type: 'int64', data: BigInt64Array.from({ length: T }, (_, i) => BigInt(P + i)), dims: [1, T] },
    };
    for (let l = 0; l < this.layers; l++)
      for (const [k, kv] of [['key', 0], ['value', 1]] as const)
        feeds[`past_key_values.${l}.${k}`] = past ? past[2 * l + kv]! : { type: 'float32', data: new Float32Array(0), dims: [1, this.heads, 0, this.headDim] };
    const names = ['logits', ...Array.from({ length: this.layers }, (_, l) => [`present.${l}.key`, `present.${l}.value`]).flat()];
    const out = await this.s.run(feeds, names);
    return names.slice(1).map((n) => out[n]!);
  }
}

function tokensOf(tok: Tokenizer, text: string, n: number): string {
  const enc = tok.encode(text);
  return text.slice(0, enc.ends[n - 1]);
}

async function main() {
  // The review row scores its draft with the embedded model, so it needs no random model of its own.
  const reviewResults = !only || only.includes('review') ? await benchReview(log) : {};
  if (only?.every((o) => o === 'review')) {
    if (json) process.stdout.write(JSON.stringify(reviewResults) + '\n');
    return;
  }
  const modelDir = opt('model') ?? ensureRandomModel('small', 'fp32', log);
  const folder = await openModelFolder(modelDir);
  const c = folder.config;
  const bareSession = await createSession(folder.onnxPath, { device: 'cpu' });
  const bare = new BareModel(bareSession, c.n_layer, c.n_head, c.n_embd / c.n_head);
  const engine = await loadEngine({ modelDir, device: 'cpu' });
  const reference = await loadEngine({ modelDir, device: 'cpu', caching: false });
  const tok = engine.model.tokenizer;
  const results: Record<string, number> = { ...reviewResults };
  let version = 0;
  const scoreVersion = async (text: string) => {
    engine.update(++version, text);
    await engine.idle();
  };
  log(`model: ${engine.info.name}, ${engine.info.device}`);

  if (!only || only.includes('p2')) {
    const text = tokensOf(tok, brownProse(20_000), 1024);
    const ids = [EOT, ...Array.from(tok.encode(text).ids).slice(0, 1023)];
    await bare.forward(ids.slice(0, 16), null); // warm-up
    const forward = await median(3, async () => (await time(() => bare.forward(ids, null)))[0]);
    const viaApi = await median(3, async () => (await time(() => reference.score(text)))[0]);
    results.p2_full_1024_seconds = viaApi;
    results.p2_forward_1024_seconds = forward;
    results.p2_engine_over_forward = viaApi / forward;
    results.tokens_per_second = 1024 / viaApi;
    log(`p2 full 1,024 tokens: engine ${viaApi.toFixed(3)} s, bare forward ${forward.toFixed(3)} s, ratio ${results.p2_engine_over_forward.toFixed(3)} (target ≤ 1.10)`);
  }

  if (!only || only.includes('p1') || only.includes('p3')) {
    const doc = tokensOf(tok, brownProse(20_000, 3), 1000).replace(/\s+$/, '');
    const [full] = await time(() => reference.score(doc));
    results.full_1000_seconds = full;
    if (!only || only.includes('p1')) {
      // Five different keystrokes (a repeated one would hit the window cache), each typed on the
      // scored document; each is paired with the bare step for the same new tokens and cache.
      const keystrokes: number[] = [];
      const steps: number[] = [];
      let newTokens = 0;
      for (const ch of ['s', 't', 'e', 'd', 'r']) {
        await scoreVersion(doc);
        const before = engine.current!;
        const [keystroke] = await time(() => scoreVersion(doc + ch));
        const after = engine.current!;
        const firstNew = before.scored === before.length ? commonPrefixLen(before.enc.ids, after.enc.ids) : 0;
        const ids = [EOT, ...Array.from(after.enc.ids)];
        const past = await bare.forward(ids.slice(0, firstNew), null);
        steps.push(await median(3, async () => (await time(() => bare.forward(ids.slice(firstNew, after.length), past)))[0]));
        keystrokes.push(keystroke);
        newTokens = Math.max(newTokens, after.length - firstNew);
      }
      const mid = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;
      const keystroke = mid(keystrokes);
      const step = mid(steps);
      results.p1_keystroke_seconds = keystroke;
      results.p1_step_seconds = step;
      results.p1_new_tokens = newTokens;
      results.p1_keystroke_over_step = keystroke / step;
      results.p1_keystroke_over_full = keystroke / full;
      log(`p1 keystroke at the end of 1,000 tokens: ${(keystroke * 1000).toFixed(1)} ms for ≤ ${newTokens} new token(s); bare step ${(step * 1000).toFixed(1)} ms; ratio ${results.p1_keystroke_over_step.toFixed(2)} (target ≤ 1.3); over full ${results.p1_keystroke_over_full.toFixed(4)} (target ≤ ${(1 / 30).toFixed(4)})`);
    }
    if (!only || only.includes('p3')) {
      await scoreVersion(doc);
      const mid = Math.floor(doc.length / 2);
      const at = doc.indexOf(' ', mid);
      const edited = doc.slice(0, at) + ' quietly' + doc.slice(at);
      const [midEdit] = await time(() => scoreVersion(edited));
      results.p3_mid_edit_seconds = midEdit;
      results.p3_mid_edit_over_full = midEdit / full;
      log(`p3 edit in the middle of 1,000 tokens: ${midEdit.toFixed(3)} s vs full ${full.toFixed(3)} s, ratio ${results.p3_mid_edit_over_full.toFixed(3)} (target ≤ 0.6)`);

      const big = tokensOf(tok, brownProse(80_000, 10), 10_000);
      const [full10k] = await time(() => reference.score(big));
      await scoreVersion(big);
      const firstPara = big.indexOf(' ', 200);
      const bigEdited = big.slice(0, firstPara) + ' indeed' + big.slice(firstPara);
      const [headEdit] = await time(() => scoreVersion(bigEdited));
      results.p3_full_10k_seconds = full10k;
      results.p3_head_edit_10k_seconds = headEdit;
      results.p3_head_edit_10k_over_full_10k = headEdit / full10k;
      log(`p3 edit in the first paragraph of 10,000 tokens: ${headEdit.toFixed(2)} s vs full ${full10k.toFixed(2)} s, ratio ${results.p3_head_edit_10k_over_full_10k.toFixed(3)} (target ≤ 0.3)`);
    }
  }

  if (!only || only.includes('infill')) {
    // Issue 5: suggestions for a one-word span in the middle of a 1,000-token live document.
    const doc = tokensOf(tok, brownProse(20_000, 5), 1000);
    const [full] = await time(() => reference.score(doc));
    await scoreVersion(doc);
    // Median over three words near the middle (the first call also pays one-time warm-up).
    let r!: Awaited<ReturnType<typeof engine.infill>>;
    let word = '';
    const times: number[] = [];
    for (const offset of [0, 40, 80]) {
      const at = doc.indexOf(' ', Math.floor(doc.length / 2) + offset) + 1;
      const wordEnd = doc.slice(at).search(/[^\p{L}]/u) + at;
      const [t, result] = await time(() => engine.infill({ version, start: at, end: wordEnd, k: 10 }));
      times.push(t);
      if (!word) [r, word] = [result, doc.slice(at, wordEnd)];
    }
    const infill = times.sort((a, b) => a - b)[1]!;
    results.infill_seconds = infill;
    results.infill_over_full = infill / full;
    log(`infill for a word mid 1,000 tokens (median of 3, e.g. ${JSON.stringify(word)}): ${infill.toFixed(3)} s (${r.suggestions.length} suggestions) vs full ${full.toFixed(3)} s, ratio ${results.infill_over_full.toFixed(3)} (target ≤ 0.5)`);
  }

  if (!only || only.includes('attention')) {
    // Issue 25: what the model looked at for the last token of a 1,000-token live document (one step of
    // its query on the cached prefix, on the attention graph) vs the keystroke that made it, alternated.
    const doc = tokensOf(tok, brownProse(20_000, 3), 1000).replace(/\s+$/, '');
    await scoreVersion(doc);
    const [open] = await time(() => engine.attention({ version, index: engine.current!.length - 1 }));
    results.attention_open_seconds = open;
    const keystrokes: number[] = [];
    const views: number[] = [];
    // Other keystrokes than p1's, whose windows the cache already holds.
    for (const ch of ['n', 'l', 'k', 'm', 'p']) {
      await scoreVersion(doc);
      const [keystroke] = await time(() => scoreVersion(doc + ch));
      const [view] = await time(() => engine.attention({ version, index: engine.current!.length - 1 }));
      keystrokes.push(keystroke);
      views.push(view);
    }
    const mid = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;
    results.attention_seconds = mid(views);
    results.attention_keystroke_seconds = mid(keystrokes);
    results.attention_over_keystroke = results.attention_seconds / results.attention_keystroke_seconds;
    log(`attention for the last of 1,000 tokens: ${(results.attention_seconds * 1000).toFixed(1)} ms vs the keystroke ${(results.attention_keystroke_seconds * 1000).toFixed(1)} ms, ratio ${results.attention_over_keystroke.toFixed(2)} (target ≤ 2); first request (writes and opens the attention graph) ${open.toFixed(2)} s`);
  }

  if (only?.includes('int8')) {
    // Issue 8: int8 vs fp32 on the small-shaped model, and the log-prob change on the golden texts.
    // The same random weights at int8 (models/synthetic: per-column int8 MatMulInteger, like quantize_dynamic).
    if (opt('model')) throw new Error('--only int8 compares the random GPT-2-small-shaped model with its int8 build; drop --model');
    const int8Dir = ensureRandomModel('small', 'int8', log);
    const int8 = await loadEngine({ modelDir: int8Dir, device: 'cpu', caching: false });
    const fp32 = reference;
    const text = tokensOf(tok, brownProse(20_000), 1024);
    const stepOf = async (e: Engine, past = 1000) => {
      const ids = Int32Array.from([EOT, ...Array.from(tok.encode(text).ids).slice(0, past - 1)]);
      const first = await e.model.step({ ids: [ids], targets: [ids], past: null });
      const one = Int32Array.from([464]);
      return median(5, async () => (await time(() => e.model.step({ ids: [one], targets: [one], past: first.present })))[0]);
    };
    const [fullFp32] = await time(() => fp32.score(text));
    const [fullInt8] = await time(() => int8.score(text));
    const stepFp32 = await stepOf(fp32);
    const stepInt8 = await stepOf(int8);
    results.int8_step_speedup = stepFp32 / stepInt8;
    const shortFp32 = await stepOf(fp32, 32);
    const shortInt8 = await stepOf(int8, 32);
    results.int8_step_short_past_speedup = shortFp32 / shortInt8;
    log(`int8 vs fp32 one-token step after 32 tokens: ${(shortInt8 * 1000).toFixed(1)} vs ${(shortFp32 * 1000).toFixed(1)} ms (${results.int8_step_short_past_speedup.toFixed(2)}x)`);
    results.int8_full_speedup = fullFp32 / fullInt8;
    log(`int8 vs fp32: one-token step after 1,000 tokens ${(stepInt8 * 1000).toFixed(1)} vs ${(stepFp32 * 1000).toFixed(1)} ms (${results.int8_step_speedup.toFixed(2)}x, target ≥ 1.8); full 1,024 ${fullInt8.toFixed(2)} vs ${fullFp32.toFixed(2)} s (${results.int8_full_speedup.toFixed(2)}x)`);
    await int8.dispose();
    const embeddedInt8 = join(RANDOM_MODELS_DIR, 'embedded-int8');
    if (!existsSync(join(embeddedInt8, 'onnx', 'model_quantized.onnx'))) buildModelFolder(embeddedInt8, 'model_quantized.onnx', { interface: 'with-past', weights: 'int8', externalData: false });
    const golden = JSON.parse(readFileSync(join(FIXTURES_DIR, 'golden.json'), 'utf8')) as { texts: Record<string, { text: string; logprobs: number[] }> };
    const q = await loadEngine({ modelDir: embeddedInt8, device: 'cpu' });
    let maxDiff = 0;
    let sumDiff = 0;
    let n = 0;
    for (const g of Object.values(golden.texts)) {
      const { tokens } = await q.score(g.text);
      tokens.forEach((t, i) => {
        const d = Math.abs(t.logprob - g.logprobs[i]!);
        maxDiff = Math.max(maxDiff, d);
        sumDiff += d;
        n++;
      });
    }
    await q.dispose();
    results.int8_golden_max_abs_logprob_diff = maxDiff;
    results.int8_golden_mean_abs_logprob_diff = sumDiff / n;
    log(`int8 embedded model vs the PyTorch fp32 reference on the golden texts: mean |Δ log-prob| ${(sumDiff / n).toFixed(4)}, max ${maxDiff.toFixed(4)} nats`);
  }

  results.peak_rss_mb = process.resourceUsage().maxRSS / 1024;
  log(`peak RSS ${results.peak_rss_mb.toFixed(0)} MB`);
  if (json) process.stdout.write(JSON.stringify(results) + '\n');
  await engine.dispose();
  await reference.dispose();
}

function commonPrefixLen(a: Int32Array, b: Int32Array): number {
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return i;
}

main().catch((e) => {
  console.error(`bench: ${visibleLine((e as Error).message.split('\n')[0]!)}`);
  process.exit(1);
});
