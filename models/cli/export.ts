/**
 * likely export FILE --html OUT [--mode logprob|rank|entropy] [--model DIR] [--device auto|gpu|cpu]
 *
 * Scores FILE exactly as `likely score` does (the raw file text, so token count and colors match
 * `score --json`), with the top 5 predictions per token, and writes the annotated HTML to OUT.
 * For Markdown files (.md, .markdown) the block structure comes from common/markdown-blocks.ts
 * over that same text: markers stay in the text and are styled with it. Prints OUT's path.
 * OUT is checked before the model loads and written with the app's own writer (node/files.ts: atomic,
 * temp file then rename; a device node or FIFO, or a link to one, is refused and left as it was; a
 * symbolic link is written through, its target replaced and the link kept), and it may not be FILE
 * itself, so a failed export never destroys anything.
 */
import { accessSync, constants, realpathSync, statSync } from 'node:fs';
import { basename, dirname, extname, resolve } from 'node:path';
import type { ColorMode } from '../../common/colors.ts';
import { renderAnnotatedHtml } from '../../common/export-html.ts';
import { markdownBlocks } from '../../common/markdown-blocks.ts';
import { atomicWriteFile, checkSaveTarget, DocumentError } from '../../node/files.ts';
import { CliError, parseArgs, readTextFile } from './args.ts';
import { loadEngine } from './engine.ts';
import { scoreProgress } from './progress.ts';

const MODES: ColorMode[] = ['logprob', 'rank', 'entropy'];
const MARKDOWN = new Set(['.md', '.markdown', '.mdown', '.mkd']);

const real = (path: string) => {
  try {
    return realpathSync(path);
  } catch {
    return resolve(path);
  }
};

async function checkWritable(out: string, input: string): Promise<string> {
  const path = resolve(out);
  if (real(path) === real(input)) throw new CliError(`--html ${out} is the input file; choose another output path`);
  let isFolder = false;
  try {
    isFolder = statSync(path).isDirectory();
  } catch {
    // a new file (or a path the folder check below explains)
  }
  if (isFolder) throw new CliError(`cannot write ${out}: it is a folder`);
  try {
    const dir = dirname(real(path));
    if (!statSync(dir).isDirectory()) throw Object.assign(new Error('not a folder'), { code: 'ENOTDIR' });
    accessSync(dir, constants.W_OK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'its folder does not exist' : code === 'ENOTDIR' ? 'part of its path is not a folder' : code === 'EACCES' || code === 'EPERM' ? 'permission denied' : (e as Error).message;
    throw new CliError(`cannot write ${out}: ${why}`);
  }
  try {
    await checkSaveTarget(path); // a device node, a FIFO or a socket, or a link to one
  } catch (e) {
    throw e instanceof DocumentError ? new CliError(e.message) : e;
  }
  return path;
}

export async function run(argv: string[]): Promise<void> {
  const args = parseArgs(argv, { values: ['html', 'mode', 'model', 'device'] });
  if (args.positional.length !== 1) throw new CliError(args.positional.length ? `expected one FILE, got ${args.positional.length}` : 'missing FILE');
  const file = args.positional[0]!;
  const mode = (args.values.mode ?? 'logprob') as ColorMode;
  if (!MODES.includes(mode)) throw new CliError(`--mode must be logprob, rank or entropy, got "${mode}"`);
  if (!args.values.html) throw new CliError('missing --html OUT');
  const out = await checkWritable(args.values.html, file);
  const text = await readTextFile(file);

  const engine = await loadEngine(args);
  let html: string;
  try {
    const scored = await engine.score(text, { topK: 5, onProgress: scoreProgress() });
    html = renderAnnotatedHtml({
      text,
      tokens: scored.tokens,
      predictions: scored.predictions,
      perplexity: scored.perplexity,
      model: scored.model,
      mode,
      title: basename(file),
      blocks: MARKDOWN.has(extname(file).toLowerCase()) ? markdownBlocks(text) : undefined,
    });
  } finally {
    await engine.dispose();
  }

  try {
    await atomicWriteFile(out, html);
  } catch (e) {
    throw e instanceof DocumentError ? new CliError(e.message, 1) : e;
  }
  process.stdout.write(out + '\n');
}
