/**
 * The scoring head appended to a GPT-2 ONNX graph so log-probs, ranks, entropy and the top-k
 * predictions are computed inside ONNX Runtime and only those numbers leave the session (the
 * [batch, tokens, 50257] logits never cross into JavaScript). Environment-neutral: the Node build
 * streams the patched file to disk (onnx-patch.ts), the browser patches the bytes in memory
 * (`withScoringHead`).
 *
 * New input:   likely_targets [B,T,1] int64 — the token whose score is wanted at each position.
 * New outputs: likely_logprob, likely_rank (count of strictly higher logits), likely_entropy
 *              [B,T,1] float32; likely_top_logprobs [B,T,K] float32; likely_top_ids [B,T,K] int64.
 */
import { concatBytes } from '../../common/bytes.ts';
import type { OnnxInterface } from './onnx-graph.ts';
import { Writer } from './protobuf.ts';

export const SCORE_OUTPUTS = ['likely_logprob', 'likely_rank', 'likely_entropy', 'likely_top_logprobs', 'likely_top_ids'] as const;
export const TARGETS_INPUT = 'likely_targets';

const enum DataType {
  FLOAT = 1,
  INT64 = 7,
}

class NodeWriter {
  readonly graph = new Writer();
  private n = 0;
  constructor(readonly opset: number) {}

  fresh(hint: string): string {
    return `likely_${hint}_${this.n++}`;
  }

  node(op: string, inputs: string[], outputs: string[], attrs: ((w: Writer) => void)[] = []): void {
    this.graph.message(1, (w) => {
      for (const i of inputs) w.string(1, i);
      for (const o of outputs) w.string(2, o);
      w.string(3, this.fresh(op));
      w.string(4, op);
      for (const a of attrs) w.message(5, a);
    });
  }

  op(op: string, inputs: string[], attrs: ((w: Writer) => void)[] = [], out = this.fresh(op)): string {
    this.node(op, inputs, [out], attrs);
    return out;
  }

  int64Const(values: number[]): string {
    const name = this.fresh('const');
    const raw = new Uint8Array(values.length * 8);
    const view = new DataView(raw.buffer);
    values.forEach((v, i) => view.setBigInt64(i * 8, BigInt(v), true));
    this.graph.message(5, (t) => {
      t.varint(1, values.length);
      t.varint(2, DataType.INT64);
      t.string(8, name);
      t.bytes(9, raw);
    });
    return name;
  }

  /** ReduceSum over the last axis, keeping it (axes became an input in opset 13). */
  reduceSumLast(x: string): string {
    return this.opset >= 13
      ? this.op('ReduceSum', [x, this.int64Const([-1])], [attrInt('keepdims', 1)])
      : this.op('ReduceSum', [x], [attrInts('axes', [-1]), attrInt('keepdims', 1)]);
  }

  valueInfo(field: 11 | 12, name: string, elemType: number, dims: (string | number)[]): void {
    this.graph.message(field, (v) => {
      v.string(1, name);
      v.message(2, (type) =>
        type.message(1, (tensor) => {
          tensor.varint(1, elemType);
          tensor.message(2, (shape) => {
            for (const d of dims) shape.message(1, (dim) => (typeof d === 'number' ? dim.varint(1, d) : dim.string(2, d)));
          });
        }),
      );
    });
  }
}

const attrInt = (name: string, value: number) => (w: Writer) => {
  w.string(1, name);
  w.varint(3, value);
  w.varint(20, 2); // INT
};
const attrInts = (name: string, values: number[]) => (w: Writer) => {
  w.string(1, name);
  for (const v of values) w.varint(8, v);
  w.varint(20, 7); // INTS
};

/**
 * The graph fields that add the scoring head (appended to the GraphProto's payload, they merge
 * into its repeated node / initializer / input / output fields).
 */
export function scoringHead(info: OnnxInterface, topK = 10): Uint8Array {
  const logits = info.outputs.find((o) => o.name === 'logits');
  if (!logits) throw new Error('the ONNX graph has no "logits" output');
  const opset = info.opsets[''] ?? 0;
  if (opset < 11) throw new Error(`ONNX opset ${opset} is too old (need 11 or newer)`);
  const g = new NodeWriter(opset);
  const L = logits.elemType === DataType.FLOAT ? 'logits' : g.op('Cast', ['logits'], [attrInt('to', DataType.FLOAT)]);
  // LogSoftmax, not ReduceLogSumExp: ORT's CPU ReduceLogSumExp over 50,257 logits is off by ~5e-4
  // nats on a trained model (float32 summation); LogSoftmax stays within 2.4e-5 of PyTorch.
  const logp = g.op('LogSoftmax', [L], [attrInt('axis', -1)]);
  g.node('GatherElements', [logp, TARGETS_INPUT], ['likely_logprob'], [attrInt('axis', -1)]);
  const targetLogit = g.op('GatherElements', [L, TARGETS_INPUT], [attrInt('axis', -1)]);
  const higher = g.op('Cast', [g.op('Greater', [L, targetLogit])], [attrInt('to', DataType.FLOAT)]);
  g.node('Identity', [g.reduceSumLast(higher)], ['likely_rank']);
  g.node('Neg', [g.reduceSumLast(g.op('Mul', [g.op('Exp', [logp]), logp]))], ['likely_entropy']);
  g.node('TopK', [logp, g.int64Const([topK])], ['likely_top_logprobs', 'likely_top_ids'], [attrInt('axis', -1)]);

  g.valueInfo(11, TARGETS_INPUT, DataType.INT64, ['batch_size', 'sequence_length', 1]);
  for (const name of ['likely_logprob', 'likely_rank', 'likely_entropy']) g.valueInfo(12, name, DataType.FLOAT, ['batch_size', 'sequence_length', 1]);
  g.valueInfo(12, 'likely_top_logprobs', DataType.FLOAT, ['batch_size', 'sequence_length', topK]);
  g.valueInfo(12, 'likely_top_ids', DataType.INT64, ['batch_size', 'sequence_length', topK]);
  return g.graph.finish();
}

/** Whether the file already has the scoring head. */
export const hasScoringHead = (info: OnnxInterface) => info.inputs.some((i) => i.name === TARGETS_INPUT);

/**
 * How the patched file is laid out, as byte ranges of the original and new bytes in order: the
 * graph field (ModelProto field 7) gets a new length and the head's fields appended to its payload.
 */
export function scoredLayout(info: OnnxInterface, topK = 10): ({ from: number; to: number } | Uint8Array)[] {
  const extra = scoringHead(info, topK);
  // Field 7 (the graph, length-delimited), its new length, then the old payload and the new fields.
  const tag = Uint8Array.of((7 << 3) | 2);
  const length = new Writer().varint(1, info.graph.end - info.graph.start + extra.length).finish().subarray(1);
  return [{ from: 0, to: info.graph.tagStart }, tag, length, { from: info.graph.start, to: info.graph.end }, extra, { from: info.graph.end, to: info.size }];
}

/** The model bytes with the scoring head appended, in memory (the browser's path: one copy of the model). */
export function withScoringHead(model: Uint8Array, info: OnnxInterface, topK = 10): Uint8Array {
  return concatBytes(scoredLayout(info, topK).map((p) => (p instanceof Uint8Array ? p : model.subarray(p.from, p.to))));
}
