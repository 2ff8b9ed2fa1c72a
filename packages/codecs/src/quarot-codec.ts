import { codeLayout, type CodeLayout } from "@kvpack/bitpack";
import { quantizeAsymmetric, readScale, readZero, writeAsymmetricParams } from "./asymmetric-params.js";
import { BaseCodec, blockHeaderBytes, type QueryState } from "./base-codec.js";
import { CodecError } from "./codec-error.js";
import { HadamardRotation } from "./hadamard-rotation.js";
import { checkDimension, checkSeed } from "./spec-checks.js";

export interface QuarotCodecSpec {
  kind: "quarot";
  dimension: number;
  bits?: 4 | 3 | 2;
  clipRatio?: number;
  seed?: number;
}

/**
 * QuaRot-style KV quantization (Ashkboos et al. 2024): randomized Hadamard rotation of the raw vector,
 * then asymmetric round-to-nearest with one group per head (the whole vector) and the range clipped to
 * clipRatio·[min, max] (0.95, as in spcl/QuaRot). Scale and zero (= clipped min) are fp16 per row.
 * Block: header | codes (count·d, b bits) | fp16 (scale, zero) per row.
 */
export class QuarotCodec extends BaseCodec {
  readonly kind = "quarot" as const;
  readonly bits: 4 | 3 | 2;
  readonly clipRatio: number;
  private readonly levels: number;
  private readonly layout: CodeLayout;
  private readonly rotation: HadamardRotation;
  private readonly rotated: Float64Array;
  private readonly codes: Uint32Array;

  constructor(spec: QuarotCodecSpec) {
    checkDimension("quarot", spec.dimension);
    const bits = spec.bits ?? 4;
    if (bits !== 4 && bits !== 3 && bits !== 2) throw new CodecError("unsupported-rate", `quarot: bits must be 2, 3 or 4, got ${bits}`);
    const clipRatio = spec.clipRatio ?? 0.95;
    if (!(clipRatio > 0 && clipRatio <= 1)) throw new CodecError("invalid-spec", `quarot: clipRatio must be in (0, 1], got ${clipRatio}`);
    const seed = checkSeed("quarot", spec.seed);
    super({ kind: "quarot", dimension: spec.dimension, bits, clipRatio, seed }, `quarot:d${spec.dimension}:b${bits}:c${clipRatio}:s${seed}`, 1);
    this.bits = bits;
    this.clipRatio = clipRatio;
    this.levels = 2 ** bits;
    this.layout = codeLayout(this.levels);
    this.rotation = new HadamardRotation(spec.dimension, seed);
    this.rotated = new Float64Array(spec.dimension);
    this.codes = new Uint32Array(spec.dimension);
  }

  private paramsOffset(count: number): number {
    return blockHeaderBytes + this.layout.byteLength(count * this.dimension);
  }

  protected payloadByteLength(count: number): number {
    return this.layout.byteLength(count * this.dimension) + 4 * count;
  }

  protected override codeByteLength(count: number): number {
    return this.layout.byteLength(count * this.dimension);
  }

  protected encodePayload(vectors: Float32Array, count: number, data: Uint8Array): void {
    const dimension = this.dimension;
    const codes = this.codeBuffer(count * dimension);
    const rotated = this.rotated;
    const params = this.paramsOffset(count);
    for (let row = 0; row < count; row++) {
      this.rotation.forward(vectors, row * dimension, rotated);
      let minimum = Infinity;
      let maximum = -Infinity;
      for (let index = 0; index < dimension; index++) {
        if (rotated[index] < minimum) minimum = rotated[index];
        if (rotated[index] > maximum) maximum = rotated[index];
      }
      const offset = params + 4 * row;
      writeAsymmetricParams(data, offset, minimum * this.clipRatio, maximum * this.clipRatio, this.levels, `quarot row ${row}`);
      const scale = readScale(data, offset);
      const zero = readZero(data, offset);
      for (let index = 0; index < dimension; index++) {
        codes[row * dimension + index] = quantizeAsymmetric(rotated[index], scale, zero, this.levels);
      }
    }
    this.layout.pack(codes, count * dimension, data, blockHeaderBytes);
  }

  /** Rotated-domain reconstruction of one row into this.rotated; returns nothing. */
  private decodeRotated(data: Uint8Array, count: number, row: number): void {
    const dimension = this.dimension;
    this.layout.unpack(data, blockHeaderBytes, count * dimension, this.codes, row * dimension, dimension);
    const offset = this.paramsOffset(count) + 4 * row;
    const scale = readScale(data, offset);
    const zero = readZero(data, offset);
    for (let index = 0; index < dimension; index++) this.rotated[index] = zero + scale * this.codes[index];
  }

  protected decodeRowInto(data: Uint8Array, count: number, row: number, out: Float32Array, outOffset: number): void {
    this.decodeRotated(data, count, row);
    this.rotation.inverse(this.rotated, 0, out, outOffset);
  }

  /** table[0] = Σ q'_j (multiplies the zero point). */
  protected queryTableLength(): number {
    return 1;
  }

  protected prepareState(state: QueryState): void {
    this.rotation.forward(state.query, 0, state.internal);
    let sum = 0;
    for (let index = 0; index < this.dimension; index++) sum += state.internal[index];
    state.table[0] = sum;
  }

  protected scoresInto(state: QueryState, data: Uint8Array, count: number, out: Float32Array): void {
    const dimension = this.dimension;
    const query = state.internal;
    const codes = this.codes;
    const params = this.paramsOffset(count);
    for (let row = 0; row < count; row++) {
      this.layout.unpack(data, blockHeaderBytes, count * dimension, codes, row * dimension, dimension);
      let dot = 0;
      for (let index = 0; index < dimension; index++) dot += query[index] * codes[index];
      const offset = params + 4 * row;
      out[row] = readZero(data, offset) * state.table[0] + readScale(data, offset) * dot;
    }
  }

  protected accumulateInto(weights: Float32Array, data: Uint8Array, count: number, accumulator: Float32Array): void {
    for (let row = 0; row < count; row++) {
      const weight = weights[row];
      if (weight === 0) continue;
      this.decodeRotated(data, count, row);
      for (let index = 0; index < this.dimension; index++) accumulator[index] += weight * this.rotated[index];
    }
  }

  override finishAccumulator(accumulator: Float32Array, out: Float32Array): Float32Array {
    if (accumulator.length !== this.dimension || out.length !== this.dimension) {
      throw new CodecError("wrong-length", `accumulator and out must have length ${this.dimension}`);
    }
    this.rotation.inverse(accumulator, 0, out, 0);
    return out;
  }
}
