/**
 * The one typed API between the engine and its callers (Electron main/preload, the local web server,
 * the renderer, the CLI). Environment-neutral: no Node, no DOM, no imports outside common/.
 *
 * Transport-agnostic shape (common/rpc.ts): requests are `call(method, params)` returning a promise,
 * and the engine pushes events (`scores`, `status`). The Electron preload bridge, the WebSocket
 * client and EngineHost all implement `EngineClient`; every transport checks calls with
 * `validateEngineCall`.
 */
import { MAX_DOCUMENT_BYTES, MAX_UPDATE_CHARS, humanSize } from './limits.ts';
import { callValidator, type RpcClient, type RpcParams, type RpcResult } from './rpc.ts';
import type { ModelPrecision } from './models-api.ts';

/** One token of the document with its score. Offsets are UTF-16 code units into the document text. */
export interface TokenScore {
  /** GPT-2 vocabulary id. */
  id: number;
  /** The text this token covers: text.slice(start, end). Empty for a token that is only part of a character (see models/README.md). */
  text: string;
  start: number;
  end: number;
  /** Natural log of the probability of this token given everything before it. */
  logprob: number;
  /** 1 for the model's top choice. */
  rank: number;
  /** Entropy (nats) of the model's prediction at this position. */
  entropy: number;
}

export interface Prediction {
  id: number;
  /** Decoded text of the token; a token that is only part of a UTF-8 character shows as bytes, e.g. "\\xe6". */
  text: string;
  logprob: number;
}

export interface ModelInfo {
  id: string;
  name: string;
  /** Execution provider actually running: "cpu", "cuda", "dml", "coreml". */
  device: string;
  /** Why a GPU was not used, when it was not. */
  fallbackReason?: string;
  precision: ModelPrecision;
  layers: number;
  heads: number;
  width: number;
  contextLength: number;
}

/** A chunk of scores for one document version. Chunks of a version arrive in order; a newer version supersedes. */
export interface ScoreUpdate {
  version: number;
  /** Number of tokens in this version's text. */
  tokenCount: number;
  /** Tokens before this index kept the scores of the previous version (their text and context did not change). */
  firstChanged: number;
  /** This chunk scores tokens [from, from + tokens.length). */
  from: number;
  tokens: TokenScore[];
  /** Tokens of this version that have a score so far (unchanged prefix included). */
  scored: number;
  /** Every token of this version has its score. */
  done: boolean;
}

export type EngineState = 'loading' | 'ready' | 'scoring' | 'restarting' | 'error';

export interface EngineStatus {
  state: EngineState;
  model?: ModelInfo;
  /**
   * Human-readable reason for 'error' or 'restarting'; for 'loading', what is being loaded (a model
   * switch); for 'ready' after a switch that did not load, why the previous model is back.
   */
  message?: string;
}

export interface InfillSuggestion {
  /** Replacement for text[start, end). */
  text: string;
  /** Suffix-aware score: log P(candidate | prefix) + log P(following tokens | prefix + candidate). */
  score: number;
  /** log P(candidate | prefix). */
  spanLogprob: number;
  /** log P(following tokens | prefix + candidate) minus the same for the original text. */
  suffixDelta: number;
  /** 'fix': a fix of a common writing error (a confused word, a spelling one edit away, a repeated word removed); 'alternative': the model's own fill-in. */
  kind?: 'fix' | 'alternative';
}

export interface InfillResult {
  span: { start: number; end: number; text: string };
  /** Best first; by default only those that make the sentence more likely than the original. */
  suggestions: InfillSuggestion[];
  /** Score of the original text under the same ranking, for comparison. */
  original: { score: number; spanLogprob: number };
  /** Candidates left out because they make the sentence less likely than the original (0 with `includeWorse`). */
  hidden?: number;
}

/** A token the model attended to, with the attention weight on it. Offsets are UTF-16 code units into the document. */
export interface AttendedToken {
  /** The document's token index; -1 for the start of the text (the <|endoftext|> every text begins with: an empty span at 0). */
  index: number;
  start: number;
  end: number;
  text: string;
  /** Attention weight, 0..1 (a head's weights over its sources sum to 1). */
  weight: number;
}

/** One head's attention from the query over the earlier tokens, with the figures a heads grid draws. */
export interface HeadAttention {
  /** The strongest sources, strongest first. */
  top: AttendedToken[];
  /** The weight on the strongest source. */
  maxWeight: number;
  /** Entropy of the attention over all sources, nats (0: all on one token). */
  entropy: number;
  /** 1 − entropy / ln(sources): 1 all on one token, 0 spread evenly (1 when there is one source). */
  focus: number;
  /** Attention on copy sources (see AttentionResult.copiedFrom); the head copies when it is at least 0.5. */
  copyWeight: number;
}

export interface LayerAttention {
  heads: HeadAttention[];
  /** The layer's attention averaged over its heads, strongest first. */
  summed: AttendedToken[];
}

/**
 * What the model looked at when it predicted a token: the attention of the query before it (the position
 * whose prediction is the token's probability) over the tokens it could see, per layer and head.
 */
export interface AttentionResult {
  /** The token whose probability is explained. */
  token: { index: number; start: number; end: number; text: string };
  /** The query: the token before it (index -1: the start of the text). */
  query: { index: number; start: number; end: number; text: string };
  /** The window the token was scored in (documents past the context length are scored in windows): from the first token it holds to the end of the last it scores. */
  window: { start: number; end: number };
  /** How many tokens the query attends over (the query itself and those before it in the window). */
  sources: number;
  /** Per layer; empty when `unavailable`. */
  layers: LayerAttention[];
  /**
   * Where the token was copied from, or null. A source t is a copy source when the token before it
   * equals the query's token and t equals this token (the model can predict this token by copying what
   * followed the same token earlier); a head copies when at least half its attention is on copy sources.
   * copiedFrom is the copy source with the largest weight in a copying head, and that head.
   */
  copiedFrom: (AttendedToken & { layer: number; head: number }) | null;
  /** One line saying why this model's attention cannot be shown (e.g. a fused attention operator), with layers empty. */
  unavailable?: string;
}

export interface EngineMethods {
  /**
   * Score a new version of the document. Returns at once; results arrive as `scores` events.
   * `fresh`: the caller holds no scores of earlier versions (a new page), so every token is sent.
   */
  update(params: { version: number; text: string; fresh?: boolean }): void;
  /** The model's top-k predictions for the token at `index` of `version` (what it expected there). */
  topK(params: { version: number; index: number; k: number }): Prediction[];
  /** Top-k predictions for every token in [from, to) of `version` (k ≤ 10), e.g. for the HTML export. */
  predictions(params: { version: number; from: number; to: number; k: number }): Prediction[][];
  /** The span fill-in-the-blank proposes for a clicked token: its word, or the run of unlikely words around it. */
  suggestSpan(params: { version: number; index: number }): { start: number; end: number };
  /** Fill-in-the-blank suggestions for text[start, end) of `version`; `includeWorse`: also those that make the sentence less likely. */
  infill(params: { version: number; start: number; end: number; k?: number; prefixOnly?: boolean; includeWorse?: boolean }): InfillResult;
  /** What the model attended to when it predicted token `index` of `version`: the top `k` (default 5) sources per head and layer. */
  attention(params: { version: number; index: number; k?: number }): AttentionResult;
  modelInfo(params: Record<string, never>): ModelInfo;
}

export interface EngineEvents {
  scores: ScoreUpdate;
  status: EngineStatus;
}

export type MethodName = keyof EngineMethods;
export type ParamsOf<M extends MethodName> = RpcParams<EngineMethods, M>;
export type ResultOf<M extends MethodName> = RpcResult<EngineMethods, M>;

/** The engine as every caller sees it: the Electron bridge, the WebSocket client, EngineHost. */
export type EngineClient = RpcClient<EngineMethods, EngineEvents>;

/** Most sources per head an attention call returns: a GPT-2 context, i.e. all of them. */
export const MAX_ATTENTION_K = 1024;

const isIndex = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;
/** Each check says what is wrong in words, or null. Versions are counted by the page from 1. */
const index = (p: Record<string, unknown>, name: string) => (isIndex(p[name]) ? null : `${name} must be a non-negative integer`);
const range = (p: Record<string, unknown>, from: string, to: string) =>
  index(p, from) ?? index(p, to) ?? ((p[to] as number) < (p[from] as number) ? `${to} must not be less than ${from}` : null);
const k = (p: Record<string, unknown>, max: number, optional = false) =>
  (optional && p.k === undefined) || (Number.isSafeInteger(p.k) && (p.k as number) >= 1 && (p.k as number) <= max) ? null : `k must be an integer from 1 to ${max}`;
const flag = (p: Record<string, unknown>, name: string) => (p[name] === undefined || typeof p[name] === 'boolean' ? null : `${name} must be true or false`);

const ENGINE_PARAMS: Record<MethodName, (p: Record<string, unknown>) => string | null> = {
  update: (p) =>
    index(p, 'version') ??
    (typeof p.text !== 'string'
      ? 'text must be a string'
      : p.text.length > MAX_UPDATE_CHARS
        ? `the text is ${p.text.length} characters; the limit is ${MAX_UPDATE_CHARS} (${humanSize(MAX_DOCUMENT_BYTES)})`
        : flag(p, 'fresh')),
  topK: (p) => index(p, 'version') ?? index(p, 'index') ?? k(p, 100),
  predictions: (p) => index(p, 'version') ?? range(p, 'from', 'to') ?? k(p, 10),
  suggestSpan: (p) => index(p, 'version') ?? index(p, 'index'),
  infill: (p) => index(p, 'version') ?? range(p, 'start', 'end') ?? k(p, 50, true) ?? flag(p, 'prefixOnly') ?? flag(p, 'includeWorse'),
  attention: (p) => index(p, 'version') ?? index(p, 'index') ?? k(p, MAX_ATTENTION_K, true),
  modelInfo: () => null,
};

/**
 * Checks an engine call before anything acts on it. Every transport runs it (Electron IPC, the
 * web server's WebSocket, the engine process), so a call is refused the same way, with the same
 * one line, wherever it comes from. Throws CallError.
 */
export const validateEngineCall = callValidator<MethodName>('engine', ENGINE_PARAMS);

/** exp(-mean logprob) over the scored tokens; NaN when there are none. */
export function perplexity(logprobs: ArrayLike<number>): number {
  if (logprobs.length === 0) return NaN;
  let sum = 0;
  for (let i = 0; i < logprobs.length; i++) sum += logprobs[i]!;
  return Math.exp(-sum / logprobs.length);
}
