import { codeLayout, type CodeLayout } from "@kvpack/bitpack";
import { BaseCodec, blockHeaderBytes, type QueryState } from "./base-codec.js";
import { readFloat32, writeFloat32 } from "./byte-io.js";
import type { CodecKind, EncodedBlock } from "./codec.js";
import { CodecError } from "./codec-error.js";
import { fromHalfBits, maxHalf, toHalfBits } from "./half-float.js";
import { checkDimension } from "./spec-checks.js";

/** Shared q·x̂ and Σ w·x̂ by decoding one row at a time into a scratch row (no full-block decode). */
abstract class RowDecodingCodec extends BaseCodec {
  protected readonly row: Float32Array;

  protected constructor(kind: CodecKind, dimension: number, codecId: string) {
    checkDimension(kind, dimension);
    super({ kind, dimension } as never, codecId, 1);
    this.row = new Float32Array(dimension);
  }

  protected queryTableLength(): number {
    return 0;
  }

  protected prepareState(state: QueryState): void {
    state.internal.set(state.query);
  }

  protected scoresInto(state: QueryState, data: Uint8Array, count: number, out: Float32Array): void {
    const dimension = this.dimension;
    const query = state.internal;
    for (let row = 0; row < count; row++) {
      this.decodeRowInto(data, count, row, this.row, 0);
      let sum = 0;
      for (let index = 0; index < dimension; index++) sum += query[index] * this.row[index];
      out[row] = sum;
    }
  }

  protected accumulateInto(weights: Float32Array, data: Uint8Array, count: number, accumulator: Float32Array): void {
    const dimension = this.dimension;
    for (let row = 0; row < count; row++) {
      const weight = weights[row];
      if (weight === 0) continue;
      this.decodeRowInto(data, count, row, this.row, 0);
      for (let index = 0; index < dimension; index++) accumulator[index] += weight * this.row[index];
    }
  }
}

/** Uncompressed float32 rows (32 bits per element plus the 4-byte block header). */
export class Fp32Codec extends RowDecodingCodec {
  readonly kind = "fp32" as const;

  constructor(dimension: number) {
    super("fp32", dimension, `fp32:d${dimension}`);
  }

  protected payloadByteLength(count: number): number {
    return count * this.dimension * 4;
  }

  protected encodePayload(vectors: Float32Array, count: number, data: Uint8Array): void {
    const length = count * this.dimension;
    for (let index = 0; index < length; index++) writeFloat32(data, blockHeaderBytes + 4 * index, vectors[index]);
  }

  protected decodeRowInto(data: Uint8Array, _count: number, row: number, out: Float32Array, outOffset: number): void {
    const base = blockHeaderBytes + 4 * row * this.dimension;
    for (let index = 0; index < this.dimension; index++) out[outOffset + index] = readFloat32(data, base + 4 * index);
  }
}

/** IEEE binary16 rows, packed as 16-bit codes. Values beyond ±65504 are rejected. */
export class Fp16Codec extends RowDecodingCodec {
  readonly kind = "fp16" as const;
  private readonly layout: CodeLayout = codeLayout(65536);
  private readonly codes: Uint32Array;

  constructor(dimension: number) {
    super("fp16", dimension, `fp16:d${dimension}`);
    this.codes = new Uint32Array(dimension);
  }

  protected payloadByteLength(count: number): number {
    return this.layout.byteLength(count * this.dimension);
  }

  protected encodePayload(vectors: Float32Array, count: number, data: Uint8Array): void {
    const length = count * this.dimension;
    const halves = this.codeBuffer(length);
    for (let index = 0; index < length; index++) {
      const value = vectors[index];
      if (value > maxHalf || value < -maxHalf) {
        throw new CodecError("out-of-range", `fp16: value ${value} at row ${Math.floor(index / this.dimension)} exceeds ±${maxHalf}`);
      }
      halves[index] = toHalfBits(value);
    }
    this.layout.pack(halves, length, data, blockHeaderBytes);
  }

  /** The block's rows as their fp16 bits (count × dimension), not widened: what kernels that read halves keep resident. */
  halfBits(block: EncodedBlock): Uint16Array {
    const length = this.checkBlock(block) * this.dimension;
    const codes = new Uint32Array(length);
    this.layout.unpack(block.data, blockHeaderBytes, length, codes);
    return Uint16Array.from(codes);
  }

  protected decodeRowInto(data: Uint8Array, count: number, row: number, out: Float32Array, outOffset: number): void {
    const dimension = this.dimension;
    this.layout.unpack(data, blockHeaderBytes, count * dimension, this.codes, row * dimension, dimension);
    for (let index = 0; index < dimension; index++) out[outOffset + index] = fromHalfBits(this.codes[index]);
  }
}

/** Symmetric int8 per token: scale = absmax/127 in fp16, codes in [−127, 127] stored as 8-bit (offset 128). */
export class Int8Codec extends RowDecodingCodec {
  readonly kind = "int8" as const;
  private readonly layout: CodeLayout = codeLayout(256);
  private readonly codes: Uint32Array;

  constructor(dimension: number) {
    super("int8", dimension, `int8:d${dimension}`);
    this.codes = new Uint32Array(dimension);
  }

  private scalesOffset(count: number): number {
    return blockHeaderBytes + this.layout.byteLength(count * this.dimension);
  }

  protected payloadByteLength(count: number): number {
    return this.layout.byteLength(count * this.dimension) + 2 * count;
  }

  protected override codeByteLength(count: number): number {
    return this.layout.byteLength(count * this.dimension);
  }

  protected encodePayload(vectors: Float32Array, count: number, data: Uint8Array): void {
    const dimension = this.dimension;
    const codes = this.codeBuffer(count * dimension);
    const scalesOffset = this.scalesOffset(count);
    for (let row = 0; row < count; row++) {
      const base = row * dimension;
      let absmax = 0;
      for (let index = 0; index < dimension; index++) absmax = Math.max(absmax, Math.abs(vectors[base + index]));
      if (absmax / 127 > maxHalf) throw new CodecError("out-of-range", `int8: row ${row} absmax ${absmax} overflows the fp16 scale`);
      const scaleBits = toHalfBits(absmax / 127);
      const scale = fromHalfBits(scaleBits);
      data[scalesOffset + 2 * row] = scaleBits & 0xff;
      data[scalesOffset + 2 * row + 1] = scaleBits >>> 8;
      for (let index = 0; index < dimension; index++) {
        let code = scale > 0 ? Math.round(vectors[base + index] / scale) : 0;
        if (code > 127) code = 127;
        else if (code < -127) code = -127;
        codes[base + index] = code + 128;
      }
    }
    this.layout.pack(codes, count * dimension, data, blockHeaderBytes);
  }

  protected decodeRowInto(data: Uint8Array, count: number, row: number, out: Float32Array, outOffset: number): void {
    const dimension = this.dimension;
    const offset = this.scalesOffset(count) + 2 * row;
    const scale = fromHalfBits(data[offset] | (data[offset + 1] << 8));
    this.layout.unpack(data, blockHeaderBytes, count * dimension, this.codes, row * dimension, dimension);
    for (let index = 0; index < dimension; index++) out[outOffset + index] = (this.codes[index] - 128) * scale;
  }
}
