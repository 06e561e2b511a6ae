/**
 * For tests: small ONNX files with exactly the graph interface a test needs (no nodes; the reader
 * and the validator only look at inputs, outputs, opsets and initializers).
 */
import { Writer } from '../src/protobuf.ts';

export interface TestGraph {
  inputs: [string, number][];
  outputs: [string, number][];
  /** Initializers: inline (a few bytes of raw_data) or stored in an external file. */
  initializers?: { name: string; external?: string; listAsInput?: boolean }[];
  opset?: number;
}

const FLOAT = 1;
const INT64 = 7;
const BOOL = 9;

/**
 * A GPT-2 decoder's inputs and outputs; `merged`: Optimum ≤ 1.13's merged decoder (use_cache_branch
 * bool, no position_ids). Graphs that run are built by models/synthetic/gpt2-onnx.ts.
 */
export function gpt2Interface(layers: number, opts: { kvType?: number; positionIds?: boolean; merged?: boolean; extraInputs?: string[] } = {}): Pick<TestGraph, 'inputs' | 'outputs'> {
  const kv = opts.kvType ?? FLOAT;
  const inputs: [string, number][] = [
    ['input_ids', INT64],
    ['attention_mask', INT64],
  ];
  if (opts.positionIds !== false && !opts.merged) inputs.push(['position_ids', INT64]);
  const outputs: [string, number][] = [['logits', FLOAT]];
  for (let i = 0; i < layers; i++) {
    inputs.push([`past_key_values.${i}.key`, kv], [`past_key_values.${i}.value`, kv]);
    outputs.push([`present.${i}.key`, kv], [`present.${i}.value`, kv]);
  }
  if (opts.merged) inputs.push(['use_cache_branch', BOOL]);
  for (const name of opts.extraInputs ?? []) inputs.push([name, INT64]);
  return { inputs, outputs };
}

function valueInfo(w: Writer, name: string, elemType: number): void {
  w.string(1, name);
  w.message(2, (t) => t.message(1, (tt) => tt.varint(1, elemType)));
}

export function initializerBytes(name: string, external?: string): Uint8Array {
  const t = new Writer();
  t.varint(1, 4);
  t.varint(2, FLOAT);
  t.string(8, name);
  if (external) {
    t.message(13, (e) => e.string(1, 'location').string(2, external));
    t.message(13, (e) => e.string(1, 'offset').string(2, '0'));
    t.varint(14, 1);
  } else {
    t.bytes(9, new Uint8Array(16));
  }
  return t.finish();
}

export function graphBody(g: TestGraph, w = new Writer()): Writer {
  for (const init of g.initializers ?? []) w.bytes(5, initializerBytes(init.name, init.external));
  w.string(2, 'test-graph');
  for (const [name, type] of g.inputs) w.message(11, (v) => valueInfo(v, name, type));
  for (const init of g.initializers ?? []) if (init.listAsInput) w.message(11, (v) => valueInfo(v, init.name, FLOAT));
  for (const [name, type] of g.outputs) w.message(12, (v) => valueInfo(v, name, type));
  return w;
}

export function onnxModel(g: TestGraph): Uint8Array {
  const w = new Writer();
  w.varint(1, 8);
  w.string(2, 'likely-test');
  w.bytes(7, graphBody(g).finish());
  w.message(8, (o) => o.string(1, '').varint(2, g.opset ?? 17));
  w.message(8, (o) => o.string(1, 'com.microsoft').varint(2, 1));
  return w.finish();
}

export function varint(value: number): Uint8Array {
  const out: number[] = [];
  let v = value;
  while (v >= 0x80) {
    out.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  out.push(v);
  return Uint8Array.from(out);
}
