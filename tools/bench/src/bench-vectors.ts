/** Seeded random inputs for benchmarks (mulberry32 + Box–Muller). */

import { mulberry32 as seededGenerator } from "@kvpack/codebook";

export { seededGenerator };

/** `count` float32 vectors uniform on the unit sphere in R^dimension. */
export function randomUnitVectors(count: number, dimension: number, seed: number): Float32Array {
  const next = seededGenerator(seed);
  const out = new Float32Array(count * dimension);
  for (let row = 0; row < count; row++) {
    let squared = 0;
    for (let column = 0; column < dimension; column++) {
      const value = Math.sqrt(-2 * Math.log(1 - next())) * Math.cos(2 * Math.PI * next());
      out[row * dimension + column] = value;
      squared += value * value;
    }
    const scale = 1 / Math.sqrt(squared);
    for (let column = 0; column < dimension; column++) out[row * dimension + column] *= scale;
  }
  return out;
}
