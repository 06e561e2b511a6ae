/**
 * npm run eval:precision [-- --write]
 *
 * What each precision costs in accuracy, measured on our fixtures: the embedded model's weights
 * written as fp32, fp16 (float32 I/O) and int8 (the hub's interfaces, models/synthetic), each
 * scoring the golden texts (models/fixtures/golden.json) and 4,000 characters of held-out Brown,
 * against fp32: the mean and largest |Δ log-prob| per token, and how often the token's rank among
 * the top 10 (GLTR's first bucket, a color of the rank mode) changes. `--write` stores the figures
 * in common/precision-costs.json, which the Models panel shows beside each precision's size.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CliError, scriptOptions } from '../cli/args.ts';
import { loadEngine } from '../src/load-from-folder.ts';
import { FIXTURES_DIR } from '../src/paths.ts';
import { buildModelFolder } from '../synthetic/random-models.ts';

const options = scriptOptions('eval:precision', { flags: ['write'] }, (args) => {
  if (args.positional.length) throw new CliError(`unexpected argument ${args.positional[0]}`);
  return { write: args.flags.has('write') };
});

const golden = JSON.parse(readFileSync(join(FIXTURES_DIR, 'golden.json'), 'utf8')) as { texts: Record<string, { text: string }> };
const brown = readFileSync(join(import.meta.dirname, 'heldout', 'brown.txt'), 'utf8').slice(0, 4000);
const texts = [...Object.values(golden.texts).map((t) => t.text), brown];

async function scores(dir: string) {
  const engine = await loadEngine({ modelDir: dir, device: 'cpu' });
  const out = [];
  for (const t of texts) out.push((await engine.score(t)).tokens);
  await engine.dispose();
  return out;
}

const work = mkdtempSync(join(tmpdir(), 'likely-precision-'));
try {
  const dirs = Object.fromEntries((['fp32', 'fp16', 'int8'] as const).map((w) => [w, buildModelFolder(join(work, w), 'model.onnx', { interface: 'with-past', weights: w, externalData: false })]));
  const base = await scores(dirs.fp32!);
  const result: Record<string, { meanAbsNats: number; maxAbsNats: number; top10Changed: number; tokens: number }> = {};
  for (const p of ['fp16', 'int8'] as const) {
    const other = await scores(dirs[p]!);
    let sum = 0;
    let max = 0;
    let n = 0;
    let changed = 0;
    base.forEach((tokens, i) =>
      tokens.forEach((t, j) => {
        const d = Math.abs(t.logprob - other[i]![j]!.logprob);
        sum += d;
        max = Math.max(max, d);
        n++;
        if (t.rank <= 10 !== other[i]![j]!.rank <= 10) changed++;
      }),
    );
    result[p] = { meanAbsNats: sum / n, maxAbsNats: max, top10Changed: changed / n, tokens: n };
  }
  const report = { measured: new Date().toISOString().slice(0, 10), model: 'the embedded model, written as fp16 and int8 (models/synthetic)', texts: 'models/fixtures/golden.json and 4,000 characters of held-out Brown', fp16: result.fp16, int8: result.int8 };
  console.log('| precision | mean |Δ ln p| | largest | tokens whose top-10 bucket changes |\n| --- | --- | --- | --- |');
  for (const p of ['fp16', 'int8'] as const) console.log(`| ${p} | ${result[p]!.meanAbsNats.toFixed(4)} | ${result[p]!.maxAbsNats.toFixed(3)} | ${(100 * result[p]!.top10Changed).toFixed(2)}% of ${result[p]!.tokens} |`);
  if (options.write) writeFileSync(join(import.meta.dirname, '..', '..', 'common', 'precision-costs.json'), JSON.stringify(report, null, 2) + '\n');
} finally {
  rmSync(work, { recursive: true, force: true });
}
