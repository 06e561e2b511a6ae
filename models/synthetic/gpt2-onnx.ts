/**
 * Builds GPT-2 ONNX graphs with the interfaces the hub's files really have, from any weights (the
 * embedded model's, or random ones of GPT-2 small…XL's shapes). One builder serves the tests (the
 * hub's interfaces rebuilt offline), the local hub and `npm run models:random` (benchmark models).
 *
 * The math is GPT-2's (pre-LN blocks, tanh-GELU MLP, learned positions, tied embedding stored once
 * transposed, [C,V], as models/training/onnx_graph.py stores it: the head is a MatMul, the token
 * embedding a Gather along axis 1). Shapes: B batch, T new tokens, P cached tokens, S = P + T,
 * H heads, D = C / H head width, C width, V vocabulary (50,257).
 *
 * Interfaces (where each fact comes from: models/manager/README.md, "Interfaces of the hub's files"):
 *   'merged'     Optimum ≤ 1.13 merged decoder (Xenova/gpt2): opset 13, an If on use_cache_branch
 *                (bool [1]) whose then-branch is the with-past decoder and else-branch the
 *                decoder without past; no position_ids, so positions are numbered from the cache
 *                length P (HF's GPT-2 forward without position_ids); weights shared by both
 *                branches live in the main graph.
 *   'with-past'  Optimum ≥ 1.14 decoder with past (onnx-community/gpt2-*-ONNX): opset 14,
 *                position_ids [B,T] input.
 * Weights:
 *   'fp32'       float32 everywhere.
 *   'fp16'       float16 weights and compute, float32 inputs and outputs: onnxconverter-common's
 *                convert_float_to_float16(keep_io_types=True) puts a Cast after each float input
 *                and before each float output of the main graph.
 *   'fp16-io'    float16 weights, caches and logits (keep_io_types=False).
 *   'int8'       every MatMul by a constant 2-D weight becomes DynamicQuantizeLinear → MatMulInteger
 *                (int8 weight, per-column symmetric scale, zero point 0) → Cast → Mul by
 *                x_scale × w_scale, the pattern onnxruntime's quantize_dynamic emits; for 'merged'
 *                these nodes sit inside the If branches. The Gather of the tied embedding stays fp32.
 * External data: initializers of 1 KiB and more go to `<file>_data` (location, offset, length).
 */
import { closeSync, mkdirSync, openSync, renameSync, writeSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { readFileSync } from 'node:fs';
import { fields, text, Wire, Writer } from '../src/protobuf.ts';

export interface Gpt2Shape {
  layers: number;
  heads: number;
  width: number;
  vocab: number;
  positions: number;
  eps: number;
}

export type Gpt2Interface = 'merged' | 'with-past';
export type Gpt2Weights = 'fp32' | 'fp16' | 'fp16-io' | 'int8';

/** A weight by name (models/training/onnx_graph.py's names) and its dims; float32, row-major. */
export type WeightSource = (name: string, dims: number[]) => Float32Array;

export const GPT2_SIZES: Record<'small' | 'medium' | 'large' | 'xl', Gpt2Shape> = {
  small: { layers: 12, heads: 12, width: 768, vocab: 50257, positions: 1024, eps: 1e-5 },
  medium: { layers: 24, heads: 16, width: 1024, vocab: 50257, positions: 1024, eps: 1e-5 },
  large: { layers: 36, heads: 20, width: 1280, vocab: 50257, positions: 1024, eps: 1e-5 },
  xl: { layers: 48, heads: 25, width: 1600, vocab: 50257, positions: 1024, eps: 1e-5 },
};

const enum T {
  FLOAT = 1,
  UINT8 = 2,
  INT8 = 3,
  INT32 = 6,
  INT64 = 7,
  BOOL = 9,
  FLOAT16 = 10,
}

/** The dims of every weight of a GPT-2 of this shape, by name, in the order they are stored. */
export function weightDims(s: Gpt2Shape): [string, number[]][] {
  const C = s.width;
  const out: [string, number[]][] = [
    ['wte_transposed', [C, s.vocab]],
    ['wpe', [s.positions, C]],
  ];
  for (let i = 0; i < s.layers; i++) {
    const p = `h.${i}.`;
    out.push(
      [p + 'ln_1.weight', [C]],
      [p + 'ln_1.bias', [C]],
      [p + 'attn.c_attn.weight', [C, 3 * C]],
      [p + 'attn.c_attn.bias', [3 * C]],
      [p + 'attn.c_proj.weight', [C, C]],
      [p + 'attn.c_proj.bias', [C]],
      [p + 'ln_2.weight', [C]],
      [p + 'ln_2.bias', [C]],
      [p + 'mlp.c_fc.weight', [C, 4 * C]],
      [p + 'mlp.c_fc.bias', [4 * C]],
      [p + 'mlp.c_proj.weight', [4 * C, C]],
      [p + 'mlp.c_proj.bias', [C]],
    );
  }
  out.push(['ln_f.weight', [C]], ['ln_f.bias', [C]]);
  return out;
}

// --- float16 ---------------------------------------------------------------------------------

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** IEEE half of a float32, rounded to nearest even (what numpy's astype(float16) does). */
export function toHalf(v: number): number {
  f32[0] = v;
  const x = u32[0]!;
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let half = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const halfway = 1 << (shift - 1);
    if (rem > halfway || (rem === halfway && half & 1)) half++;
    return sign | half;
  }
  let half = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && half & 1)) half++; // a carry into the exponent is right
  return sign | half;
}

function halves(a: Float32Array): Uint16Array {
  const out = new Uint16Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = toHalf(a[i]!);
  return out;
}

/** Per-column symmetric int8 of a [K,N] weight: q = round(w / scale_n), scale_n = max_k |w[k,n]| / 127. */
function quantizeColumns(w: Float32Array, K: number, N: number): { q: Int8Array; scale: Float32Array } {
  const scale = new Float32Array(N);
  for (let k = 0; k < K; k++) for (let n = 0; n < N; n++) scale[n] = Math.max(scale[n]!, Math.abs(w[k * N + n]!));
  for (let n = 0; n < N; n++) scale[n] = scale[n]! / 127 || 1;
  const q = new Int8Array(K * N);
  for (let k = 0; k < K; k++) for (let n = 0; n < N; n++) q[k * N + n] = Math.max(-127, Math.min(127, Math.round(w[k * N + n]! / scale[n]!)));
  return { q, scale };
}

// --- protobuf pieces ---------------------------------------------------------------------------

type Dim = number | string;
type Attr = (w: Writer) => void;

const attrInt = (name: string, v: number): Attr => (w) => w.string(1, name).varint(3, v).varint(20, 2);
const attrInts = (name: string, vs: number[]): Attr => (w) => {
  w.string(1, name);
  for (const v of vs) w.varint(8, v);
  w.varint(20, 7);
};
const attrGraph = (name: string, g: Uint8Array): Attr => (w) => w.string(1, name).bytes(6, g).varint(20, 5);

function valueInfo(name: string, elemType: number, dims: Dim[]): Attr {
  return (v) =>
    v.string(1, name).message(2, (type) =>
      type.message(1, (tensor) => {
        tensor.varint(1, elemType);
        tensor.message(2, (shape) => {
          for (const d of dims) shape.message(1, (dim) => (typeof d === 'number' ? dim.varint(1, d) : dim.string(2, d)));
        });
      }),
    );
}

/** Streams large initializers into the external data file as they are made. */
class ExternalData {
  offset = 0;
  private readonly fd: number;
  constructor(
    readonly path: string,
    readonly location: string,
  ) {
    this.fd = openSync(path, 'w');
  }
  write(bytes: Uint8Array): number {
    const at = this.offset;
    for (let done = 0; done < bytes.length; ) done += writeSync(this.fd, bytes, done, bytes.length - done);
    this.offset += bytes.length;
    return at;
  }
  close(): void {
    closeSync(this.fd);
  }
}

/** One graph (the main one or an If branch): nodes, initializers, inputs, outputs. */
class Graph {
  readonly nodes = new Writer();
  readonly inits = new Writer();
  readonly io = new Writer();
  constructor(
    readonly b: Builder,
    readonly name: string,
  ) {}

  op(op: string, inputs: string[], attrs: Attr[] = [], outputs = 1, names?: string[], domain?: string): string[] {
    const outs = names ?? Array.from({ length: outputs }, () => this.b.fresh(op));
    this.nodes.message(1, (n) => {
      for (const i of inputs) n.string(1, i);
      for (const o of outs) n.string(2, o);
      n.string(3, this.b.fresh(op + '_node'));
      n.string(4, op);
      for (const a of attrs) n.message(5, a);
      if (domain) n.string(7, domain);
    });
    return outs;
  }

  one(op: string, inputs: string[], attrs: Attr[] = []): string {
    return this.op(op, inputs, attrs)[0]!;
  }

  tensor(name: string, elemType: number, dims: number[], raw: Uint8Array): string {
    const ext = this.b.external;
    this.inits.message(5, (t) => {
      for (const d of dims) t.varint(1, d);
      t.varint(2, elemType);
      t.string(8, name);
      if (ext && raw.length >= 1024) {
        const offset = ext.write(raw);
        for (const [k, v] of [['location', ext.location], ['offset', String(offset)], ['length', String(raw.length)]]) t.message(13, (e) => e.string(1, k!).string(2, v!));
        t.varint(14, 1);
      } else t.bytes(9, raw);
    });
    return name;
  }

  i64(values: number[], dims = [values.length]): string {
    return this.tensor(this.b.fresh('const'), T.INT64, dims, new Uint8Array(BigInt64Array.from(values, BigInt).buffer));
  }

  input(name: string, elemType: number, dims: Dim[]): void {
    this.io.message(11, valueInfo(name, elemType, dims));
  }

  output(name: string, elemType: number, dims: Dim[]): void {
    this.io.message(12, valueInfo(name, elemType, dims));
  }

  /** The GraphProto's bytes, in pieces (the initializers' payloads are not copied again). */
  pieces(): Uint8Array[] {
    return [...this.nodes.pieces(), new Writer().string(2, this.name).finish(), ...this.inits.pieces(), ...this.io.pieces()];
  }

  finish(): Uint8Array {
    const w = new Writer();
    for (const p of this.pieces()) w.raw(p);
    return w.finish();
  }
}

class Builder {
  private n = 0;
  constructor(readonly external: ExternalData | null) {}
  fresh(hint: string): string {
    return `${hint}_${++this.n}`;
  }
}

export interface BuildOptions {
  shape: Gpt2Shape;
  interface: Gpt2Interface;
  weights: Gpt2Weights;
  source: WeightSource;
  /** Write initializers ≥ 1 KiB to `<file>_data` beside the .onnx file. */
  externalData?: boolean;
  /**
   * 'decomposed' (default): MatMul, Softmax, MatMul, as torch exports GPT-2. 'fused': one
   * com.microsoft.MultiHeadAttention per layer (unidirectional, past_key/past_value in, present_key/
   * present_value out), as onnxruntime's transformer optimizer fuses it: the same function, with the
   * attention probabilities inside the operator ('with-past' only).
   */
  attention?: 'decomposed' | 'fused';
}

/**
 * Writes the ONNX file (and its `_data` file) to `path`. The model proto is assembled around
 * weights already written out, so a 6 GB model never sits in memory; a self-contained one does
 * (as protobuf's 2 GB limit allows).
 */
export function writeGpt2Onnx(path: string, o: BuildOptions): void {
  mkdirSync(dirname(path), { recursive: true });
  const ext = o.externalData ? new ExternalData(path + '_data', basename(path) + '_data') : null;
  try {
    const pieces = buildGpt2Model(o, ext);
    // Under a temporary name, renamed when complete: an interrupted build is never taken for a model.
    const tmp = `${path}.${process.pid}.tmp`;
    const fd = openSync(tmp, 'w');
    try {
      for (const piece of pieces) for (let done = 0; done < piece.length; ) done += writeSync(fd, piece, done, piece.length - done);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } finally {
    ext?.close();
  }
}

/** The ModelProto's bytes, in pieces. */
function buildGpt2Model(o: BuildOptions, ext: ExternalData | null): Uint8Array[] {
  const s = o.shape;
  const { layers: L, heads: H, width: C, vocab: V } = s;
  const D = C / H;
  if (!Number.isInteger(D)) throw new Error(`width ${C} is not a multiple of heads ${H}`);
  const merged = o.interface === 'merged';
  const opset = merged ? 13 : 14;
  const fused = o.attention === 'fused';
  if (fused && merged) throw new Error('a fused-attention graph is built with the with-past interface');
  const computeType = o.weights === 'fp16' || o.weights === 'fp16-io' ? T.FLOAT16 : T.FLOAT;
  const ioType = o.weights === 'fp16-io' ? T.FLOAT16 : T.FLOAT;
  const b = new Builder(ext);
  const main = new Graph(b, 'main_graph');

  // --- weights, in the main graph (shared by both branches of a merged decoder) ---
  const dims = new Map(weightDims(s));
  const weight = (name: string): string => {
    const data = o.source(name, dims.get(name)!);
    if (computeType === T.FLOAT16) return main.tensor(name, T.FLOAT16, dims.get(name)!, new Uint8Array(halves(data).buffer));
    return main.tensor(name, T.FLOAT, dims.get(name)!, new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  };
  const W = new Map<string, string>();
  /** int8 weights: name → [quantized, scale, zero point]. */
  const Q = new Map<string, [string, string, string]>();
  for (const [name, d] of dims) {
    const isMatrix = d.length === 2 && name !== 'wpe';
    if (o.weights === 'int8' && isMatrix) {
      const data = o.source(name, d);
      const [K, N] = d as [number, number];
      const { q, scale } = quantizeColumns(data, K, N);
      Q.set(name, [
        main.tensor(name + '_quantized', T.INT8, d, new Uint8Array(q.buffer)),
        main.tensor(name + '_scale', T.FLOAT, [N], new Uint8Array(scale.buffer)),
        main.tensor(name + '_zero_point', T.INT8, [N], new Uint8Array(N)),
      ]);
      // The embedding Gather reads the float weight; the head MatMul the int8 copy.
      if (name === 'wte_transposed') W.set(name, main.tensor(name, T.FLOAT, d, new Uint8Array(data.buffer, data.byteOffset, data.byteLength)));
    } else W.set(name, weight(name));
  }
  const scalar = (v: number): string =>
    computeType === T.FLOAT16 ? main.tensor(b.fresh('c'), T.FLOAT16, [], new Uint8Array(Uint16Array.of(toHalf(v)).buffer)) : main.tensor(b.fresh('c'), T.FLOAT, [], new Uint8Array(Float32Array.of(v).buffer));

  // --- interface (Optimum's symbolic dim names) ---
  const total = merged ? 'past_sequence_length + 1' : 'past_sequence_length + sequence_length';
  main.input('input_ids', T.INT64, ['batch_size', 'sequence_length']);
  main.input('attention_mask', T.INT64, ['batch_size', total]);
  if (!merged) main.input('position_ids', T.INT64, ['batch_size', 'sequence_length']);
  for (let i = 0; i < L; i++) for (const kv of ['key', 'value']) main.input(`past_key_values.${i}.${kv}`, ioType, ['batch_size', H, 'past_sequence_length', D]);
  if (merged) main.input('use_cache_branch', T.BOOL, [1]);
  main.output('logits', ioType, ['batch_size', 'sequence_length', V]);
  for (let i = 0; i < L; i++) for (const kv of ['key', 'value']) main.output(`present.${i}.${kv}`, ioType, ['batch_size', H, total, D]);

  // keep_io_types: Casts after float inputs, before float outputs.
  const past = (i: number, kv: string) => `past_key_values.${i}.${kv}`;
  const pastIn = new Map<string, string>();
  for (let i = 0; i < L; i++)
    for (const kv of ['key', 'value']) pastIn.set(past(i, kv), ioType === computeType ? past(i, kv) : main.one('Cast', [past(i, kv)], [attrInt('to', computeType)]));
  const outName = (name: string) => (ioType === computeType ? name : `${name}_compute`);
  const outputs = ['logits', ...Array.from({ length: L }, (_, i) => [`present.${i}.key`, `present.${i}.value`]).flat()];

  /** The decoder over the new tokens, with or without the cache, into graph g. */
  const decoder = (g: Graph, withPast: boolean, names: string[]) => {
    const one = (op: string, inputs: string[], attrs: Attr[] = []) => g.one(op, inputs, attrs);
    const c = (values: number[], d?: number[]) => g.i64(values, d);
    const matmul = (x: string, name: string): string => {
      const q = Q.get(name);
      if (!q) return one('MatMul', [x, W.get(name)!]);
      const [xq, xScale, xZero] = g.op('DynamicQuantizeLinear', [x], [], 3);
      const y = one('MatMulInteger', [xq!, q[0], xZero!, q[2]]); // int32
      return one('Mul', [one('Cast', [y], [attrInt('to', T.FLOAT)]), one('Mul', [xScale!, q[1]])]);
    };
    const linear = (x: string, prefix: string) => one('Add', [matmul(x, prefix + '.weight'), W.get(prefix + '.bias')!]);
    const layerNorm = (x: string, prefix: string) => {
      // LayerNormalization is opset 17; torch's opset 13/14 exports spell it out like this (ORT fuses it back).
      const mean = one('ReduceMean', [x], [attrInts('axes', [-1])]);
      const d = one('Sub', [x, mean]);
      const variance = one('ReduceMean', [one('Pow', [d, scalar(2)])], [attrInts('axes', [-1])]);
      const norm = one('Div', [d, one('Sqrt', [one('Add', [variance, scalar(s.eps)])])]);
      return one('Add', [one('Mul', [norm, W.get(prefix + '.weight')!]), W.get(prefix + '.bias')!]);
    };
    const gelu = (x: string) => {
      const x3 = one('Pow', [x, scalar(3)]);
      const inner = one('Mul', [one('Add', [x, one('Mul', [x3, scalar(0.044715)])]), scalar(Math.sqrt(2 / Math.PI))]);
      return one('Mul', [one('Mul', [x, scalar(0.5)]), one('Add', [one('Tanh', [inner]), scalar(1)])]);
    };

    const Tn = one('Gather', [one('Shape', ['input_ids']), c([1], [])], [attrInt('axis', 0)]); // T
    const Sn = one('Gather', [one('Shape', ['attention_mask']), c([1], [])], [attrInt('axis', 0)]); // S = P + T
    const Pn = one('Sub', [Sn, Tn]); // P
    const zero = c([0], []);
    const oneC = c([1], []);
    // Attention permission [B,1,T,S]: key j is visible to new token t when j ≤ P + t and mask[b,j] = 1.
    const rows = one('Unsqueeze', [one('Add', [one('Range', [zero, Tn, oneC]), Pn]), c([1])]); // [T,1]
    const cols = one('Unsqueeze', [one('Range', [zero, Sn, oneC]), c([0])]); // [1,S]
    const causal = one('LessOrEqual', [cols, rows]); // [T,S]
    const padding = one('Unsqueeze', [one('Cast', ['attention_mask'], [attrInt('to', T.BOOL)]), c([1, 2])]); // [B,1,1,S]
    const allowed = one('And', [causal, padding]); // [B,1,T,S]
    const masked = scalar(computeType === T.FLOAT16 ? -65504 : -3.4028234663852886e38);

    // Positions: the position_ids input, or (no position_ids) numbered from the cache length:
    // P, ..., P + T − 1, the same for every row, as HF's GPT-2 does without position_ids.
    let positions: string;
    if (!merged) positions = 'position_ids'; // [B,T]
    else {
      const Pk = withPast ? one('Gather', [one('Shape', [pastIn.get(past(0, 'key'))!]), c([2], [])], [attrInt('axis', 0)]) : zero;
      positions = one('Unsqueeze', [one('Range', [Pk, one('Add', [Pk, Tn]), oneC]), c([0])]); // [1,T]
    }
    const tok = one('Transpose', [one('Gather', [W.get('wte_transposed')!, 'input_ids'], [attrInt('axis', 1)])], [attrInts('perm', [1, 2, 0])]); // [B,T,C]
    let x = one('Add', [tok, one('Gather', [W.get('wpe')!, positions], [attrInt('axis', 0)])]); // [B,T,C]
    const headsShape = c([0, 0, H, D]);
    const mergedShape = c([0, 0, C]);
    const attnScale = scalar(1 / Math.sqrt(D));
    for (let i = 0; i < L; i++) {
      const p = `h.${i}.`;
      const qkv = linear(layerNorm(x, p + 'ln_1'), p + 'attn.c_attn'); // [B,T,3C]
      if (fused) {
        // MultiHeadAttention takes q, k, v as [B,T,C] and the cache as [B,H,P,D]; the mask as int32 [B,S].
        const [qIn, kIn, vIn] = g.op('Split', [qkv, c([C, C, C])], [attrInt('axis', 2)], 3);
        const keyMask = one('Cast', ['attention_mask'], [attrInt('to', T.INT32)]);
        const [y] = g.op(
          'MultiHeadAttention',
          [qIn!, kIn!, vIn!, '', keyMask, '', pastIn.get(past(i, 'key'))!, pastIn.get(past(i, 'value'))!],
          [attrInt('num_heads', H), attrInt('unidirectional', 1)],
          3,
          [b.fresh('attention'), names[1 + 2 * i]!, names[2 + 2 * i]!],
          'com.microsoft',
        );
        x = one('Add', [x, linear(y!, p + 'attn.c_proj')]);
        x = one('Add', [x, linear(gelu(linear(layerNorm(x, p + 'ln_2'), p + 'mlp.c_fc')), p + 'mlp.c_proj')]);
        continue;
      }
      const [q, k, v] = g.op('Split', [qkv, c([C, C, C])], [attrInt('axis', 2)], 3).map((t) => one('Transpose', [one('Reshape', [t, headsShape])], [attrInts('perm', [0, 2, 1, 3])])); // [B,H,T,D]
      const kAll = withPast ? one('Concat', [pastIn.get(past(i, 'key'))!, k!], [attrInt('axis', 2)]) : k!; // [B,H,S,D]
      const vAll = withPast ? one('Concat', [pastIn.get(past(i, 'value'))!, v!], [attrInt('axis', 2)]) : v!;
      g.op('Identity', [kAll], [], 1, [names[1 + 2 * i]!]);
      g.op('Identity', [vAll], [], 1, [names[2 + 2 * i]!]);
      const att = one('Mul', [one('MatMul', [q!, one('Transpose', [kAll], [attrInts('perm', [0, 1, 3, 2])])]), attnScale]); // [B,H,T,S]
      const probs = one('Softmax', [one('Where', [allowed, att, masked])], [attrInt('axis', -1)]);
      const y = one('Reshape', [one('Transpose', [one('MatMul', [probs, vAll])], [attrInts('perm', [0, 2, 1, 3])]), mergedShape]); // [B,T,C]
      x = one('Add', [x, linear(y, p + 'attn.c_proj')]);
      x = one('Add', [x, linear(gelu(linear(layerNorm(x, p + 'ln_2'), p + 'mlp.c_fc')), p + 'mlp.c_proj')]);
    }
    const h = layerNorm(x, 'ln_f');
    g.op('Identity', [Q.has('wte_transposed') ? matmul(h, 'wte_transposed') : one('MatMul', [h, W.get('wte_transposed')!])], [], 1, [names[0]!]); // [B,T,V]
  };

  const computed = outputs.map(outName);
  if (merged) {
    // Each branch computes into its own names; the If's outputs carry the shared ones.
    const branch = (withPast: boolean) => {
      const g = new Graph(b, withPast ? 'decoder_with_past' : 'decoder_without_past');
      const names = outputs.map((n) => b.fresh(`${n}_${withPast ? 'past' : 'nopast'}`));
      decoder(g, withPast, names);
      outputs.forEach((n, j) => g.output(names[j]!, computeType, j === 0 ? ['batch_size', 'sequence_length', V] : ['batch_size', H, total, D]));
      return g.finish();
    };
    main.op('If', ['use_cache_branch'], [attrGraph('else_branch', branch(false)), attrGraph('then_branch', branch(true))], 0, computed);
  } else decoder(main, true, computed);
  if (ioType !== computeType) outputs.forEach((n, j) => main.op('Cast', [computed[j]!], [attrInt('to', ioType)], 1, [n]));

  const graph = main.pieces();
  const head = new Writer();
  head.varint(1, 8); // ir_version 8
  head.string(2, 'likely-gpt2-builder');
  // Field 7 (the graph): tag and length, then its pieces as they are.
  const graphBytes = graph.reduce((n, p) => n + p.length, 0);
  head.raw(Uint8Array.of((7 << 3) | 2)).raw(new Writer().varint(1, graphBytes).finish().subarray(1));
  const tail = new Writer().message(8, (op) => op.string(1, '').varint(2, opset));
  if (fused) tail.message(8, (op) => op.string(1, 'com.microsoft').varint(2, 1));
  return [head.finish(), ...graph, tail.finish()];
}

/**
 * The float32 weights of an ONNX GPT-2 written by models/training/onnx_graph.py (the embedded
 * model), by initializer name: so every interface can be built from the embedded model's weights
 * and must then score exactly like it.
 */
export function weightsOf(onnxPath: string): WeightSource {
  const model = readFileSync(onnxPath);
  const found = new Map<string, Float32Array>();
  for (const f of fields(model)) {
    if (f.number !== 7 || f.wire !== Wire.Bytes) continue;
    for (const g of fields(model, f.valueStart, f.valueEnd)) {
      if (g.number !== 5 || g.wire !== Wire.Bytes) continue;
      let name = '';
      let type = 0;
      let raw: Uint8Array | null = null;
      for (const t of fields(model, g.valueStart, g.valueEnd)) {
        if (t.number === 8) name = text(model, t);
        if (t.number === 2 && t.wire === Wire.Varint) type = Number(t.varint);
        if (t.number === 9) raw = model.subarray(t.valueStart, t.valueEnd);
      }
      if (type === T.FLOAT && raw) found.set(name, new Float32Array(new Uint8Array(raw).buffer));
    }
  }
  return (name, dims) => {
    const w = found.get(name);
    const n = dims.reduce((a, b) => a * b, 1);
    if (!w || w.length !== n) throw new Error(`${onnxPath} has no float32 weight ${name} of ${dims.join('×')} (not written by models/training/onnx_graph.py?)`);
    return w;
  };
}

/** Normal(0, 0.02) weights (LayerNorm gains 1, biases 0), deterministic per name: GPT-2's cost, no meaning. */
export function randomWeights(seed = 0): WeightSource {
  return (name, dims) => {
    const n = dims.reduce((a, b) => a * b, 1);
    const out = new Float32Array(n);
    if (/ln_(1|2|f)\.weight$/.test(name)) return out.fill(1);
    if (/ln_(1|2|f)\.bias$/.test(name)) return out;
    let state = seed ^ [...name].reduce((h, ch) => Math.imul(h ^ ch.charCodeAt(0), 16777619), 2166136261);
    const uniform = () => {
      state = (state + 0x6d2b79f5) | 0;
      let t = Math.imul(state ^ (state >>> 15), 1 | state);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return (((t ^ (t >>> 14)) >>> 0) + 0.5) / 4294967296;
    };
    for (let i = 0; i < n; i += 2) {
      // Box–Muller: two normals per pair of uniforms.
      const r = 0.02 * Math.sqrt(-2 * Math.log(uniform()));
      const a = 2 * Math.PI * uniform();
      out[i] = r * Math.cos(a);
      if (i + 1 < n) out[i + 1] = r * Math.sin(a);
    }
    return out;
  };
}
