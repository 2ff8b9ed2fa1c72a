import { buildScalarCodebook, type ScalarCodebook } from "@kvpack/codebook";
import type { NormFormat } from "./codec.js";
import { CodecError } from "./codec-error.js";
import { checkFlag, checkDimension, checkNormFormat, checkSeed } from "./spec-checks.js";
import { SphericalCodec } from "./spherical-codec.js";

export interface TurboquantCodecSpec {
  kind: "turboquant";
  dimension: number;
  bits: number;
  norm?: NormFormat;
  seed?: number;
  /** Subtract the block's per-channel mean (stored fp16) before quantizing; see SphericalCodec. */
  center?: boolean;
  /** Store the least-squares gain instead of the norm; see SphericalCodec. */
  rescale?: boolean;
}

export const maxTurboquantBits = 8;
const scalarCodebooks = new Map<string, ScalarCodebook>();

function scalarCodebook(dimension: number, bits: number): ScalarCodebook {
  const key = `${dimension}:${bits}`;
  let codebook = scalarCodebooks.get(key);
  if (codebook === undefined) {
    codebook = buildScalarCodebook({ sourceDimension: dimension, bits });
    scalarCodebooks.set(key, codebook);
  }
  return codebook;
}

/**
 * TurboQuant, MSE variant (Zandieh et al. 2025): after the shared rotation every coordinate of the unit
 * vector is quantized by one Lloyd–Max scalar codebook (2^bits levels) for the exact coordinate
 * marginal at this dimension. Codes are bits-wide; the norm is stored per row.
 */
export class TurboquantCodec extends SphericalCodec {
  readonly kind = "turboquant" as const;
  readonly bits: number;
  readonly codebook: ScalarCodebook;
  private readonly levels: Float64Array;
  private readonly thresholds: Float64Array;

  constructor(spec: TurboquantCodecSpec) {
    checkDimension("turboquant", spec.dimension);
    if (spec.dimension < 2) throw new CodecError("unsupported-dimension", "turboquant: dimension must be at least 2");
    if (!Number.isInteger(spec.bits) || spec.bits < 1 || spec.bits > maxTurboquantBits) {
      throw new CodecError("unsupported-rate", `turboquant: bits must be an integer in [1, ${maxTurboquantBits}], got ${spec.bits}`);
    }
    const norm = checkNormFormat("turboquant", spec.norm);
    const seed = checkSeed("turboquant", spec.seed);
    const center = checkFlag("turboquant", "center", spec.center);
    const rescale = checkFlag("turboquant", "rescale", spec.rescale);
    super(
      { kind: "turboquant", dimension: spec.dimension, bits: spec.bits, norm, seed, ...(center ? { center } : {}), ...(rescale ? { rescale } : {}) },
      `turboquant:d${spec.dimension}:b${spec.bits}:${norm}:s${seed}${center ? ":centered" : ""}${rescale ? ":rescaled" : ""}`,
      norm,
      seed,
      2 ** spec.bits,
      spec.dimension,
      { center, rescale },
    );
    this.bits = spec.bits;
    this.codebook = scalarCodebook(spec.dimension, spec.bits);
    this.levels = Float64Array.from(this.codebook.levels);
    this.thresholds = Float64Array.from(this.codebook.thresholds);
  }

  protected quantize(rotated: Float64Array, codes: Uint32Array, offset: number): void {
    const thresholds = this.thresholds;
    const last = thresholds.length;
    for (let index = 0; index < rotated.length; index++) {
      const value = rotated[index];
      // Number of thresholds below value = index of the nearest level (levels ascending).
      let low = 0;
      let high = last;
      while (low < high) {
        const middle = (low + high) >>> 1;
        if (thresholds[middle] < value) low = middle + 1;
        else high = middle;
      }
      codes[offset + index] = low;
    }
  }

  protected reconstruct(codes: Uint32Array, offset: number, out: Float64Array): void {
    for (let index = 0; index < this.dimension; index++) out[index] = this.levels[codes[offset + index]];
  }

  codewordTable(): { readonly codewords: Float64Array; readonly blockSize: number } {
    return { codewords: this.levels, blockSize: 1 };
  }

  /** table[j·L + l] = q'_j · level_l. */
  protected queryTableLength(): number {
    return this.dimension * this.radix;
  }

  protected fillTable(rotatedQuery: Float64Array, table: Float64Array): void {
    const radix = this.radix;
    for (let index = 0; index < this.dimension; index++) {
      for (let level = 0; level < radix; level++) table[index * radix + level] = rotatedQuery[index] * this.levels[level];
    }
  }

  protected tableDot(table: Float64Array, codes: Uint32Array, offset: number): number {
    const radix = this.radix;
    let sum = 0;
    for (let index = 0; index < this.dimension; index++) sum += table[index * radix + codes[offset + index]];
    return sum;
  }
}
