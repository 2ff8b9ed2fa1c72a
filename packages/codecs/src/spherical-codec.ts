import { codeLayout, type CodeLayout } from "@kvpack/bitpack";
import { BaseCodec, blockHeaderBytes, type QueryState } from "./base-codec.js";
import type { CodecSpec, EncodedBlock, NormFormat } from "./codec.js";
import { CodecError } from "./codec-error.js";
import { blockMeanByteLength, readBlockMean, writeBlockMean } from "./block-mean.js";
import { HadamardRotation } from "./hadamard-rotation.js";
import { NormStore } from "./norm-store.js";

/**
 * The shared frame of TurboQuant and FibQuant: x = ‖x‖·u, y = R·u, quantize y into `codesPerRow`
 * codes of radix `radix`, reconstruct x̂ = ‖x‖·Rᵀŷ. A zero vector stores norm 0 and code 0 and
 * decodes to exact zeros.
 * Block: header | norms (NormStore) | [block mean, int8 × d + exponent byte] | codes (count·codesPerRow, mixed radix).
 * Scores never rotate keys back: q' = R·q once, then per-row table lookups times the norm.
 *
 * With `center`, the block's per-channel mean μ (int8 codes times a power of two, block-mean.ts) is
 * subtracted before normalizing and added back on decode: x̂ = μ + ‖x−μ‖·Rᵀŷ. Real keys carry large
 * per-channel offsets shared by every token (the reason KIVI quantizes keys per channel); centering
 * quantizes only what varies, so the same bits give a much smaller score error. Scores add q·μ once per block; accumulate adds
 * (Σw)·Rμ in the rotated domain.
 *
 * With `rescale`, the stored scalar is the least-squares gain ‖x‖·(y·ŷ)/‖ŷ‖² rather than ‖x‖: for the
 * chosen codewords it minimizes ‖x − g·Rᵀŷ‖ over g, at no extra bits (gain–shape quantization).
 */
export abstract class SphericalCodec extends BaseCodec {
  readonly normFormat: NormFormat;
  readonly radix: number;
  readonly codesPerRow: number;
  readonly center: boolean;
  readonly rescale: boolean;
  protected readonly rotation: HadamardRotation;
  protected readonly norms: NormStore;
  protected readonly layout: CodeLayout;
  protected readonly rotated: Float64Array;
  private readonly normScratch: Float64Array[] = [new Float64Array(0)];
  private readonly mean: Float32Array;
  private readonly residual: Float32Array;
  private readonly rotatedMean: Float64Array;
  private readonly reconstructed: Float64Array;

  protected constructor(
    spec: CodecSpec,
    codecId: string,
    normFormat: NormFormat,
    seed: number,
    radix: number,
    codesPerRow: number,
    options: { center?: boolean; rescale?: boolean } = {},
  ) {
    super(spec, codecId, 1);
    this.center = options.center ?? false;
    this.rescale = options.rescale ?? false;
    this.reconstructed = new Float64Array(spec.dimension);
    this.mean = new Float32Array(spec.dimension);
    this.residual = new Float32Array(spec.dimension);
    this.rotatedMean = new Float64Array(spec.dimension);
    this.normFormat = normFormat;
    this.radix = radix;
    this.codesPerRow = codesPerRow;
    this.rotation = new HadamardRotation(spec.dimension, seed);
    this.norms = new NormStore(normFormat);
    this.layout = codeLayout(radix);
    this.rotated = new Float64Array(spec.dimension);
  }

  /** Codes of rotated unit vector y (length d) into codes[offset .. offset+codesPerRow). */
  protected abstract quantize(rotated: Float64Array, codes: Uint32Array, offset: number): void;
  /** ŷ from codes[offset ..] into out (length d). */
  protected abstract reconstruct(codes: Uint32Array, offset: number, out: Float64Array): void;
  /** Σ over the row's codes of table lookups (q'·ŷ). */
  protected abstract tableDot(table: Float64Array, codes: Uint32Array, offset: number): number;
  /** Fills the lookup table from the rotated query. */
  protected abstract fillTable(rotatedQuery: Float64Array, table: Float64Array): void;
  /** The codewords ŷ pieces are drawn from (radix × blockSize, rotated domain), for kernel views. */
  abstract codewordTable(): { readonly codewords: Float64Array; readonly blockSize: number };

  /** output = R · input (the rotated domain scores and accumulators live in). */
  rotate(input: ArrayLike<number>, output: Float32Array | Float64Array): void {
    this.rotation.forward(input, 0, output);
  }

  /** Unpacked codes (count · codesPerRow), norms and, for centered codecs, the block mean of a block. */
  blockParts(block: EncodedBlock): { codes: Uint32Array; norms: Float32Array; mean: Float32Array | undefined } {
    const count = this.checkBlock(block);
    const codes = new Uint32Array(count * this.codesPerRow);
    this.layout.unpack(block.data, this.codesOffset(count), count * this.codesPerRow, codes);
    const norms = new Float32Array(count);
    for (let row = 0; row < count; row++) norms[row] = this.norms.read(block.data, blockHeaderBytes, row);
    const mean = this.center ? readBlockMean(block.data, this.meanOffset(count), this.dimension, new Float32Array(this.dimension)) : undefined;
    return { codes, norms, mean };
  }

  private meanOffset(count: number): number {
    return blockHeaderBytes + this.norms.byteLength(count);
  }

  private meanByteLength(): number {
    return this.center ? blockMeanByteLength(this.dimension) : 0;
  }

  protected codesOffset(count: number): number {
    return this.meanOffset(count) + this.meanByteLength();
  }

  protected payloadByteLength(count: number): number {
    return this.norms.byteLength(count) + this.meanByteLength() + this.layout.byteLength(count * this.codesPerRow);
  }

  protected override codeByteLength(count: number): number {
    return this.layout.byteLength(count * this.codesPerRow);
  }

  /** Reads the stored block mean into this.mean; returns it. */
  private readMean(data: Uint8Array, count: number): Float32Array {
    return readBlockMean(data, this.meanOffset(count), this.dimension, this.mean);
  }

  protected encodePayload(vectors: Float32Array, count: number, data: Uint8Array): void {
    const dimension = this.dimension;
    const perRow = this.codesPerRow;
    const codes = this.codeBuffer(count * perRow);
    if (this.normScratch[0].length < count) this.normScratch[0] = new Float64Array(Math.max(count, 2 * this.normScratch[0].length));
    const norms = this.normScratch[0];
    if (this.center) writeBlockMean(vectors, count, this.dimension, data, this.meanOffset(count), this.mean);
    const mean = this.mean;
    const residual = this.residual;
    for (let row = 0; row < count; row++) {
      let source = vectors;
      let base = row * dimension;
      if (this.center) {
        for (let index = 0; index < dimension; index++) residual[index] = vectors[base + index] - mean[index];
        source = residual;
        base = 0;
      }
      let squared = 0;
      for (let index = 0; index < dimension; index++) squared += source[base + index] * source[base + index];
      const norm = Math.sqrt(squared);
      norms[row] = norm;
      if (norm === 0) {
        codes.fill(0, row * perRow, (row + 1) * perRow);
        continue;
      }
      this.rotation.forward(source, base, this.rotated, 0, 1 / norm);
      this.quantize(this.rotated, codes, row * perRow);
      if (this.rescale) {
        const reconstructed = this.reconstructed;
        this.reconstruct(codes, row * perRow, reconstructed);
        let dot = 0;
        let energy = 0;
        for (let index = 0; index < dimension; index++) {
          dot += this.rotated[index] * reconstructed[index];
          energy += reconstructed[index] * reconstructed[index];
        }
        if (energy > 0 && dot > 0) norms[row] = (norm * dot) / energy;
      }
    }
    this.norms.encode(norms, count, data, blockHeaderBytes);
    this.layout.pack(codes, count * perRow, data, this.codesOffset(count));
  }

  /** Unpacks the codes of one row into the code buffer at offset 0 and returns the buffer. */
  private rowCodes(data: Uint8Array, count: number, row: number): Uint32Array {
    const perRow = this.codesPerRow;
    const codes = this.codeBuffer(perRow);
    this.layout.unpack(data, this.codesOffset(count), count * perRow, codes, row * perRow, perRow);
    return codes;
  }

  protected decodeRowInto(data: Uint8Array, count: number, row: number, out: Float32Array, outOffset: number): void {
    const norm = this.norms.read(data, blockHeaderBytes, row);
    this.reconstruct(this.rowCodes(data, count, row), 0, this.rotated);
    this.rotation.inverse(this.rotated, 0, out, outOffset, norm);
    if (this.center) {
      const mean = this.readMean(data, count);
      for (let index = 0; index < this.dimension; index++) out[outOffset + index] += mean[index];
    }
  }

  protected prepareState(state: QueryState): void {
    this.rotation.forward(state.query, 0, state.internal);
    this.fillTable(state.internal, state.table);
  }

  protected scoresInto(state: QueryState, data: Uint8Array, count: number, out: Float32Array): void {
    const perRow = this.codesPerRow;
    const codes = this.codeBuffer(count * perRow);
    this.layout.unpack(data, this.codesOffset(count), count * perRow, codes);
    const table = state.table;
    let meanScore = 0;
    if (this.center) {
      const mean = this.readMean(data, count);
      for (let index = 0; index < this.dimension; index++) meanScore += state.query[index] * mean[index];
    }
    for (let row = 0; row < count; row++) {
      out[row] = meanScore + this.norms.read(data, blockHeaderBytes, row) * this.tableDot(table, codes, row * perRow);
    }
  }

  protected accumulateInto(weights: Float32Array, data: Uint8Array, count: number, accumulator: Float32Array): void {
    const perRow = this.codesPerRow;
    const dimension = this.dimension;
    const codes = this.codeBuffer(count * perRow);
    this.layout.unpack(data, this.codesOffset(count), count * perRow, codes);
    let weightSum = 0;
    for (let row = 0; row < count; row++) {
      weightSum += weights[row];
      const scale = weights[row] * this.norms.read(data, blockHeaderBytes, row);
      if (scale === 0) continue;
      this.reconstruct(codes, row * perRow, this.rotated);
      for (let index = 0; index < dimension; index++) accumulator[index] += scale * this.rotated[index];
    }
    if (this.center && weightSum !== 0) {
      this.rotation.forward(this.readMean(data, count), 0, this.rotatedMean);
      for (let index = 0; index < dimension; index++) accumulator[index] += weightSum * this.rotatedMean[index];
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
