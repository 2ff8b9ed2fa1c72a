import { codeLayout, type CodeLayout } from "@kvpack/bitpack";
import { BaseCodec, blockHeaderBytes, type QueryState } from "./base-codec.js";
import type { CodecSpec, NormFormat } from "./codec.js";
import { CodecError } from "./codec-error.js";
import { HadamardRotation } from "./hadamard-rotation.js";
import { NormStore } from "./norm-store.js";

/**
 * The shared frame of TurboQuant and FibQuant: x = ‖x‖·u, y = R·u, quantize y into `codesPerRow`
 * codes of radix `radix`, reconstruct x̂ = ‖x‖·Rᵀŷ. A zero vector stores norm 0 and code 0 and
 * decodes to exact zeros.
 * Block: header | norms (NormStore) | codes (count·codesPerRow, mixed radix, contiguous).
 * Scores never rotate keys back: q' = R·q once, then per-row table lookups times the norm.
 */
export abstract class SphericalCodec extends BaseCodec {
  readonly normFormat: NormFormat;
  readonly radix: number;
  readonly codesPerRow: number;
  protected readonly rotation: HadamardRotation;
  protected readonly norms: NormStore;
  protected readonly layout: CodeLayout;
  protected readonly rotated: Float64Array;
  private readonly normScratch: Float64Array[] = [new Float64Array(0)];

  protected constructor(spec: CodecSpec, codecId: string, normFormat: NormFormat, seed: number, radix: number, codesPerRow: number) {
    super(spec, codecId, 1);
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

  protected codesOffset(count: number): number {
    return blockHeaderBytes + this.norms.byteLength(count);
  }

  protected payloadByteLength(count: number): number {
    return this.norms.byteLength(count) + this.layout.byteLength(count * this.codesPerRow);
  }

  protected encodePayload(vectors: Float32Array, count: number, data: Uint8Array): void {
    const dimension = this.dimension;
    const perRow = this.codesPerRow;
    const codes = this.codeBuffer(count * perRow);
    if (this.normScratch[0].length < count) this.normScratch[0] = new Float64Array(Math.max(count, 2 * this.normScratch[0].length));
    const norms = this.normScratch[0];
    for (let row = 0; row < count; row++) {
      const base = row * dimension;
      let squared = 0;
      for (let index = 0; index < dimension; index++) squared += vectors[base + index] * vectors[base + index];
      const norm = Math.sqrt(squared);
      norms[row] = norm;
      if (norm === 0) {
        codes.fill(0, row * perRow, (row + 1) * perRow);
        continue;
      }
      this.rotation.forward(vectors, base, this.rotated, 0, 1 / norm);
      this.quantize(this.rotated, codes, row * perRow);
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
    for (let row = 0; row < count; row++) {
      out[row] = this.norms.read(data, blockHeaderBytes, row) * this.tableDot(table, codes, row * perRow);
    }
  }

  protected accumulateInto(weights: Float32Array, data: Uint8Array, count: number, accumulator: Float32Array): void {
    const perRow = this.codesPerRow;
    const dimension = this.dimension;
    const codes = this.codeBuffer(count * perRow);
    this.layout.unpack(data, this.codesOffset(count), count * perRow, codes);
    for (let row = 0; row < count; row++) {
      const scale = weights[row] * this.norms.read(data, blockHeaderBytes, row);
      if (scale === 0) continue;
      this.reconstruct(codes, row * perRow, this.rotated);
      for (let index = 0; index < dimension; index++) accumulator[index] += scale * this.rotated[index];
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
