/**
 * A loaded GPT-2 with its scoring head: one forward step over new tokens, given the KV cache of
 * the tokens before them. Shapes: B batch, T new tokens, P cached tokens, H heads, D head width.
 */
import type { ModelInfo } from '../../common/api.ts';
import type { AttentionGraphOpener } from './attention-graph.ts';
import type { GPT2Config } from './model-config.ts';
import { SCORE_OUTPUTS, TARGETS_INPUT } from './scoring-head.ts';
import type { Session, TensorArray, TensorData } from './session.ts';
import type { Tokenizer } from './tokenizer.ts';

/** Predictions kept per token for the popover and export. */
export const TOP_K = 10;
/** Predictions the scoring head returns per position (fill-in-the-blank searches wider). */
export const GRAPH_TOP_K = 64;

/** Per layer: key and value, each [B,H,P,D]. */
export type KVCache = TensorData[];

export interface StepInput {
  /** [B][T] token ids fed at this step. */
  ids: ArrayLike<number>[];
  /** [B][T] the token each position should score (its next token); -1 where none. */
  targets: ArrayLike<number>[];
  /** Cache of the P tokens before, or null when P = 0. */
  past: KVCache | null;
  /** [B][P+T] 1 = attend, 0 = padding; defaults to all ones. */
  attentionMask?: ArrayLike<number>[];
  /** [B][T] positions; defaults to P..P+T-1. Ignored by a model without position_ids (see hasPositionIds). */
  positions?: ArrayLike<number>[];
  /** Skip copying the updated cache out of the session when the caller will not continue from it. */
  withoutPresent?: boolean;
}

export interface StepOutput {
  /** [B*T] flattened, row-major. */
  logprob: Float32Array;
  /** Rank 1 = top choice. */
  rank: Int32Array;
  entropy: Float32Array;
  /** [B*T*GRAPH_TOP_K] */
  topIds: Int32Array;
  topLogprobs: Float32Array;
  present: KVCache;
}

export class GPT2 {
  readonly kvType: 'float32' | 'float16';
  /** Opens the model's attention graph (attention.ts), set by the loader that has its files; without it attention is unavailable. */
  attentionGraph?: AttentionGraphOpener;

  /**
   * A model whose session already has the scoring head (scoring-head.ts). Where the parts come from
   * is the loader's business: a folder on disk (load-from-folder.ts) or files in memory (model-files.ts).
   */
  constructor(
    readonly config: GPT2Config,
    readonly tokenizer: Tokenizer,
    private readonly session: Session,
    readonly info: ModelInfo,
  ) {
    this.kvType = session.inputTypes.get('past_key_values.0.key') === 'float16' ? 'float16' : 'float32';
  }

  /**
   * Whether the graph takes position_ids. Without them (Xenova/gpt2's merged decoder) the model
   * numbers the new tokens P, P + 1, … from the cache length P, so a cache must hold exactly the
   * tokens before the new ones, in order: no holes, no trimmed context (see engine.ts, infill.ts).
   */
  get hasPositionIds(): boolean {
    return this.session.inputNames.includes('position_ids');
  }

  private get mergedDecoder(): boolean {
    return this.session.inputNames.includes('use_cache_branch');
  }

  get layers(): number {
    return this.config.n_layer;
  }
  get heads(): number {
    return this.config.n_head;
  }
  get headDim(): number {
    return this.config.n_embd / this.config.n_head;
  }
  get contextLength(): number {
    return this.config.n_positions;
  }

  emptyCache(batch = 1): KVCache {
    const dims = [batch, this.heads, 0, this.headDim];
    const data = () => (this.kvType === 'float16' ? new Uint16Array(0) : new Float32Array(0));
    return Array.from({ length: 2 * this.layers }, () => ({ type: this.kvType, data: data(), dims }));
  }

  async step(input: StepInput): Promise<StepOutput> {
    const B = input.ids.length;
    const T = input.ids[0]!.length;
    const past = input.past ?? this.emptyCache(B);
    const P = past[0]!.dims[2]!;
    const ids = new BigInt64Array(B * T);
    const targets = new BigInt64Array(B * T);
    const positions = new BigInt64Array(B * T);
    const mask = new BigInt64Array(B * (P + T)).fill(1n);
    for (let b = 0; b < B; b++) {
      for (let t = 0; t < T; t++) {
        ids[b * T + t] = BigInt(input.ids[b]![t]!);
        targets[b * T + t] = BigInt(Math.max(0, input.targets[b]![t]!));
        positions[b * T + t] = BigInt(input.positions ? input.positions[b]![t]! : P + t);
      }
      if (input.attentionMask) for (let s = 0; s < P + T; s++) mask[b * (P + T) + s] = BigInt(input.attentionMask[b]![s]!);
    }
    const feeds: Record<string, TensorData> = {
      input_ids: { type: 'int64', data: ids, dims: [B, T] },
      attention_mask: { type: 'int64', data: mask, dims: [B, P + T] },
      [TARGETS_INPUT]: { type: 'int64', data: targets, dims: [B, T, 1] },
    };
    if (this.hasPositionIds) feeds.position_ids = { type: 'int64', data: positions, dims: [B, T] };
    // A merged decoder (Optimum ≤ 1.13) runs its with-past branch when use_cache_branch is true;
    // fed like transformers.js's decoder_forward: true once there is a cache.
    if (this.mergedDecoder) feeds.use_cache_branch = { type: 'bool', data: Uint8Array.of(P > 0 ? 1 : 0), dims: [1] };
    for (let l = 0; l < this.layers; l++) {
      feeds[`past_key_values.${l}.key`] = past[2 * l]!;
      feeds[`past_key_values.${l}.value`] = past[2 * l + 1]!;
    }
    const presentNames = Array.from({ length: this.layers }, (_, l) => [`present.${l}.key`, `present.${l}.value`]).flat();
    const out = await this.session.run(feeds, input.withoutPresent ? SCORE_OUTPUTS : [...SCORE_OUTPUTS, ...presentNames]);
    const rankF = out.likely_rank!.data as Float32Array;
    const rank = new Int32Array(rankF.length);
    for (let i = 0; i < rank.length; i++) rank[i] = rankF[i]! + 1;
    const topIds64 = out.likely_top_ids!.data as BigInt64Array;
    const topIds = new Int32Array(topIds64.length);
    for (let i = 0; i < topIds.length; i++) topIds[i] = Number(topIds64[i]!);
    return {
      logprob: out.likely_logprob!.data as Float32Array,
      rank,
      entropy: out.likely_entropy!.data as Float32Array,
      topIds,
      topLogprobs: out.likely_top_logprobs!.data as Float32Array,
      present: input.withoutPresent ? [] : presentNames.map((n) => out[n]!),
    };
  }

  release(): Promise<void> {
    return this.session.release();
  }
}

/** A copy of a [1,H,S,D] cache keeping only the given slots (in order), repeated `batch` times. */
export function gatherCache(cache: KVCache, slots: readonly number[], batch = 1): KVCache {
  return cache.map((t) => {
    const [B0, H, S, D] = t.dims as [number, number, number, number];
    if (B0 !== 1) throw new RangeError('gatherCache works on a batch of one');
    const n = slots.length;
    const Ctor = t.data.constructor as { new (n: number): TensorArray };
    const data = new Ctor(batch * H * n * D) as Float32Array;
    const src = t.data as Float32Array;
    for (let bh = 0; bh < H; bh++) {
      // Copy runs of consecutive slots at once.
      for (let j = 0; j < n; ) {
        let k = j + 1;
        while (k < n && slots[k] === slots[k - 1]! + 1) k++;
        data.set(src.subarray((bh * S + slots[j]!) * D, (bh * S + slots[k - 1]! + 1) * D), (bh * n + j) * D);
        j = k;
      }
    }
    for (let b = 1; b < batch; b++) data.copyWithin(b * H * n * D, 0, H * n * D);
    return { type: t.type, data, dims: [batch, H, n, D] };
  });
}
