export const vectorCodebookFormatVersion = 1;

/** A shared codebook for k-blocks of a rotated unit vector (FibQuant). */
export interface VectorCodebook {
  readonly kind: "vector";
  readonly formatVersion: number;
  /** d: the head dimension whose rotated unit vectors are split into blocks. */
  readonly sourceDimension: number;
  /** k: coordinates per block. */
  readonly blockSize: number;
  /** N: number of codewords. */
  readonly size: number;
  /** log2(N)/k. */
  readonly bitsPerCoordinate: number;
  /** size × blockSize, in the rotated unit vector's coordinates (norms ≈ √(k/d)). */
  readonly codewords: Float32Array;
  readonly seed: number;
  /** Normalized MSE E‖u − û‖² per unit vector (= d/k × E‖y_block − ŷ_block‖²), measured on held-out samples. */
  readonly distortion: number;
}

/** N = round(2^(k·b)): the codebook size for rate b bits per coordinate with blocks of k. */
export function codebookSizeForRate(blockSize: number, bitsPerCoordinate: number): number {
  return Math.round(2 ** (blockSize * bitsPerCoordinate));
}
