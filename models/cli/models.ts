/**
 * likely models list [--json]
 * likely models download ID            progress on stderr, the installed folder on stdout; Ctrl-C pauses
 * likely models import DIR [--id ID] [--copy]
 * likely models remove ID
 * likely models path ID                the folder to pass as --model DIR
 * likely models inspect DIR [--json]   each ONNX file's interface, whether Likely can run it and show its attention
 * The models folder is LIKELY_MODELS_DIR or the platform default; the hub is HF_ENDPOINT.
 */
import type { DownloadProgress, ModelListEntry } from '../../common/models-api.ts';
import { visibleLine } from '../../common/format.ts';
import { formatBytes, formatDuration } from '../../common/models-api.ts';
import { ModelManagerError } from '../manager/errors.ts';
import { ModelManager } from '../manager/manager.ts';
import { inspectModelFolder, type FolderReport } from '../manager/validate.ts';
import { DTYPE_NAMES } from '../src/onnx-graph.ts';
import { resolve as resolvePath } from 'node:path';
import { CliError, parseArgs } from './args.ts';

const USAGE = 'usage: likely models list [--json] | download ID | import DIR [--id ID] [--copy] | remove ID | path ID | inspect DIR [--json]';

const dtype = (t: number) => DTYPE_NAMES[t] ?? `type ${t}`;
const shape = (dims: (number | string | null)[]) => `[${dims.map((d) => d ?? '?').join(', ')}]`;

/** A folder's interface as text for a bug report: config, tokenizer, each ONNX file's inputs and outputs, and a verdict. */
export function formatReport(r: FolderReport): string {
  const out = [`${r.dir}`];
  const c = r.config;
  out.push(c ? `config.json: GPT-2, ${c.layers} layers, ${c.heads} heads, width ${c.width}, context ${c.contextLength}, vocabulary ${c.vocabSize}${c.name ? `, "${c.name}"` : ''}` : 'config.json: not usable');
  for (const p of r.problems) out.push(`problem: ${p}`);
  for (const f of r.files) {
    const g = f.graph;
    out.push('', `${f.path} (${f.precision}, ${formatBytes(f.bytes)})`);
    if (g) {
      const opsets = Object.entries(g.opsets).map(([d, v]) => (d ? `${d} ${v}` : `opset ${v}`)).join(', ');
      out.push(`  ${opsets}; external data: ${g.externalData.length ? g.externalData.join(', ') : 'none'}`);
      const names = new Set(g.inputs.map((i) => i.name));
      const kv = g.inputs.find((i) => i.name === 'past_key_values.0.key');
      out.push(
        `  ${names.has('use_cache_branch') ? 'merged decoder (If on use_cache_branch)' : 'decoder'}, ` +
          `${names.has('position_ids') ? 'position_ids input' : 'no position_ids (positions numbered from the cache length)'}` +
          `${kv ? `, cache ${dtype(kv.elemType)}` : ''}`,
      );
      const width = Math.max(...[...g.inputs, ...g.outputs].map((v) => v.name.length));
      const rows = (label: string, list: typeof g.inputs) => {
        out.push(`  ${label}:`);
        for (const v of list) out.push(`    ${v.name.padEnd(width)}  ${dtype(v.elemType).padEnd(7)}  ${shape(v.dims)}`);
      };
      rows('inputs', g.inputs);
      rows('outputs', g.outputs);
    }
    const blockers = [...r.problems, ...f.problems];
    out.push(blockers.length ? `  Likely cannot run it: ${blockers.join('; ')}` : '  Likely can run it.');
    if (f.attentionView) out.push(`  attention view: ${f.attentionView.available ? 'available' : `unavailable (${f.attentionView.reason})`}`);
  }
  return out.map(visibleLine).join('\n');
}

function status(e: ModelListEntry): string {
  if (e.problem) return `broken: ${e.problem}`;
  if (e.source === 'embedded') return 'built in';
  if (e.source === 'imported') return e.installed ? (e.path ? `imported (${e.path})` : 'imported') : `missing: ${e.path}`;
  if (e.installed) return 'installed';
  if (e.partialBytes) return `paused at ${formatBytes(e.partialBytes)}`;
  return 'not downloaded';
}

function table(entries: ModelListEntry[], modelsDir: string): string {
  // Ids and paths come from folder names and manifests: shown by the app's rule for text (common/format.ts).
  const rows = entries.map((e) => [visibleLine(e.id), e.size ?? '-', e.precision, e.downloadBytes ? formatBytes(e.downloadBytes) : '-', formatBytes(e.memoryBytes), visibleLine(status(e))]);
  const head = ['ID', 'SIZE', 'PREC', 'DOWNLOAD', 'MEMORY', 'STATUS'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ');
  const out = [line(head)];
  entries.forEach((e, i) => {
    out.push(line(rows[i]!));
    if (e.memoryWarning && !e.installed) out.push(`  warning: ${e.memoryWarning}`);
  });
  out.push(`models folder: ${visibleLine(modelsDir)}`);
  return out.join('\n');
}

/** One line of download progress, e.g. "onnx/model.onnx (4/4)  210 MB / 501 MB  42%  12 MB/s  0:24 left". */
export function progressLine(p: DownloadProgress): string {
  if (p.phase === 'connecting') return `${p.id}: connecting to the hub…`;
  if (p.phase === 'verifying') return `${p.id}: verifying…`;
  if (p.phase === 'installing') return `${p.id}: installing…`;
  if (p.phase === 'done') return `${p.id}: done, ${formatBytes(p.totalBytes)}`;
  const pct = p.totalBytes > 0 ? Math.floor((100 * p.bytes) / p.totalBytes) : 0;
  return `${p.file} (${p.fileIndex + 1}/${p.fileCount})  ${formatBytes(p.bytes)} / ${formatBytes(p.totalBytes)}  ${pct}%  ${formatBytes(p.bytesPerSecond)}/s  ${formatDuration(p.etaSeconds)} left`;
}

async function download(manager: ModelManager, id: string): Promise<void> {
  const entry = manager.list().find((e) => e.id === id);
  if (entry?.memoryWarning && !entry.installed) process.stderr.write(`warning: ${id} ${entry.memoryWarning}\n`);
  const tty = process.stderr.isTTY === true;
  const controller = new AbortController();
  const onSigint = () => controller.abort();
  process.once('SIGINT', onSigint);
  let lastPrinted = 0;
  let lastPhase = '';
  let lastFile = '';
  const print = (p: DownloadProgress) => {
    const now = Date.now();
    const changed = p.phase !== lastPhase || p.file !== lastFile;
    if (tty) {
      if (!changed && now - lastPrinted < 250 && p.phase === 'downloading') return;
      process.stderr.write(`\r\x1b[K${progressLine(p)}`);
      if (p.phase === 'done') process.stderr.write('\n');
    } else if (changed || now - lastPrinted >= 5000) {
      process.stderr.write(progressLine(p) + '\n');
    } else return;
    lastPrinted = now;
    lastPhase = p.phase;
    lastFile = p.file;
  };
  try {
    const path = await manager.download(id, {
      signal: controller.signal,
      onProgress: print,
      onNotice: (n) => process.stderr.write(`${tty ? '\r\x1b[K' : ''}note: ${n}\n`),
    });
    process.stdout.write(path + '\n');
  } catch (e) {
    if (tty) process.stderr.write('\n');
    throw e;
  } finally {
    process.off('SIGINT', onSigint);
  }
}

export async function run(argv: string[]): Promise<void> {
  const [sub, ...rest] = argv;
  if (!sub) throw new CliError(USAGE);
  const manager = new ModelManager();
  try {
    switch (sub) {
      case 'list': {
        const args = parseArgs(rest, { flags: ['json'] });
        if (args.positional.length) throw new CliError(`models list takes no arguments, got "${args.positional[0]}"`);
        const entries = manager.list();
        process.stdout.write((args.flags.has('json') ? JSON.stringify({ modelsDir: manager.modelsDir, models: entries }) : table(entries, manager.modelsDir)) + '\n');
        return;
      }
      case 'download': {
        const args = parseArgs(rest, {});
        if (args.positional.length !== 1) throw new CliError('usage: likely models download ID (likely models list shows the ids)');
        await download(manager, args.positional[0]!);
        return;
      }
      case 'import': {
        const args = parseArgs(rest, { values: ['id'], flags: ['copy'] });
        if (args.positional.length !== 1) throw new CliError('usage: likely models import DIR [--id ID] [--copy]');
        const entry = await manager.import(args.positional[0]!, { ...(args.values.id ? { id: args.values.id } : {}), copy: args.flags.has('copy') });
        process.stderr.write(visibleLine(`imported ${entry.name} as ${entry.id} (${entry.precision}, ${entry.path})`) + '\n');
        process.stdout.write(entry.id + '\n');
        return;
      }
      case 'remove': {
        const args = parseArgs(rest, {});
        if (args.positional.length !== 1) throw new CliError('usage: likely models remove ID');
        await manager.remove(args.positional[0]!);
        process.stderr.write(`removed ${args.positional[0]}\n`);
        return;
      }
      case 'inspect': {
        const args = parseArgs(rest, { flags: ['json'] });
        if (args.positional.length !== 1) throw new CliError('usage: likely models inspect DIR [--json]');
        const report = await inspectModelFolder(resolvePath(args.positional[0]!), { attentionView: true });
        process.stdout.write((args.flags.has('json') ? JSON.stringify(report) : formatReport(report)) + '\n');
        return;
      }
      case 'path': {
        const args = parseArgs(rest, {});
        if (args.positional.length !== 1) throw new CliError('usage: likely models path ID');
        process.stdout.write(manager.resolve(args.positional[0]!) + '\n');
        return;
      }
      default:
        throw new CliError(`unknown models command "${sub}"; ${USAGE}`);
    }
  } catch (e) {
    if (e instanceof ModelManagerError) throw new CliError(e.message, e.code === 'aborted' ? 130 : 1);
    throw e;
  }
}
