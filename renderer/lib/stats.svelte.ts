/** The stats panel's state: histogram, rank buckets and per-paragraph perplexity of the scored text, and the tokens of a clicked bar highlighted in the editor. */
import { logprobHistogram, paragraphPerplexities, rankBucketCounts, type BucketCount, type HistogramBin, type ParagraphStat } from '../../common/stats.ts';
import type { LikelyEditor } from './editor.svelte.ts';
import { textToPos } from './text-map.ts';

export interface StatsData {
  histogram: HistogramBin[];
  buckets: BucketCount[];
  paragraphs: (ParagraphStat & { preview: string })[];
  tokenCount: number;
}

export class StatsPanel {
  open = $state(false);
  data = $state.raw<StatsData | null>(null);
  /** Which bar is highlighted, e.g. "hist:3" or "bucket:0". */
  highlighted = $state<string | null>(null);
  private timer: ReturnType<typeof setTimeout> | null = null;

  constructor(private readonly editor: LikelyEditor) {}

  toggle(): void {
    this.open = !this.open;
    if (this.open) this.compute();
    else this.highlight(null, null);
  }

  /** New scores arrived: recompute soon (at most every 200 ms) while the panel is open. */
  scored(): void {
    if (!this.open || this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.compute();
    }, 200);
  }

  private compute(): void {
    const s = this.editor.scores();
    if (!s) return;
    const tokens = s.mirror.tokens;
    const text = s.sent.get(s.mirror.version) ?? '';
    this.data = {
      histogram: logprobHistogram(tokens),
      buckets: rankBucketCounts(tokens),
      paragraphs: paragraphPerplexities(text, tokens).map((p) => ({ ...p, preview: text.slice(p.start, Math.min(p.end, p.start + 48)) })),
      tokenCount: tokens.length,
    };
  }

  /** Highlights the tokens of a bar (key identifies the bar); the same key again clears it. */
  highlight(key: string | null, tokens: readonly number[] | null): void {
    if (key !== null && key === this.highlighted) {
      key = null;
      tokens = null;
    }
    this.highlighted = key;
    this.editor.applyOptions({ highlight: tokens ? new Set(tokens) : null });
    const s = this.editor.scores();
    const first = s && tokens?.length ? s.mirror.tokens[tokens[0]!] : undefined;
    if (s && first && first.end <= s.text.text.length) this.reveal(first.start);
  }

  /** Scrolls the editor to a text offset of the current text (a paragraph's start). */
  reveal(offset: number): void {
    const view = this.editor.view;
    const s = this.editor.scores();
    if (!view || !s) return;
    const { node } = view.domAtPos(textToPos(s.text, offset, 1));
    (node.nodeType === 1 ? (node as Element) : node.parentElement)?.scrollIntoView({ block: 'center' });
  }
}
