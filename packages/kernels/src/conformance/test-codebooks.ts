import { seededRandom, gaussianArray } from "./seeded-random.js";

const goldenRatio = (1 + Math.sqrt(5)) / 2;

/**
 * FibQuant's initial k = 2 codebook (codec-spec.md): radius r_n = √(1 − (1 − q_n)^(4/d)),
 * q_n = (n − ½)/N, direction at the golden angle 2π·n/φ². Radius grows with n: the shell structure
 * the encode search prunes on.
 */
export function fibonacciCodebook(size: number, dimension: number): Float32Array {
  const codewords = new Float32Array(size * 2);
  for (let n = 1; n <= size; n++) {
    const quantile = (n - 0.5) / size;
    const radius = Math.sqrt(1 - Math.pow(1 - quantile, 4 / dimension));
    const angle = (2 * Math.PI * n) / (goldenRatio * goldenRatio);
    codewords[(n - 1) * 2] = radius * Math.cos(angle);
    codewords[(n - 1) * 2 + 1] = radius * Math.sin(angle);
  }
  return codewords;
}

/** Symmetric uniform scalar levels spanning ±2.5/√d (a coordinate of a unit vector is ≈ N(0, 1/d)). */
export function scalarLevels(size: number, dimension: number): Float32Array {
  const span = 2.5 / Math.sqrt(dimension);
  return Float32Array.from({ length: size }, (_, index) => -span + (2 * span * (index + 0.5)) / size);
}

/** Random Gaussian codewords of `blockSize` floats at the scale of a unit vector's block. */
export function randomCodebook(seed: number, size: number, blockSize: number, dimension: number): Float32Array {
  return gaussianArray(seededRandom(seed), size * blockSize, 1 / Math.sqrt(dimension));
}
