import { BaseCodec, blockHeaderBytes, type QueryState } from "./base-codec.js";
import { CodecError } from "./codec-error.js";
import { dequantizeGgmlBlock, ggmlBlockBytes, ggmlBlockElements, ggmlKvTypes, ggmlRowBytes, quantizeGgmlBlock } from "./ggml-blocks.js";
import type { GgmlKvType } from "./codec.js";
import { checkDimension } from "./spec-checks.js";

export interface GgmlCodecSpec {
  kind: GgmlKvType;
  dimension: number;
}

/**
 * llama.cpp's KV cache types (`--cache-type-k/-v q8_0 | q4_0 | q4_1 | q5_0`) as a kvpack codec, so tables
 * compare kvpack's codecs with llama.cpp's cache quantization at the same all-in bits.
 * Block: header | rows, each ⌈d/32⌉ ggml blocks back to back (see ggml-blocks.ts), so a row of a
 * 32-multiple head dimension is exactly the bytes llama.cpp stores for that token and head.
 * No rotation: scores and accumulate decode one row at a time into a scratch row.
 */
export class GgmlCodec extends BaseCodec {
  readonly kind: GgmlKvType;
  private readonly rowBytes: number;
  private readonly fullBlockBytes: number;
  private readonly row: Float32Array;

  constructor(spec: GgmlCodecSpec) {
    if (!ggmlKvTypes.includes(spec.kind)) throw new CodecError("invalid-spec", `ggml: kind must be one of ${ggmlKvTypes.join(", ")}, got ${String(spec.kind)}`);
    checkDimension(spec.kind, spec.dimension);
    super({ kind: spec.kind, dimension: spec.dimension }, `${spec.kind}:d${spec.dimension}`, 1);
    this.kind = spec.kind;
    this.rowBytes = ggmlRowBytes(spec.kind, spec.dimension);
    this.fullBlockBytes = ggmlBlockBytes(spec.kind, ggmlBlockElements);
    this.row = new Float32Array(spec.dimension);
  }

  protected payloadByteLength(count: number): number {
    return count * this.rowBytes;
  }

  /** Each ggml block's quants (qs, and q5_0's high bits qh); its fp16 d (and q4_1's m) are side information. */
  protected override codeByteLength(count: number): number {
    const scaleBytes = this.kind === "q4_1" ? 4 : 2;
    return count * (this.rowBytes - Math.ceil(this.dimension / ggmlBlockElements) * scaleBytes);
  }

  protected encodePayload(vectors: Float32Array, count: number, data: Uint8Array): void {
    const dimension = this.dimension;
    for (let row = 0; row < count; row++) {
      let offset = blockHeaderBytes + row * this.rowBytes;
      for (let start = 0; start < dimension; start += ggmlBlockElements) {
        const n = Math.min(ggmlBlockElements, dimension - start);
        if (!quantizeGgmlBlock(this.kind, vectors, row * dimension + start, n, data, offset)) {
          throw new CodecError("out-of-range", `${this.kind}: row ${row}, columns ${start}..${start + n - 1} need a scale or minimum beyond fp16's ±65504`);
        }
        offset += this.fullBlockBytes; // only the last block can be short
      }
    }
  }

  protected decodeRowInto(data: Uint8Array, _count: number, row: number, out: Float32Array, outOffset: number): void {
    const dimension = this.dimension;
    const full = this.fullBlockBytes;
    let offset = blockHeaderBytes + row * this.rowBytes;
    for (let start = 0; start < dimension; start += ggmlBlockElements) {
      dequantizeGgmlBlock(this.kind, data, offset, Math.min(ggmlBlockElements, dimension - start), out, outOffset + start);
      offset += full;
    }
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
    const row = this.row;
    for (let index = 0; index < count; index++) {
      this.decodeRowInto(data, count, index, row, 0);
      let sum = 0;
      for (let column = 0; column < dimension; column++) sum += query[column] * row[column];
      out[index] = sum;
    }
  }

  protected accumulateInto(weights: Float32Array, data: Uint8Array, count: number, accumulator: Float32Array): void {
    const dimension = this.dimension;
    const row = this.row;
    for (let index = 0; index < count; index++) {
      const weight = weights[index];
      if (weight === 0) continue;
      this.decodeRowInto(data, count, index, row, 0);
      for (let column = 0; column < dimension; column++) accumulator[column] += weight * row[column];
    }
  }
}
