/**
 * A minimal protobuf encoder: just the wire types ONNX needs (varint, 32-bit and
 * length-delimited). Nested messages are encoded into their own writer first, so the length
 * prefix is known when the parent writes them.
 */
export const WireType = { Varint: 0, LengthDelimited: 2, Fixed32: 5 } as const;
export type WireType = (typeof WireType)[keyof typeof WireType];

const textEncoder = new TextEncoder();

export class ProtobufWriter {
  private buffer = new Uint8Array(256);
  private position = 0;
  private readonly scratch = new DataView(new ArrayBuffer(4));

  /** Bytes written so far. */
  get length(): number {
    return this.position;
  }

  private reserve(bytes: number): void {
    if (this.position + bytes <= this.buffer.length) return;
    let capacity = this.buffer.length * 2;
    while (capacity < this.position + bytes) capacity *= 2;
    const grown = new Uint8Array(capacity);
    grown.set(this.buffer.subarray(0, this.position));
    this.buffer = grown;
  }

  private byte(value: number): void {
    this.reserve(1);
    this.buffer[this.position++] = value;
  }

  /**
   * Base-128 varint. Negative int64 values use their 64-bit two's complement (10 bytes), as
   * protobuf's int64 does.
   */
  varint(value: number | bigint): void {
    let remaining = typeof value === "bigint" ? value : BigInt(value);
    if (typeof value === "number" && !Number.isSafeInteger(value)) {
      throw new RangeError(`ProtobufWriter.varint: ${value} is not a safe integer`);
    }
    if (remaining < 0n) remaining = BigInt.asUintN(64, remaining);
    // Small non-negative values (the common case: tags, lengths, dims) avoid BigInt arithmetic.
    if (remaining < 0x80000000n) {
      let small = Number(remaining);
      while (small >= 0x80) {
        this.byte((small & 0x7f) | 0x80);
        small >>>= 7;
      }
      this.byte(small);
      return;
    }
    while (remaining >= 0x80n) {
      this.byte(Number(remaining & 0x7fn) | 0x80);
      remaining >>= 7n;
    }
    this.byte(Number(remaining));
  }

  tag(field: number, wireType: WireType): void {
    this.varint(field * 8 + wireType);
  }

  raw(bytes: Uint8Array): void {
    this.reserve(bytes.length);
    this.buffer.set(bytes, this.position);
    this.position += bytes.length;
  }

  int64Field(field: number, value: number | bigint): void {
    this.tag(field, WireType.Varint);
    this.varint(value);
  }

  floatField(field: number, value: number): void {
    this.tag(field, WireType.Fixed32);
    this.scratch.setFloat32(0, value, true);
    this.raw(new Uint8Array(this.scratch.buffer));
  }

  bytesField(field: number, bytes: Uint8Array): void {
    this.tag(field, WireType.LengthDelimited);
    this.varint(bytes.length);
    this.raw(bytes);
  }

  stringField(field: number, value: string): void {
    this.bytesField(field, textEncoder.encode(value));
  }

  /** A nested message, written by `encode` into a fresh writer. */
  messageField(field: number, encode: (writer: ProtobufWriter) => void): void {
    const nested = new ProtobufWriter();
    encode(nested);
    this.bytesField(field, nested.finish());
  }

  /** Packed repeated int64 (one length-delimited run of varints). */
  packedInt64Field(field: number, values: readonly (number | bigint)[]): void {
    if (values.length === 0) return;
    const nested = new ProtobufWriter();
    for (const value of values) nested.varint(value);
    this.bytesField(field, nested.finish());
  }

  /** Packed repeated float (one length-delimited run of little-endian float32). */
  packedFloatField(field: number, values: readonly number[]): void {
    if (values.length === 0) return;
    const bytes = new Uint8Array(values.length * 4);
    const view = new DataView(bytes.buffer);
    values.forEach((value, index) => view.setFloat32(index * 4, value, true));
    this.bytesField(field, bytes);
  }

  /** The encoded bytes (a copy sized to fit). */
  finish(): Uint8Array {
    return this.buffer.slice(0, this.position);
  }
}
