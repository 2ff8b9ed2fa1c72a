/** Deterministic test data shared by the codec tests (not exported from the package). */

import { mulberry32 as seededGenerator } from "@kvpack/codebook";

export { seededGenerator };

/** Standard normal samples (Box–Muller). */
export function gaussian(next: () => number): number {
  const radius = Math.sqrt(-2 * Math.log(1 - next()));
  return radius * Math.cos(2 * Math.PI * next());
}

/** `count` vectors uniform on the unit sphere S^{d−1}. */
export function randomUnitVectors(count: number, dimension: number, seed: number): Float32Array {
  const next = seededGenerator(seed);
  const out = new Float32Array(count * dimension);
  const row = new Float64Array(dimension);
  for (let index = 0; index < count; index++) {
    let squared = 0;
    for (let column = 0; column < dimension; column++) {
      row[column] = gaussian(next);
      squared += row[column] * row[column];
    }
    const scale = 1 / Math.sqrt(squared);
    for (let column = 0; column < dimension; column++) out[index * dimension + column] = row[column] * scale;
  }
  return out;
}

/** KV-like rows: per-channel offsets and scales (outlier channels, as in real keys) and varying norms. */
export function kvLikeVectors(count: number, dimension: number, seed: number): Float32Array {
  const next = seededGenerator(seed);
  const offsets = Array.from({ length: dimension }, () => gaussian(next) * 0.5);
  const scales = Array.from({ length: dimension }, (_, column) => (column % 17 === 3 ? 6 : 0.5 + next()));
  const out = new Float32Array(count * dimension);
  for (let row = 0; row < count; row++) {
    const rowScale = 0.5 + 2 * next();
    for (let column = 0; column < dimension; column++) {
      out[row * dimension + column] = rowScale * (offsets[column] + scales[column] * gaussian(next));
    }
  }
  return out;
}

/** Mean of ‖x − x̂‖² / ‖x‖² over rows. */
export function normalizedMse(original: Float32Array, decoded: Float32Array, count: number, dimension: number): number {
  let total = 0;
  for (let row = 0; row < count; row++) {
    let error = 0;
    let energy = 0;
    for (let column = 0; column < dimension; column++) {
      const value = original[row * dimension + column];
      const difference = value - decoded[row * dimension + column];
      error += difference * difference;
      energy += value * value;
    }
    total += error / energy;
  }
  return total / count;
}
