/**
 * The one reader of ONNX files: the engine (model-folder.ts, model-files.ts, scoring-head.ts), the
 * validator and `likely models inspect` all use it. Reads an ONNX file's interface (graph inputs and
 * outputs with dtypes and shapes, opsets, external-data files, where the graph sits in the file) by
 * walking its protobuf fields, skipping every payload it does not need: a 6 GB model on disk costs
 * a few hundred small reads, never its size in memory. Environment-neutral: it reads a `ByteSource`
 * (a file in onnx-file.ts, bytes in memory with `bytesSource`). No onnxruntime here.
 *
 * The fields used (onnx/onnx.proto):
 *   ModelProto      7 graph (GraphProto), 8 opset_import (OperatorSetIdProto: 1 domain, 2 version)
 *   GraphProto      5 initializer (TensorProto), 11 input, 12 output (ValueInfoProto)
 *   ValueInfoProto  1 name, 2 type (TypeProto: 1 tensor_type → 1 elem_type, 2 shape → 1 dim: 1 dim_value | 2 dim_param)
 *   TensorProto     1 dims, 8 name, 13 external_data (StringStringEntryProto: 1 key, 2 value), 14 data_location (1 = EXTERNAL)
 * and for the graph's structure (`readOnnxGraph`, what the attention graph is found in):
 *   GraphProto      1 node (NodeProto)
 *   NodeProto       1 input, 2 output, 3 name, 4 op_type, 5 attribute (AttributeProto), 7 domain
 *   AttributeProto  1 name, 6 g (GraphProto), 11 graphs (repeated GraphProto): an If's branches, a Loop's body
 */

export interface ValueInfo {
  name: string;
  /** TensorProto.DataType: 1 float, 7 int64, 9 bool, 10 float16; 0 when not a tensor. */
  elemType: number;
  /** Each dimension: its size, its symbolic name (e.g. "past_sequence_length"), or null when unnamed. */
  dims: (number | string | null)[];
}

/** TensorProto.DataType names of the types GPT-2 files use. */
export const DTYPE_NAMES: Record<number, string> = { 1: 'float32', 2: 'uint8', 3: 'int8', 6: 'int32', 7: 'int64', 9: 'bool', 10: 'float16', 11: 'float64' };

export interface OnnxInterface {
  inputs: ValueInfo[];
  outputs: ValueInfo[];
  /** domain ("" for the default ai.onnx set) → version. */
  opsets: Record<string, number>;
  /** Files named by initializers stored as external data (e.g. "model.onnx_data"), relative to the .onnx file. */
  externalData: string[];
  /**
   * Rows of the position-embedding table (GPT-2's `wpe`, an initializer named `wpe` or `….wpe.weight`):
   * the most positions the graph can run. null when the graph names no such table.
   */
  positions: number | null;
  /** ModelProto field 7 (the graph) in the file: where its tag starts, and its payload [start, end). */
  graph: { tagStart: number; start: number; end: number };
  /** File size in bytes. */
  size: number;
}

export class OnnxFormatError extends Error {}

const BYTES = 2;
const VARINT = 0;
const FIXED64 = 1;
const FIXED32 = 5;
/** Largest field payload read into memory (ValueInfo, opset, external-data entries are tiny). */
const MAX_SMALL_FIELD = 1 << 20;

interface FieldHeader {
  /** Where the field's tag starts. */
  tagStart: number;
  /** Where the value starts after the tag: a length-delimited field's length. */
  valueStart: number;
  number: number;
  wire: number;
  /** Bytes payload range, or the varint's value for VARINT fields. */
  start: number;
  end: number;
  value: number;
}

/** Positioned reads of an ONNX file's bytes, wherever they are. */
export interface ByteSource {
  readonly size: number;
  /** Reads up to `into.length` bytes at `pos`; returns how many were read. */
  read(into: Uint8Array, pos: number): Promise<number>;
}

/** A ByteSource over bytes already in memory (the browser's model files). */
export function bytesSource(bytes: Uint8Array): ByteSource {
  return {
    size: bytes.length,
    read: async (into, pos) => {
      const chunk = bytes.subarray(pos, pos + into.length);
      into.set(chunk);
      return chunk.length;
    },
  };
}

const utf8 = new TextDecoder();
const text = (bytes: Uint8Array) => utf8.decode(bytes);

/** A positioned reader over a ByteSource with a sliding buffer. */
class FileReader {
  private buf = new Uint8Array(64 * 1024);
  private bufStart = 0;
  private bufLen = 0;

  constructor(
    private readonly source: ByteSource,
    readonly size: number,
  ) {}

  private async fill(pos: number): Promise<void> {
    this.bufLen = await this.source.read(this.buf, pos);
    this.bufStart = pos;
  }

  async byte(pos: number): Promise<number> {
    if (pos >= this.size) throw new OnnxFormatError('the file is truncated');
    if (pos < this.bufStart || pos >= this.bufStart + this.bufLen) await this.fill(pos);
    return this.buf[pos - this.bufStart]!;
  }

  async varint(pos: number): Promise<[number, number]> {
    let value = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      const b = await this.byte(pos++);
      value += (b & 0x7f) * scale;
      if (b < 0x80) return [value, pos];
      scale *= 128;
    }
    throw new OnnxFormatError('malformed protobuf varint');
  }

  async bytes(start: number, end: number): Promise<Uint8Array> {
    if (end - start > MAX_SMALL_FIELD) throw new OnnxFormatError(`unexpectedly large field (${end - start} bytes)`);
    const out = new Uint8Array(end - start);
    const bytesRead = await this.source.read(out, start);
    if (bytesRead !== out.length) throw new OnnxFormatError('the file is truncated');
    return out;
  }

  /** Headers of the fields in [start, end), payloads skipped. */
  async *fields(start: number, end: number): AsyncGenerator<FieldHeader> {
    let pos = start;
    while (pos < end) {
      const [tag, p] = await this.varint(pos);
      const number = Math.floor(tag / 8);
      const wire = tag % 8;
      if (number === 0) throw new OnnxFormatError('corrupt protobuf (field number 0)');
      let header: FieldHeader;
      if (wire === VARINT) {
        const [value, next] = await this.varint(p);
        header = { tagStart: pos, valueStart: p, number, wire, start: p, end: next, value };
      } else if (wire === BYTES) {
        const [len, payload] = await this.varint(p);
        header = { tagStart: pos, valueStart: p, number, wire, start: payload, end: payload + len, value: len };
      } else if (wire === FIXED64 || wire === FIXED32) {
        const len = wire === FIXED64 ? 8 : 4;
        header = { tagStart: pos, valueStart: p, number, wire, start: p, end: p + len, value: 0 };
      } else {
        throw new OnnxFormatError(`corrupt protobuf (wire type ${wire})`);
      }
      if (header.end > end) throw new OnnxFormatError(header.end > this.size ? 'the file is truncated' : 'corrupt protobuf (field overruns its message)');
      yield header;
      pos = header.end;
    }
  }
}

/** Decodes the fields of a small in-memory message. */
function* memFields(buf: Uint8Array): Generator<{ number: number; wire: number; value: number; payload: Uint8Array }> {
  let pos = 0;
  const varint = (): number => {
    let value = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      if (pos >= buf.length) throw new OnnxFormatError('corrupt protobuf (truncated varint)');
      const b = buf[pos++]!;
      value += (b & 0x7f) * scale;
      if (b < 0x80) return value;
      scale *= 128;
    }
    throw new OnnxFormatError('malformed protobuf varint');
  };
  while (pos < buf.length) {
    const tag = varint();
    const number = Math.floor(tag / 8);
    const wire = tag % 8;
    if (wire === VARINT) {
      yield { number, wire, value: varint(), payload: buf.subarray(0, 0) };
    } else if (wire === BYTES) {
      const len = varint();
      if (pos + len > buf.length) throw new OnnxFormatError('corrupt protobuf (field overruns its message)');
      yield { number, wire, value: len, payload: buf.subarray(pos, pos + len) };
      pos += len;
    } else if (wire === FIXED64 || wire === FIXED32) {
      pos += wire === FIXED64 ? 8 : 4;
    } else {
      throw new OnnxFormatError(`corrupt protobuf (wire type ${wire})`);
    }
  }
}

function parseValueInfo(buf: Uint8Array): ValueInfo {
  let name = '';
  let elemType = 0;
  const dims: ValueInfo['dims'] = [];
  for (const f of memFields(buf)) {
    if (f.number === 1 && f.wire === BYTES) name = text(f.payload);
    if (f.number === 2 && f.wire === BYTES) {
      for (const t of memFields(f.payload)) {
        if (t.number !== 1 || t.wire !== BYTES) continue;
        for (const e of memFields(t.payload)) {
          if (e.number === 1 && e.wire === VARINT) elemType = e.value;
          if (e.number !== 2 || e.wire !== BYTES) continue;
          for (const d of memFields(e.payload)) {
            if (d.number !== 1 || d.wire !== BYTES) continue;
            let dim: number | string | null = null;
            for (const v of memFields(d.payload)) {
              if (v.number === 1 && v.wire === VARINT) dim = v.value;
              if (v.number === 2 && v.wire === BYTES) dim = text(v.payload);
            }
            dims.push(dim);
          }
        }
      }
    }
  }
  return { name, elemType, dims };
}

/** GPT-2's position-embedding table, by the names exporters give it (HF's transformer.wpe.weight, ours wpe). */
const POSITION_TABLE = /(^|\.)wpe(\.weight)?$/;

async function readInitializer(r: FileReader, start: number, end: number): Promise<{ name: string; location: string | null; dims: number[] }> {
  let external = false;
  let location: string | null = null;
  let name = '';
  const dims: number[] = [];
  for await (const f of r.fields(start, end)) {
    if (f.number === 1 && f.wire === VARINT) dims.push(f.value);
    if (f.number === 1 && f.wire === BYTES) {
      // Packed dims: varints one after another.
      const packed = await r.bytes(f.start, f.end);
      for (let pos = 0; pos < packed.length; ) {
        let value = 0;
        let scale = 1;
        for (;;) {
          const b = packed[pos++]!;
          value += (b & 0x7f) * scale;
          scale *= 128;
          if (b < 0x80 || pos >= packed.length) break;
        }
        dims.push(value);
      }
    }
    if (f.number === 8 && f.wire === BYTES) name = text(await r.bytes(f.start, f.end));
    if (f.number === 14 && f.wire === VARINT && f.value === 1) external = true;
    if (f.number === 13 && f.wire === BYTES) {
      let key = '';
      let value = '';
      for (const e of memFields(await r.bytes(f.start, f.end))) {
        if (e.number === 1 && e.wire === BYTES) key = text(e.payload);
        if (e.number === 2 && e.wire === BYTES) value = text(e.payload);
      }
      if (key === 'location') location = value;
    }
  }
  return { name, location: external ? location : null, dims };
}

/** Reads the interface of an ONNX model; throws OnnxFormatError when it is not a readable ONNX model. */
export async function readOnnxInterfaceFrom(source: ByteSource): Promise<OnnxInterface> {
  const size = source.size;
  if (size === 0) throw new OnnxFormatError('the file is empty');
  const r = new FileReader(source, size);
  const out: OnnxInterface = { inputs: [], outputs: [], opsets: {}, externalData: [], positions: null, graph: { tagStart: 0, start: 0, end: 0 }, size };
  let sawGraph = false;
  const initializers = new Set<string>();
  for await (const f of r.fields(0, size)) {
    if (f.number === 8 && f.wire === BYTES) {
      let domain = '';
      let version = 0;
      for (const o of memFields(await r.bytes(f.start, f.end))) {
        if (o.number === 1 && o.wire === BYTES) domain = text(o.payload);
        if (o.number === 2 && o.wire === VARINT) version = o.value;
      }
      out.opsets[domain === 'ai.onnx' ? '' : domain] = version;
    }
    if (f.number !== 7 || f.wire !== BYTES) continue;
    sawGraph = true;
    out.graph = { tagStart: f.tagStart, start: f.start, end: f.end };
    for await (const g of r.fields(f.start, f.end)) {
      if (g.wire !== BYTES) continue;
      if (g.number === 11) out.inputs.push(parseValueInfo(await r.bytes(g.start, g.end)));
      else if (g.number === 12) out.outputs.push(parseValueInfo(await r.bytes(g.start, g.end)));
      else if (g.number === 5) {
        const init = await readInitializer(r, g.start, g.end);
        initializers.add(init.name);
        if (init.location !== null && !out.externalData.includes(init.location)) out.externalData.push(init.location);
        if (out.positions === null && init.dims.length === 2 && POSITION_TABLE.test(init.name)) out.positions = init.dims[0]!;
      }
    }
  }
  if (!sawGraph) throw new OnnxFormatError('not an ONNX model (no graph)');
  // Before IR version 4, weights were also listed as graph inputs; they are not inputs to feed.
  out.inputs = out.inputs.filter((i) => !initializers.has(i.name));
  return out;
}

/** Where a length-delimited field lies in the file: its length varint at [lengthStart, start), its payload [start, end). */
export interface FieldRange {
  lengthStart: number;
  start: number;
  end: number;
}

export interface OnnxNode {
  op: string;
  /** "" for the default ai.onnx set, e.g. "com.microsoft" for onnxruntime's contrib ops. */
  domain: string;
  name: string;
  inputs: string[];
  outputs: string[];
  at: FieldRange;
  /** Graph-valued attributes (an If's then_branch and else_branch, a Loop's body), with where each lies. */
  subgraphs: { attribute: string; attributeAt: FieldRange; graph: OnnxGraph }[];
}

/** A graph's structure: its nodes in order (ONNX orders them topologically), its inputs' and outputs' names. */
export interface OnnxGraph {
  at: FieldRange;
  nodes: OnnxNode[];
  inputs: string[];
  outputs: string[];
}

const range = (f: FieldHeader): FieldRange => ({ lengthStart: f.valueStart, start: f.start, end: f.end });

function valueInfoName(buf: Uint8Array): string {
  for (const f of memFields(buf)) if (f.number === 1 && f.wire === BYTES) return text(f.payload);
  return '';
}

async function readGraph(r: FileReader, at: FieldRange): Promise<OnnxGraph> {
  const g: OnnxGraph = { at, nodes: [], inputs: [], outputs: [] };
  for await (const f of r.fields(at.start, at.end)) {
    if (f.wire !== BYTES) continue;
    if (f.number === 1) g.nodes.push(await readNode(r, range(f)));
    else if (f.number === 11) g.inputs.push(valueInfoName(await r.bytes(f.start, f.end)));
    else if (f.number === 12) g.outputs.push(valueInfoName(await r.bytes(f.start, f.end)));
  }
  return g;
}

async function readNode(r: FileReader, at: FieldRange): Promise<OnnxNode> {
  const node: OnnxNode = { op: '', domain: '', name: '', inputs: [], outputs: [], at, subgraphs: [] };
  for await (const f of r.fields(at.start, at.end)) {
    if (f.wire !== BYTES) continue;
    if (f.number === 1) node.inputs.push(text(await r.bytes(f.start, f.end)));
    else if (f.number === 2) node.outputs.push(text(await r.bytes(f.start, f.end)));
    else if (f.number === 3) node.name = text(await r.bytes(f.start, f.end));
    else if (f.number === 4) node.op = text(await r.bytes(f.start, f.end));
    else if (f.number === 7) node.domain = text(await r.bytes(f.start, f.end));
    else if (f.number === 5) {
      // An attribute's payload is skipped (a Constant's tensor may be large) except its name and graphs.
      let attribute = '';
      const graphs: FieldRange[] = [];
      for await (const a of r.fields(f.start, f.end)) {
        if (a.wire !== BYTES) continue;
        if (a.number === 1) attribute = text(await r.bytes(a.start, a.end));
        else if (a.number === 6 || a.number === 11) graphs.push(range(a));
      }
      for (const g of graphs) node.subgraphs.push({ attribute, attributeAt: range(f), graph: await readGraph(r, g) });
    }
  }
  if (node.domain === 'ai.onnx') node.domain = '';
  return node;
}

/**
 * The main graph's structure with every subgraph's (node payloads are read, weights skipped): what
 * attention-graph.ts finds the attention probabilities in. A few reads per node.
 */
export async function readOnnxGraph(source: ByteSource): Promise<OnnxGraph> {
  const r = new FileReader(source, source.size);
  for await (const f of r.fields(0, source.size)) {
    if (f.number === 7 && f.wire === BYTES) return readGraph(r, range(f));
  }
  throw new OnnxFormatError('not an ONNX model (no graph)');
}
