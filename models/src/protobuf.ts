/**
 * The few protobuf operations the engine needs on ONNX files: walk a message's fields without
 * decoding them, and write new fields. Protobuf merges repeated fields that are appended to a
 * message, which is how scoring nodes are added to a graph without re-encoding its weights.
 */

export const enum Wire {
  Varint = 0,
  Fixed64 = 1,
  Bytes = 2,
  Fixed32 = 5,
}

export interface Field {
  number: number;
  wire: Wire;
  /** Byte range of the whole field (tag included) in the message. */
  start: number;
  end: number;
  /** For Bytes fields: the payload range. For Varint: the value. */
  valueStart: number;
  valueEnd: number;
  varint: bigint;
}

function readVarint(buf: Uint8Array, pos: number): [bigint, number] {
  let result = 0n;
  let shift = 0n;
  for (;;) {
    if (pos >= buf.length) throw new Error('truncated protobuf varint');
    const b = buf[pos++]!;
    result |= BigInt(b & 0x7f) << shift;
    if (b < 0x80) return [result, pos];
    shift += 7n;
    if (shift > 63n) throw new Error('malformed protobuf varint');
  }
}

export function* fields(buf: Uint8Array, start = 0, end = buf.length): Generator<Field> {
  let pos = start;
  while (pos < end) {
    const fieldStart = pos;
    const [tag, p1] = readVarint(buf, pos);
    pos = p1;
    const number = Number(tag >> 3n);
    const wire = Number(tag & 7n) as Wire;
    let valueStart = pos;
    let valueEnd: number;
    let varint = 0n;
    if (wire === Wire.Varint) {
      [varint, pos] = readVarint(buf, pos);
      valueEnd = pos;
    } else if (wire === Wire.Bytes) {
      const [len, p2] = readVarint(buf, pos);
      valueStart = p2;
      valueEnd = p2 + Number(len);
      pos = valueEnd;
    } else if (wire === Wire.Fixed64) {
      pos += 8;
      valueEnd = pos;
    } else if (wire === Wire.Fixed32) {
      pos += 4;
      valueEnd = pos;
    } else {
      throw new Error(`unsupported protobuf wire type ${wire}`);
    }
    if (pos > end || number === 0) throw new Error('truncated or corrupt protobuf message');
    yield { number, wire, start: fieldStart, end: pos, valueStart, valueEnd, varint };
  }
}

export function text(buf: Uint8Array, f: Field): string {
  return new TextDecoder().decode(buf.subarray(f.valueStart, f.valueEnd));
}

/** Builds a protobuf message field by field. */
export class Writer {
  private chunks: Uint8Array[] = [];
  private length = 0;

  private push(bytes: Uint8Array): this {
    this.chunks.push(bytes);
    this.length += bytes.length;
    return this;
  }

  private varintBytes(value: bigint | number): Uint8Array {
    let v = BigInt.asUintN(64, BigInt(value));
    const out: number[] = [];
    while (v >= 0x80n) {
      out.push(Number(v & 0x7fn) | 0x80);
      v >>= 7n;
    }
    out.push(Number(v));
    return Uint8Array.from(out);
  }

  private tag(number: number, wire: Wire): this {
    return this.push(this.varintBytes((number << 3) | wire));
  }

  varint(number: number, value: bigint | number): this {
    return this.tag(number, Wire.Varint).push(this.varintBytes(value));
  }

  bytes(number: number, payload: Uint8Array): this {
    return this.tag(number, Wire.Bytes).push(this.varintBytes(payload.length)).push(payload);
  }

  string(number: number, value: string): this {
    return this.bytes(number, new TextEncoder().encode(value));
  }

  message(number: number, build: (w: Writer) => void): this {
    const w = new Writer();
    build(w);
    return this.bytes(number, w.finish());
  }

  raw(bytes: Uint8Array): this {
    return this.push(bytes);
  }

  /** Bytes written so far. */
  get byteLength(): number {
    return this.length;
  }

  /** The message's bytes as the pieces they were written in (to stream a huge message without joining it). */
  pieces(): readonly Uint8Array[] {
    return this.chunks;
  }

  finish(): Uint8Array {
    const out = new Uint8Array(this.length);
    let o = 0;
    for (const c of this.chunks) {
      out.set(c, o);
      o += c.length;
    }
    return out;
  }
}
