/**
 * What fp16 and int8 cost in accuracy against fp32, measured on our fixtures by
 * `npm run eval:precision -- --write` (models/eval/precision-eval.ts), for the Models panel.
 */
import costs from './precision-costs.json' with { type: 'json' };

export interface PrecisionCost {
  /** Mean |Δ ln p| per token against fp32. */
  meanAbsNats: number;
  maxAbsNats: number;
  /** Share of tokens whose top-10 rank bucket changes. */
  top10Changed: number;
  tokens: number;
}

export const PRECISION_COSTS: { measured: string; model: string; texts: string; fp16: PrecisionCost; int8: PrecisionCost } = costs;
