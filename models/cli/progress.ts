/**
 * Progress of a long scoring run on stderr ("scored 41,000 of 250,000 tokens · 1,300 tokens/s ·
 * 2:41 left"), redrawn in place at most five times a second, only when stderr is a terminal (a
 * pipe or a log file gets nothing but the result).
 */
import { formatDuration } from '../../common/models-api.ts';

interface ProgressStream {
  isTTY?: boolean;
  write(chunk: string): unknown;
}

/** The `onProgress` for Engine.score, or undefined when `stream` is not a terminal. */
export function scoreProgress(stream: ProgressStream = process.stderr, now: () => number = Date.now): ((scored: number, total: number) => void) | undefined {
  if (!stream.isTTY) return undefined;
  const start = now();
  let shown = 0;
  return (scored, total) => {
    const t = now();
    if (scored < total && t - shown < 200) return;
    shown = t;
    if (scored >= total) return void stream.write('\r\x1b[K');
    const rate = scored / Math.max(1e-3, (t - start) / 1000);
    const left = rate > 0 ? (total - scored) / rate : null;
    stream.write(`\r\x1b[Kscored ${scored.toLocaleString('en-US')} of ${total.toLocaleString('en-US')} tokens · ${Math.round(rate).toLocaleString('en-US')} tokens/s · ${formatDuration(left)} left`);
  };
}
