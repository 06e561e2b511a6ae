/**
 * For tests: model folders with one file swapped for something that must never be read as it is:
 * a FIFO (reading one blocks until a writer comes), a symbolic link to /dev/zero (reads zeros
 * forever) or a sparse file of 9 GB. The rest is the embedded model (or a folder with external
 * data built from its weights), so only the swapped file can be what is refused.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, rmSync, symlinkSync, truncateSync } from 'node:fs';
import { basename, join } from 'node:path';
import { EMBEDDED_MODEL_DIR } from '../src/paths.ts';
import { buildModelFolder } from '../synthetic/random-models.ts';

export type Hostile = 'fifo' | 'zero' | 'huge';

/** A copy of the embedded model in `dir` whose `file` (e.g. "config.json", "onnx/model.onnx") is made `kind`. */
export function hostileFolder(dir: string, file: string, kind: Hostile): string {
  rmSync(dir, { recursive: true, force: true });
  if (file === 'onnx/model.onnx_data') buildModelFolder(dir, 'model.onnx', { interface: 'with-past', weights: 'fp32', externalData: true });
  else cpSync(EMBEDDED_MODEL_DIR, dir, { recursive: true, filter: (src) => !basename(src).startsWith('.likely-') });
  mkdirSync(join(dir, 'onnx'), { recursive: true });
  const path = join(dir, file);
  rmSync(path, { force: true });
  if (kind === 'fifo') execFileSync('mkfifo', [path]);
  else if (kind === 'zero') symlinkSync('/dev/zero', path);
  else truncateSync((execFileSync('touch', [path]), path), 9 * 1024 ** 3); // sparse: no disk used
  return dir;
}

/** What each case must be called in the one-line error: the file, and what it is. */
export const HOSTILE_WORDS: Record<Hostile, RegExp> = {
  fifo: /is a named pipe \(FIFO\), not a regular file/,
  zero: /is a device, not a regular file/,
  huge: /is [\d.]+ MB; a [\w.]+ is at most|is not a readable ONNX model|corrupt model file/,
};
