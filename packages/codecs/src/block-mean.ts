/**
 * The per-channel block mean of the centered spherical codecs, stored as one signed power-of-two
 * exponent byte e and one int8 code per channel: μᵢ = codeᵢ · 2^e, with e the smallest exponent that
 * keeps every |μᵢ| / 2^e ≤ 127. That is d + 1 bytes instead of 2·d for fp16 (at d = 8, 32 rows: 0.28
 * instead of 0.5 bits per element). Precision barely matters here: the codec quantizes the residual
 * against the stored mean, so a coarser mean only moves a little energy into the residual, and
 * decoding stays exact for rows equal to the stored mean.
 */

const maximumCode = 127;
const minimumExponent = -128;
const maximumExponent = 127;

/** Bytes of a stored mean of `dimension` channels. */
export function blockMeanByteLength(dimension: number): number {
  return 1 + dimension;
}

/**
 * Writes the mean of `count` rows of `vectors` (row-major, `dimension` wide) at data[offset ..] and
 * leaves the decoded (stored) mean in `mean`.
 */
export function writeBlockMean(vectors: Float32Array, count: number, dimension: number, data: Uint8Array, offset: number, mean: Float32Array): void {
  let largest = 0;
  for (let index = 0; index < dimension; index++) {
    let sum = 0;
    for (let row = 0; row < count; row++) sum += vectors[row * dimension + index];
    const value = count > 0 ? sum / count : 0;
    mean[index] = value;
    if (Math.abs(value) > largest) largest = Math.abs(value);
  }
  let exponent = minimumExponent;
  if (largest > 0) {
    exponent = Math.ceil(Math.log2(largest / maximumCode));
    // Math.log2 may land one below on exact powers of two.
    if (largest / 2 ** exponent > maximumCode) exponent += 1;
    exponent = Math.max(minimumExponent, Math.min(maximumExponent, exponent));
  }
  data[offset] = exponent & 0xff;
  const scale = 2 ** exponent;
  for (let index = 0; index < dimension; index++) {
    const code = Math.max(-maximumCode, Math.min(maximumCode, Math.round(mean[index] / scale)));
    data[offset + 1 + index] = code & 0xff;
  }
  readBlockMean(data, offset, dimension, mean);
}

/** Decodes a stored mean into `mean` and returns it. */
export function readBlockMean(data: Uint8Array, offset: number, dimension: number, mean: Float32Array): Float32Array {
  const scale = 2 ** ((data[offset] << 24) >> 24);
  for (let index = 0; index < dimension; index++) mean[index] = ((data[offset + 1 + index] << 24) >> 24) * scale;
  return mean;
}
