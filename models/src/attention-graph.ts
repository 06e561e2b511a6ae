/**
 * The attention graph: a GPT-2 ONNX graph patched to output every layer's attention probabilities, the
 * second patched graph next to the scoring head (scoring-head.ts), opened only for attention requests
 * (attention.ts). Environment-neutral: the Node build streams the patched file to disk (onnx-patch.ts),
 * the browser patches the bytes in memory (`withAttentionOutputs`).
 *
 * Found by structure, not by names (every export of GPT-2 names its nodes differently): layer l's
 * probabilities are the Softmax output that reaches, through Identity / Cast / Dropout only, input A of
 * a MatMul whose input B is layer l's values, i.e. the tensor the graph outputs as present.{l}.value
 * (again through Identity / Cast only; into an If's branches for Optimum's merged decoder). Where the
 * values cannot be traced but the graph holds exactly one Softmax→MatMul per layer, they are taken in
 * node order (ONNX orders nodes topologically). A fused attention operator (com.microsoft Attention,
 * MultiHeadAttention, GroupQueryAttention, …) keeps the probabilities inside: no attention graph.
 *
 * New outputs: likely_attention_{l} [B,H,T,S] float32 (a Cast, so fp16 graphs give float32 too): the
 * attention of each of the T new tokens over all S = P + T keys of the cache and the new tokens.
 * For a merged decoder each If branch gets the Casts and outputs, and the If node the outputs.
 */
import { concatBytes } from '../../common/bytes.ts';
import type { FieldRange, OnnxGraph, OnnxNode } from './onnx-graph.ts';
import { Writer } from './protobuf.ts';
import type { Session } from './session.ts';

export const attentionOutput = (layer: number) => `likely_attention_${layer}`;

/** Opens a model's attention graph in a session, or says in one line why its graph cannot show attention. */
export type AttentionGraphOpener = () => Promise<Session | { unavailable: string }>;

/** com.microsoft operators that compute attention in one node, never exposing its probabilities. */
const FUSED_ATTENTION = new Set([
  'Attention',
  'MultiHeadAttention',
  'GroupQueryAttention',
  'PackedAttention',
  'PackedMultiHeadAttention',
  'DecoderAttention',
  'DecoderMaskedMultiHeadAttention',
  'DecoderMaskedSelfAttention',
  'QAttention',
  'SparseAttention',
  'LongformerAttention',
]);
/** Operators a tensor passes through unchanged in value (Dropout is the identity at inference). */
const PASS_THROUGH = new Set(['Identity', 'Cast', 'Dropout']);

const FLOAT = 1;

/** A part of the patched file: a byte range of the original, or new bytes. */
export type LayoutPart = { from: number; to: number } | Uint8Array;

/** Bytes to insert at `at` of the original file, inside the length-delimited fields `within` (outermost first). */
export interface Insertion {
  at: number;
  bytes: Uint8Array;
  within: FieldRange[];
}

/**
 * The patched file as parts: each insertion at its place, and the length of every field around one
 * rewritten. Fields merge in protobuf, so appending nodes, outputs and output names to a message
 * extends its repeated fields without re-encoding anything else (the weights are copied as they are).
 */
export function insertionLayout(size: number, insertions: readonly Insertion[]): LayoutPart[] {
  const grown = new Map<number, { field: FieldRange; extra: number }>();
  for (const ins of insertions) {
    for (const field of ins.within) {
      const g = grown.get(field.lengthStart) ?? { field, extra: 0 };
      g.extra += ins.bytes.length;
      grown.set(field.lengthStart, g);
    }
  }
  const edits: { from: number; to: number; bytes: Uint8Array; depth: number }[] = [];
  for (const { field, extra } of grown.values()) edits.push({ from: field.lengthStart, to: field.start, bytes: varint(field.end - field.start + extra), depth: 0 });
  for (const ins of insertions) edits.push({ from: ins.at, to: ins.at, bytes: ins.bytes, depth: ins.within.length });
  // At one place the innermost message's bytes come first: they end inside the fields that close after them.
  edits.sort((a, b) => a.from - b.from || b.depth - a.depth);
  const parts: LayoutPart[] = [];
  let cursor = 0;
  for (const e of edits) {
    if (e.from > cursor) parts.push({ from: cursor, to: e.from });
    parts.push(e.bytes);
    cursor = e.to;
  }
  if (cursor < size) parts.push({ from: cursor, to: size });
  return parts;
}

/** Applies a layout to bytes in memory (the browser's path). */
export function applyLayout(model: Uint8Array, layout: readonly LayoutPart[]): Uint8Array {
  return concatBytes(layout.map((p) => (p instanceof Uint8Array ? p : model.subarray(p.from, p.to))));
}

function varint(value: number): Uint8Array {
  return new Writer().varint(1, value).finish().subarray(1);
}

/** Where each layer's attention probabilities are in one graph, or why they are not found. */
type Found = { probs: string[] } | { unavailable: string };

interface GraphIndex {
  producer: Map<string, OnnxNode>;
}

function index(g: OnnxGraph): GraphIndex {
  const producer = new Map<string, OnnxNode>();
  for (const n of g.nodes) for (const o of n.outputs) producer.set(o, n);
  return { producer };
}

/** `name` and the tensors it copies back through Identity / Cast / Dropout, nearest first. */
function chainBack(ix: GraphIndex, name: string): string[] {
  const out = [name];
  for (let n = ix.producer.get(name); n && PASS_THROUGH.has(n.op) && n.domain === '' && n.outputs[0] === out.at(-1); n = ix.producer.get(out.at(-1)!)) {
    if (out.includes(n.inputs[0]!)) break;
    out.push(n.inputs[0]!);
  }
  return out;
}

/** Each value MatMul (A through pass-through ops from a Softmax) in node order: its probabilities and its B input's chain. */
function valueMatMuls(g: OnnxGraph, ix: GraphIndex): { probs: string; values: string[] }[] {
  const out: { probs: string; values: string[] }[] = [];
  for (const n of g.nodes) {
    if (n.op !== 'MatMul' || n.domain !== '' || n.inputs.length < 2) continue;
    const probs = chainBack(ix, n.inputs[0]!).find((t) => ix.producer.get(t)?.op === 'Softmax');
    if (probs) out.push({ probs, values: chainBack(ix, n.inputs[1]!) });
  }
  return out;
}

/**
 * The attention probabilities of each layer in graph g, given each layer's value tensors in g (the
 * names present.{l}.value copies, or null where they are not known), found by the value MatMul's
 * input B; failing that, the value MatMuls in node order when there is one per layer.
 */
function findInGraph(g: OnnxGraph, values: (Set<string> | null)[]): Found {
  const ix = index(g);
  const matmuls = valueMatMuls(g, ix);
  const layers = values.length;
  const probs = values.map((v) => (v ? matmuls.find((m) => m.values.some((t) => v.has(t)))?.probs : undefined));
  if (probs.every((p) => p !== undefined)) return { probs: probs as string[] };
  if (matmuls.length === layers) return { probs: matmuls.map((m) => m.probs) };
  if (matmuls.length === 0) return { unavailable: 'the graph has no Softmax that feeds a MatMul with the values, so its attention weights cannot be found' };
  return { unavailable: `the graph has ${matmuls.length} Softmax→MatMul attention patterns for ${layers} layers, which cannot be matched to the layers` };
}

function fusedAttention(g: OnnxGraph): OnnxNode | undefined {
  for (const n of g.nodes) {
    if (n.domain === 'com.microsoft' && FUSED_ATTENTION.has(n.op)) return n;
    for (const s of n.subgraphs) {
      const inner = fusedAttention(s.graph);
      if (inner) return inner;
    }
  }
  return undefined;
}

/** The insertions that make the attention graph, or why this graph cannot show attention (one line). */
export type AttentionPlan = { insertions: Insertion[] } | { unavailable: string };

/** Plans the attention graph of a GPT-2 decoder from its main graph's structure (readOnnxGraph) and the config's shape. */
export function planAttentionGraph(graph: OnnxGraph, layers: number, heads: number): AttentionPlan {
  const fused = fusedAttention(graph);
  if (fused) return { unavailable: `the graph computes attention in one fused ${fused.domain}.${fused.op} operator, which keeps the attention weights inside` };
  const ix = index(graph);
  const names = Array.from({ length: layers }, (_, l) => attentionOutput(l));
  const outputs = new Writer();
  for (const name of names) outputs.raw(outputValueInfo(name, ['batch_size', heads, 'sequence_length', 'total_sequence_length']));

  // The main graph's own value tensors, and where they come out of an If (Optimum's merged decoder).
  const valueChains = Array.from({ length: layers }, (_, l) => chainBack(ix, `present.${l}.value`));
  const ifs = new Map<OnnxNode, number[]>();
  valueChains.forEach((chain, l) => {
    const n = ix.producer.get(chain.at(-1)!);
    if (n?.op === 'If') ifs.set(n, [...(ifs.get(n) ?? []), l]);
  });
  const decoderIf = [...ifs.keys()].find((n) => ifs.get(n)!.length === layers);
  if (!decoderIf) {
    const found = findInGraph(graph, valueChains.map((c) => new Set(c)));
    if ('unavailable' in found) return found;
    return { insertions: [{ at: graph.at.end, bytes: concatBytes([castNodes(found.probs, names, 'main'), outputs.finish()]), within: [graph.at] }] };
  }
  // Each branch gets Casts to its own names and those as outputs; the If gets outputs that carry them.
  const insertions: Insertion[] = [];
  const ifOutputs = new Writer();
  for (const name of names) ifOutputs.string(2, name);
  insertions.push({ at: decoderIf.at.end, bytes: ifOutputs.finish(), within: [graph.at, decoderIf.at] });
  for (const branch of decoderIf.subgraphs) {
    const bix = index(branch.graph);
    const values = Array.from({ length: layers }, (_, l) => {
      const out = branch.graph.outputs[decoderIf.outputs.indexOf(valueChains[l]!.at(-1)!)];
      return out === undefined ? null : new Set(chainBack(bix, out));
    });
    const found = findInGraph(branch.graph, values);
    if ('unavailable' in found) return { unavailable: `${found.unavailable}, in the merged decoder's ${branch.attribute}` };
    const branchNames = names.map((n) => `${n}_${branch.attribute}`);
    const bytes = new Writer().raw(castNodes(found.probs, branchNames, branch.attribute));
    for (const name of branchNames) bytes.raw(outputValueInfo(name, ['batch_size', heads, 'sequence_length', 'total_sequence_length']));
    insertions.push({ at: branch.graph.at.end, bytes: bytes.finish(), within: [graph.at, decoderIf.at, branch.attributeAt, branch.graph.at] });
  }
  insertions.push({ at: graph.at.end, bytes: outputs.finish(), within: [graph.at] });
  return { insertions };
}

/** GraphProto node fields: Cast(to float32) of each probability tensor into its output name. */
function castNodes(probs: string[], names: string[], where: string): Uint8Array {
  const w = new Writer();
  probs.forEach((p, l) =>
    w.message(1, (n) => {
      n.string(1, p).string(2, names[l]!).string(3, `likely_attention_cast_${where}_${l}`).string(4, 'Cast');
      n.message(5, (a) => a.string(1, 'to').varint(3, FLOAT).varint(20, 2));
    }),
  );
  return w.finish();
}

/** A GraphProto output field (12): a float32 tensor of these dims. */
function outputValueInfo(name: string, dims: (string | number)[]): Uint8Array {
  return new Writer()
    .message(12, (v) => {
      v.string(1, name);
      v.message(2, (type) =>
        type.message(1, (tensor) => {
          tensor.varint(1, FLOAT);
          tensor.message(2, (shape) => {
            for (const d of dims) shape.message(1, (dim) => (typeof d === 'number' ? dim.varint(1, d) : dim.string(2, d)));
          });
        }),
      );
    })
    .finish();
}

/** The model bytes with the attention outputs, in memory (the browser's path). */
export function withAttentionOutputs(model: Uint8Array, plan: { insertions: Insertion[] }): Uint8Array {
  return applyLayout(model, insertionLayout(model.length, plan.insertions));
}
