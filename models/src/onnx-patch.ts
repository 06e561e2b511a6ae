/**
 * Appends a scoring head to a GPT-2 ONNX graph so log-probs, ranks, entropy and the top-k
 * predictions are computed inside ONNX Runtime and only those numbers leave the session (the
 * [batch, tokens, 50257] logits never cross into JavaScript).
 *
 * New input:   likely_targets [B,T,1] int64 — the token whose score is wanted at each position.
 * New outputs: likely_logprob, likely_rank (count of strictly higher logits), likely_entropy
 *              [B,T,1] float32; likely_top_logprobs [B,T,K] float32; likely_top_ids [B,T,K] int64.
 */
import { type Field, fields, text, Wire, Writer } from './protobuf.ts';

export const SCORE_OUTPUTS = ['likely_logprob', 'likely_rank', 'likely_entropy', 'likely_top_logprobs', 'likely_top_ids'] as const;
export const TARGETS_INPUT = 'likely_targets';

const enum DataType {
  FLOAT = 1,
  INT64 = 7,
  FLOAT16 = 10,
}

export interface GraphInterface {
  /** Version of the default ("" / "ai.onnx") operator set. */
  opset: number;
  inputs: { name: string; elemType: number }[];
  outputs: { name: string; elemType: number }[];
  /** Whether weights live in external files (model.onnx_data). */
  usesExternalData: boolean;
}

function valueInfoType(buf: Uint8Array, start: number, end: number): { name: string; elemType: number } {
  let name = '';
  let elemType = 0;
  for (const f of fields(buf, start, end)) {
    if (f.number === 1 && f.wire === Wire.Bytes) name = text(buf, f);
    if (f.number === 2 && f.wire === Wire.Bytes) {
      for (const t of fields(buf, f.valueStart, f.valueEnd)) {
        if (t.number !== 1 || t.wire !== Wire.Bytes) continue; // TypeProto.tensor_type
        for (const e of fields(buf, t.valueStart, t.valueEnd)) if (e.number === 1 && e.wire === Wire.Varint) elemType = Number(e.varint);
      }
    }
  }
  return { name, elemType };
}

function findGraph(model: Uint8Array) {
  let found: Field | null = null;
  let opset = 0;
  for (const f of fields(model)) {
    if (f.number === 7 && f.wire === Wire.Bytes) found = f;
    if (f.number === 8 && f.wire === Wire.Bytes) {
      let domain = '';
      let version = 0;
      for (const o of fields(model, f.valueStart, f.valueEnd)) {
        if (o.number === 1 && o.wire === Wire.Bytes) domain = text(model, o);
        if (o.number === 2 && o.wire === Wire.Varint) version = Number(o.varint);
      }
      if (domain === '' || domain === 'ai.onnx') opset = version;
    }
  }
  if (!found) throw new Error('not an ONNX model (no graph)');
  return { graph: found, opset };
}

/** Reads the graph's inputs, outputs and opset without decoding its weights. */
export function readGraphInterface(model: Uint8Array): GraphInterface {
  const { graph, opset } = findGraph(model);
  const inputs: GraphInterface['inputs'] = [];
  const outputs: GraphInterface['outputs'] = [];
  let usesExternalData = false;
  for (const f of fields(model, graph.valueStart, graph.valueEnd)) {
    if (f.wire !== Wire.Bytes) continue;
    if (f.number === 11) inputs.push(valueInfoType(model, f.valueStart, f.valueEnd));
    if (f.number === 12) outputs.push(valueInfoType(model, f.valueStart, f.valueEnd));
    if (f.number === 5 && !usesExternalData) {
      // TensorProto.data_location (14) == EXTERNAL (1)
      for (const t of fields(model, f.valueStart, f.valueEnd)) if (t.number === 14 && t.varint === 1n) usesExternalData = true;
    }
  }
  return { opset, inputs, outputs, usesExternalData };
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

/** Returns a copy of `model` with the scoring head appended; `topK` predictions per position. */
export function addScoringHead(model: Uint8Array, topK = 10): Uint8Array {
  const info = readGraphInterface(model);
  const logits = info.outputs.find((o) => o.name === 'logits');
  if (!logits) throw new Error('the ONNX graph has no "logits" output');
  if (info.inputs.some((i) => i.name === TARGETS_INPUT)) return model; // already patched
  if (info.opset < 11) throw new Error(`ONNX opset ${info.opset} is too old (need 11 or newer)`);
  const g = new NodeWriter(info.opset);
  const L = logits.elemType === DataType.FLOAT ? 'logits' : g.op('Cast', ['logits'], [attrInt('to', DataType.FLOAT)]);
  // LogSoftmax, not ReduceLogSumExp: ORT's CPU ReduceLogSumExp over 50,257 logits is off by ~5e-4
  // nats on a trained model (float32 summation), LogSoftmax stays within ~1e-6 of PyTorch in float64.
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

  const extra = g.graph.finish();
  const { graph } = findGraph(model);
  const out = new Writer();
  out.raw(model.subarray(0, graph.start));
  out.bytes(7, concat(model.subarray(graph.valueStart, graph.valueEnd), extra));
  out.raw(model.subarray(graph.end));
  return out.finish();
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}
