/**
 * Writes a GPT-2 ONNX file with the scoring head (scoring-head.ts) appended, or the attention graph's
 * outputs (attention-graph.ts), streaming from file to file: the Node build's path, where a model may
 * be larger than JavaScript should hold.
 */
import { closeSync, openSync, readSync, writeSync } from 'node:fs';
import type { LayoutPart } from './attention-graph.ts';
import type { OnnxInterface } from './onnx-graph.ts';
import { scoredLayout } from './scoring-head.ts';

export { hasScoringHead, SCORE_OUTPUTS, scoringHead, TARGETS_INPUT } from './scoring-head.ts';

/**
 * Writes `src` with the scoring head appended to `dest`, streaming: the weights are copied from
 * file to file in chunks, never held in JavaScript memory (a 1.9 GB single-file model costs 16 MB).
 */
export function writeScoredModel(src: string, info: OnnxInterface, dest: string, topK = 10): void {
  writePatchedModel(src, scoredLayout(info, topK), dest);
}

/** Writes `layout` (ranges of `src` and new bytes, in order) to `dest`, copying the ranges file to file in chunks. */
export function writePatchedModel(src: string, layout: readonly LayoutPart[], dest: string): void {
  const fin = openSync(src, 'r');
  const fout = openSync(dest, 'w');
  try {
    const buf = Buffer.allocUnsafe(16 << 20);
    const copy = (from: number, to: number) => {
      for (let pos = from; pos < to; ) {
        const n = readSync(fin, buf, 0, Math.min(buf.length, to - pos), pos);
        if (n <= 0) throw new Error(`${src} is shorter than its header says`);
        writeAll(fout, buf.subarray(0, n));
        pos += n;
      }
    };
    for (const part of layout) {
      if (part instanceof Uint8Array) writeAll(fout, part);
      else copy(part.from, part.to);
    }
  } finally {
    closeSync(fin);
    closeSync(fout);
  }
}

function writeAll(fd: number, bytes: Uint8Array): void {
  for (let done = 0; done < bytes.length; ) done += writeSync(fd, bytes, done, bytes.length - done);
}
