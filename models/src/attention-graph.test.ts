/**
 * Finding the attention probabilities in a GPT-2 graph by structure (attention-graph.ts), and the
 * patch that makes them outputs: on the embedded model's graph, on Optimum's merged decoder (If
 * branches), and on hand-made graph structures for what exports in the wild do (a Cast between the
 * Softmax and the MatMul, values that cannot be traced, a fused operator, no Softmax at all).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { buildModelFolder } from '../synthetic/random-models.ts';
import { EMBEDDED_SHAPE } from '../testing/embedded.ts';
import { attentionOutput, planAttentionGraph, withAttentionOutputs } from './attention-graph.ts';
import { bytesSource, readOnnxGraph, readOnnxInterfaceFrom, type OnnxGraph, type OnnxNode } from './onnx-graph.ts';
import { EMBEDDED_MODEL_DIR } from './paths.ts';

const { layers, heads } = EMBEDDED_SHAPE;
const dir = mkdtempSync(join(tmpdir(), 'likely-attention-graph-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const names = Array.from({ length: layers }, (_, l) => attentionOutput(l));

describe('on real graphs', () => {
  test('the embedded model: one Softmax per layer found, outputs appended, the rest of the file unchanged', async () => {
    const bytes = new Uint8Array(readFileSync(join(EMBEDDED_MODEL_DIR, 'onnx', 'model.onnx')));
    const graph = await readOnnxGraph(bytesSource(bytes));
    assert.equal(graph.nodes.filter((n) => n.op === 'Softmax').length, layers);
    const plan = planAttentionGraph(graph, layers, heads);
    assert.ok('insertions' in plan, JSON.stringify(plan));
    const patched = withAttentionOutputs(bytes, plan);
    const info = await readOnnxInterfaceFrom(bytesSource(patched));
    const before = await readOnnxInterfaceFrom(bytesSource(bytes));
    assert.deepEqual(info.inputs, before.inputs);
    assert.deepEqual(info.outputs.map((o) => o.name), [...before.outputs.map((o) => o.name), ...names]);
    assert.deepEqual(info.outputs.at(-1)!.dims, ['batch_size', heads, 'sequence_length', 'total_sequence_length']);
    const after = await readOnnxGraph(bytesSource(patched));
    const casts = after.nodes.filter((n) => n.op === 'Cast' && names.includes(n.outputs[0]!));
    const softmaxes = graph.nodes.filter((n) => n.op === 'Softmax').map((n) => n.outputs[0]);
    assert.deepEqual(casts.map((n) => n.inputs[0]), softmaxes, 'layer l is the l-th Softmax (the embedded graph names nothing by layer)');
    const size = (g: OnnxGraph) => g.at.end - g.at.lengthStart; // its length varint and payload
    assert.equal(patched.length - bytes.length, size(after) - size(graph), 'only the graph grew');
    assert.deepEqual(patched.subarray(0, graph.at.lengthStart), bytes.subarray(0, graph.at.lengthStart));
    assert.deepEqual(patched.subarray(after.at.start, after.at.start + (graph.at.end - graph.at.start)), bytes.subarray(graph.at.start, graph.at.end), 'the graph as it was, then the new fields');
  });

  test("a merged decoder: each If branch gets the outputs, the If carries them out", async () => {
    const folder = buildModelFolder(join(dir, 'merged'), 'model.onnx', { interface: 'merged', weights: 'fp16', externalData: false });
    const bytes = new Uint8Array(readFileSync(join(folder, 'onnx', 'model.onnx')));
    const plan = planAttentionGraph(await readOnnxGraph(bytesSource(bytes)), layers, heads);
    assert.ok('insertions' in plan, JSON.stringify(plan));
    const patched = await readOnnxGraph(bytesSource(withAttentionOutputs(bytes, plan)));
    const decoder = patched.nodes.find((n) => n.op === 'If')!;
    assert.deepEqual(decoder.outputs.slice(-layers), names);
    assert.deepEqual(decoder.subgraphs.map((s) => s.attribute).sort(), ['else_branch', 'then_branch']);
    for (const branch of decoder.subgraphs) {
      assert.equal(branch.graph.outputs.length, decoder.outputs.length, `${branch.attribute}: one output per If output`);
      assert.deepEqual(branch.graph.outputs.slice(-layers), names.map((n) => `${n}_${branch.attribute}`));
    }
    assert.deepEqual(patched.outputs.slice(-layers), names);
  });
});

/** A graph structure by hand: nodes as [op, inputs, outputs, domain?]. */
function graph(nodes: [string, string[], string[], string?][], outputs: string[]): OnnxGraph {
  const at = { lengthStart: 0, start: 0, end: 0 };
  return { at, inputs: [], outputs, nodes: nodes.map(([op, inputs, outs, domain]): OnnxNode => ({ op, domain: domain ?? '', name: '', inputs, outputs: outs, at, subgraphs: [] })) };
}

/** Layer l of a torch export: scores, Softmax, an optional Cast, the value MatMul on present.{l}.value. */
function layer(l: number, opts: { cast?: boolean; values?: string } = {}): [string, string[], string[], string?][] {
  const v = opts.values ?? `present.${l}.value`;
  const nodes: [string, string[], string[], string?][] = [
    ['Concat', [`past_key_values.${l}.value`, `v${l}`], [`present.${l}.value`]],
    ['MatMul', [`q${l}`, `kT${l}`], [`scores${l}`]],
    ['Softmax', [`scores${l}`], [`probs${l}`]],
  ];
  if (opts.cast) nodes.push(['Cast', [`probs${l}`], [`probs_cast${l}`]]);
  nodes.push(['MatMul', [opts.cast ? `probs_cast${l}` : `probs${l}`, v], [`y${l}`]]);
  return nodes;
}

const presents = (n: number) => Array.from({ length: n }, (_, l) => [`present.${l}.key`, `present.${l}.value`]).flat();

describe('on graph structures of other exports', () => {
  test('layers by their values, whatever the node order; through a Cast (fp16 exports cast the probabilities)', () => {
    const nodes = [...layer(1, { cast: true }), ...layer(0), ...layer(2, { cast: true })];
    const plan = planAttentionGraph(graph(nodes, ['logits', ...presents(3)]), 3, 4);
    assert.ok('insertions' in plan);
    const text = new TextDecoder().decode(plan.insertions[0]!.bytes);
    // Each Cast node names its input, then its output: probs0 → likely_attention_0, …
    for (let l = 0; l < 3; l++) assert.match(text, new RegExp(`probs${l}[^]*${attentionOutput(l)}`));
    assert.ok(text.indexOf('probs0') < text.indexOf('probs1') && text.indexOf('probs1') < text.indexOf('probs2'), 'outputs in layer order, not node order');
  });

  test('values that cannot be traced: one Softmax→MatMul per layer is taken in node order; otherwise one line why not', () => {
    const untraced = [...layer(0, { values: 'v_copy0' }), ...layer(1, { values: 'v_copy1' })];
    assert.ok('insertions' in planAttentionGraph(graph(untraced, ['logits', ...presents(2)]), 2, 4));
    assert.deepEqual(planAttentionGraph(graph(untraced, ['logits', ...presents(3)]), 3, 4), {
      unavailable: 'the graph has 2 Softmax→MatMul attention patterns for 3 layers, which cannot be matched to the layers',
    });
    assert.deepEqual(planAttentionGraph(graph([['MatMul', ['a', 'b'], ['c']]], ['logits', ...presents(1)]), 1, 4), {
      unavailable: 'the graph has no Softmax that feeds a MatMul with the values, so its attention weights cannot be found',
    });
  });

  test('a fused attention operator anywhere, in a branch too, hides the weights', () => {
    for (const op of ['Attention', 'MultiHeadAttention', 'GroupQueryAttention']) {
      const fused = graph([...layer(0), [op, ['x'], ['y', 'present.1.key', 'present.1.value'], 'com.microsoft']], ['logits', ...presents(2)]);
      assert.deepEqual(planAttentionGraph(fused, 2, 4), { unavailable: `the graph computes attention in one fused com.microsoft.${op} operator, which keeps the attention weights inside` });
    }
    const inner = graph([['GroupQueryAttention', ['x'], ['y'], 'com.microsoft']], ['y']);
    const outer = graph([['If', ['cond'], ['logits']]], ['logits']);
    outer.nodes[0]!.subgraphs.push({ attribute: 'then_branch', attributeAt: outer.at, graph: inner });
    assert.match((planAttentionGraph(outer, 1, 4) as { unavailable: string }).unavailable, /fused com\.microsoft\.GroupQueryAttention/);
  });
});
