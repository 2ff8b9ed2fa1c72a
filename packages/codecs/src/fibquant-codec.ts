import {
  buildFibQuantCodebook,
  codebookSizeForRate,
  createNearestCodewordSearch,
  type NearestCodewordSearch,
  type VectorCodebook,
} from "@kvpack/codebook";
import type { NormFormat } from "./codec.js";
import { CodecError } from "./codec-error.js";
import { checkFlag, checkDimension, checkNormFormat, checkSeed } from "./spec-checks.js";
import { SphericalCodec } from "./spherical-codec.js";

export interface FibquantCodecSpec {
  kind: "fibquant";
  dimension: number;
  bits: number;
  blockSize: number;
  norm?: NormFormat;
  seed?: number;
  /** Subtract the block's per-channel mean (stored fp16) before quantizing; see SphericalCodec. */
  center?: boolean;
  /** Store the least-squares gain instead of the norm; see SphericalCodec. */
  rescale?: boolean;
}

/** Largest codebook accepted (N), the codebook package's limit. */
export const maxFibquantCodewords = 1 << 16;

const vectorCodebooks = new Map<string, VectorCodebook>();

/** The universal codebook for (d, k, N): built once per process (it depends on nothing else). */
export function fibquantCodebook(dimension: number, blockSize: number, size: number): VectorCodebook {
  const key = `${dimension}:${blockSize}:${size}`;
  let codebook = vectorCodebooks.get(key);
  if (codebook === undefined) {
    codebook = buildFibQuantCodebook({ sourceDimension: dimension, blockSize, size });
    vectorCodebooks.set(key, codebook);
  }
  return codebook;
}

/**
 * FibQuant: after the shared rotation each k-block of the unit vector is replaced by the nearest of N
 * codewords of one universal radial–angular codebook (N = round(2^(k·bits)), so rates below 1 bit and
 * fractional rates work). Codes use mixed-radix packing (≈ log2 N bits per block, not ⌈log2 N⌉).
 * Scores use a table of q'_block · codeword for every block position: (d/k)·N entries per query.
 */
export class FibquantCodec extends SphericalCodec {
  readonly kind = "fibquant" as const;
  readonly bits: number;
  readonly blockSize: number;
  readonly codebook: VectorCodebook;
  private readonly codewords: Float64Array;
  private readonly search: NearestCodewordSearch;
  private readonly blockScratch: Float32Array;

  constructor(spec: FibquantCodecSpec) {
    checkDimension("fibquant", spec.dimension);
    const { dimension, blockSize, bits } = spec;
    if (!Number.isInteger(blockSize) || blockSize < 1 || blockSize > Math.min(64, dimension)) {
      throw new CodecError("invalid-spec", `fibquant: blockSize must be an integer in [1, ${Math.min(64, dimension)}], got ${blockSize}`);
    }
    if (dimension % blockSize !== 0 || dimension < 2) {
      throw new CodecError("unsupported-dimension", `fibquant: dimension ${dimension} is not a multiple of blockSize ${blockSize}`);
    }
    if (!(typeof bits === "number" && bits > 0 && Number.isFinite(bits))) {
      throw new CodecError("unsupported-rate", `fibquant: bits must be a positive number, got ${bits}`);
    }
    const size = codebookSizeForRate(blockSize, bits);
    if (size < 2 || size > maxFibquantCodewords) {
      throw new CodecError(
        "unsupported-rate",
        `fibquant: ${bits} bits with blockSize ${blockSize} gives N = round(2^(k·b)) = ${size} codewords; N must be in [2, ${maxFibquantCodewords}]`,
      );
    }
    const norm = checkNormFormat("fibquant", spec.norm);
    const seed = checkSeed("fibquant", spec.seed);
    const center = checkFlag("fibquant", "center", spec.center);
    const rescale = checkFlag("fibquant", "rescale", spec.rescale);
    super(
      { kind: "fibquant", dimension, bits, blockSize, norm, seed, ...(center ? { center } : {}), ...(rescale ? { rescale } : {}) },
      `fibquant:d${dimension}:k${blockSize}:n${size}:${norm}:s${seed}${center ? ":centered" : ""}${rescale ? ":rescaled" : ""}`,
      norm,
      seed,
      size,
      dimension / blockSize,
      { center, rescale },
    );
    this.bits = bits;
    this.blockSize = blockSize;
    this.codebook = fibquantCodebook(dimension, blockSize, size);
    this.codewords = Float64Array.from(this.codebook.codewords);
    this.search = createNearestCodewordSearch(this.codebook);
    this.blockScratch = new Float32Array(dimension);
  }

  protected quantize(rotated: Float64Array, codes: Uint32Array, offset: number): void {
    const scratch = this.blockScratch;
    scratch.set(rotated);
    const blockSize = this.blockSize;
    for (let block = 0; block < this.codesPerRow; block++) codes[offset + block] = this.search.nearest(scratch, block * blockSize);
  }

  protected reconstruct(codes: Uint32Array, offset: number, out: Float64Array): void {
    const blockSize = this.blockSize;
    const codewords = this.codewords;
    for (let block = 0; block < this.codesPerRow; block++) {
      const base = codes[offset + block] * blockSize;
      for (let index = 0; index < blockSize; index++) out[block * blockSize + index] = codewords[base + index];
    }
  }

  codewordTable(): { readonly codewords: Float64Array; readonly blockSize: number } {
    return { codewords: this.codewords, blockSize: this.blockSize };
  }

  /** table[b·N + n] = q'_block b · codeword n. */
  protected queryTableLength(): number {
    return this.codesPerRow * this.radix;
  }

  protected fillTable(rotatedQuery: Float64Array, table: Float64Array): void {
    const blockSize = this.blockSize;
    const size = this.radix;
    const codewords = this.codewords;
    for (let block = 0; block < this.codesPerRow; block++) {
      const queryBase = block * blockSize;
      for (let codeword = 0; codeword < size; codeword++) {
        let dot = 0;
        for (let index = 0; index < blockSize; index++) dot += rotatedQuery[queryBase + index] * codewords[codeword * blockSize + index];
        table[block * size + codeword] = dot;
      }
    }
  }

  protected tableDot(table: Float64Array, codes: Uint32Array, offset: number): number {
    const size = this.radix;
    let sum = 0;
    for (let block = 0; block < this.codesPerRow; block++) sum += table[block * size + codes[offset + block]];
    return sum;
  }
}
