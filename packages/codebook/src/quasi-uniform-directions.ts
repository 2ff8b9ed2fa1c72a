import { assertInteger } from "./codebook-error.js";
import { normalQuantile } from "./normal-quantile.js";

/** Golden ratio φ; the golden angle is 2π/φ². */
export const goldenRatio = (1 + Math.sqrt(5)) / 2;
const goldenAngle = (2 * Math.PI) / (goldenRatio * goldenRatio);

/**
 * The generalized golden ratio g_m: the unique positive root of g^(m+1) = g + 1 (g_1 = φ), which gives the
 * Roberts–Kronecker low-discrepancy sequence in [0, 1)^m with increments α_i = 1/g^i.
 */
export function generalizedGoldenRatio(dimension: number): number {
  assertInteger("dimension", dimension, 1);
  let g = 1.5;
  for (let iteration = 0; iteration < 100; iteration++) {
    const power = Math.pow(g, dimension);
    const next = g - (power * g - g - 1) / ((dimension + 1) * power - 1);
    if (Math.abs(next - g) < 1e-16) return next;
    g = next;
  }
  return g;
}

/** Point `index` of the Roberts–Kronecker sequence in [0, 1)^m: frac(½ + index·α_i), α_i = g_m^(−i). */
export function robertsKroneckerPoint(index: number, dimension: number, out: Float64Array, outOffset = 0, g = generalizedGoldenRatio(dimension)): void {
  let alpha = 1;
  for (let i = 0; i < dimension; i++) {
    alpha /= g;
    const value = 0.5 + index * alpha;
    out[outOffset + i] = value - Math.floor(value);
  }
}

/**
 * `count` quasi-uniform unit vectors on S^{k−1}, row by row (count × k):
 * k = 1: alternating ±1; k = 2: golden-angle spiral (angle 2π·j/φ²), or equally spaced when `evenCircle` is set;
 * k = 3: Fibonacci sphere (z_j = 1 − (2j + 1)/count, azimuth 2π·j/φ²);
 * k ≥ 4: Roberts–Kronecker points in [0, 1)^k mapped through the normal quantile per coordinate and normalized
 * (a spherically symmetric Gaussian pushed to the sphere is uniform, so low discrepancy carries over).
 */
export function quasiUniformDirections(blockSize: number, count: number, options: { evenCircle?: boolean; start?: number } = {}): Float64Array {
  assertInteger("blockSize", blockSize, 1);
  assertInteger("count", count, 0);
  const start = options.start ?? 0;
  const out = new Float64Array(count * blockSize);
  if (blockSize === 1) {
    for (let j = 0; j < count; j++) out[j] = (j + start) % 2 === 0 ? 1 : -1;
    return out;
  }
  if (blockSize === 2) {
    for (let j = 0; j < count; j++) {
      const angle = options.evenCircle === true ? (2 * Math.PI * j) / count : goldenAngle * (j + start);
      out[2 * j] = Math.cos(angle);
      out[2 * j + 1] = Math.sin(angle);
    }
    return out;
  }
  if (blockSize === 3) {
    for (let j = 0; j < count; j++) {
      const z = 1 - (2 * j + 1) / count;
      const radius = Math.sqrt(Math.max(0, 1 - z * z));
      const azimuth = goldenAngle * j;
      out[3 * j] = radius * Math.cos(azimuth);
      out[3 * j + 1] = radius * Math.sin(azimuth);
      out[3 * j + 2] = z;
    }
    return out;
  }
  const g = generalizedGoldenRatio(blockSize);
  const point = new Float64Array(blockSize);
  for (let j = 0; j < count; j++) {
    // Index 0 is the cube centre, which maps to the zero vector; start the sequence at 1.
    robertsKroneckerPoint(j + start + 1, blockSize, point, 0, g);
    let squaredNorm = 0;
    for (let i = 0; i < blockSize; i++) {
      // Keep the uniform strictly inside (0, 1) so the quantile is finite.
      const u = Math.min(Math.max(point[i], 1e-12), 1 - 1e-12);
      const value = normalQuantile(u);
      out[j * blockSize + i] = value;
      squaredNorm += value * value;
    }
    const scale = 1 / Math.sqrt(squaredNorm);
    for (let i = 0; i < blockSize; i++) out[j * blockSize + i] *= scale;
  }
  return out;
}
