import { assertInteger } from "./codebook-error.js";
import { normalQuantile } from "./normal-quantile.js";
import { coordinateQuantile } from "./spherical-beta.js";

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
 * k ≥ 4: Roberts–Kronecker points in [0, 1)^(k−1) pushed to the sphere by the conditional inverse-CDF map
 * (`mapCubeToSphere`, measure preserving). The alternative `mapping: "gaussian"` (m = k, normal quantile per
 * coordinate, then normalize) was measured to leave near-duplicate directions: at k = 4, N = 256 its smallest
 * nearest-neighbour distance is 0.06× the mean, against 0.14× for i.i.d. random points.
 */
export function quasiUniformDirections(
  blockSize: number,
  count: number,
  options: { evenCircle?: boolean; start?: number; mapping?: "conditional" | "gaussian" } = {},
): Float64Array {
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
  const mapping = options.mapping ?? "conditional";
  if (mapping === "gaussian") {
    const g = generalizedGoldenRatio(blockSize);
    const point = new Float64Array(blockSize);
    for (let j = 0; j < count; j++) {
      // Index 0 is the cube centre, which maps to the zero vector; start the sequence at 1.
      robertsKroneckerPoint(j + start + 1, blockSize, point, 0, g);
      let squaredNorm = 0;
      for (let i = 0; i < blockSize; i++) {
        // Keep the uniform strictly inside (0, 1) so the quantile is finite.
        const value = normalQuantile(Math.min(Math.max(point[i], 1e-12), 1 - 1e-12));
        out[j * blockSize + i] = value;
        squaredNorm += value * value;
      }
      const scale = 1 / Math.sqrt(squaredNorm);
      for (let i = 0; i < blockSize; i++) out[j * blockSize + i] *= scale;
    }
    return out;
  }
  const g = generalizedGoldenRatio(blockSize - 1);
  const point = new Float64Array(blockSize - 1);
  for (let j = 0; j < count; j++) {
    robertsKroneckerPoint(j + start, blockSize - 1, point, 0, g);
    mapCubeToSphere(point, blockSize, out, j * blockSize);
  }
  return out;
}

/**
 * Measure-preserving map from [0, 1)^(k−1) to S^{k−1}: the first coordinate of a uniform unit vector in R^m has the
 * law of `coordinateQuantile(·, m)`; given it, the rest is a uniform direction in R^(m−1) scaled by √(1 − t²).
 * Peeling coordinates this way down to the circle (angle 2π·u) turns uniform cube points into uniform directions.
 */
export function mapCubeToSphere(point: ArrayLike<number>, blockSize: number, out: Float64Array, outOffset: number): void {
  let scale = 1;
  for (let i = 0; i < blockSize - 2; i++) {
    const t = coordinateQuantile(Math.min(Math.max(point[i], 1e-15), 1 - 1e-15), blockSize - i);
    out[outOffset + i] = scale * t;
    scale *= Math.sqrt(Math.max(0, (1 - t) * (1 + t)));
  }
  const angle = 2 * Math.PI * point[blockSize - 2];
  out[outOffset + blockSize - 2] = scale * Math.cos(angle);
  out[outOffset + blockSize - 1] = scale * Math.sin(angle);
}
