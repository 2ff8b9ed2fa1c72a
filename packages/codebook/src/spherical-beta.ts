import { regularizedIncompleteBeta, regularizedIncompleteBetaComplement, logBeta, betaQuantile } from "./beta-function.js";
import { CodebookError, assertInteger } from "./codebook-error.js";
import { sampleGamma, type SeededRandom } from "./random.js";

/**
 * The spherical-Beta source: a block of k consecutive coordinates of a uniform unit vector in R^d
 * (equivalently, of any unit vector after a Haar rotation). Its squared norm is Beta(k/2, (d−k)/2)
 * and its direction is uniform on S^{k−1}, independent of the norm.
 */

function assertDimension(dimension: number): void {
  assertInteger("dimension", dimension, 2);
}

/** Density of one coordinate t of a uniform unit vector in R^d: (1 − t²)^((d−3)/2) / B(1/2, (d−1)/2) on [−1, 1]. */
export function coordinateDensity(t: number, dimension: number): number {
  assertDimension(dimension);
  if (Number.isNaN(t)) throw new CodebookError("invalid-argument", "t must not be NaN");
  if (t <= -1 || t >= 1) {
    if ((t === 1 || t === -1) && dimension === 2) return Infinity;
    if ((t === 1 || t === -1) && dimension === 3) return 0.5;
    return 0;
  }
  const exponent = (dimension - 3) / 2;
  return Math.exp(exponent * Math.log1p(-t * t) - logBeta(0.5, (dimension - 1) / 2));
}

/** P(T ≤ t) for one coordinate T of a uniform unit vector in R^d (T² ~ Beta(1/2, (d−1)/2), sign symmetric). */
export function coordinateCumulative(t: number, dimension: number): number {
  assertDimension(dimension);
  if (Number.isNaN(t)) throw new CodebookError("invalid-argument", "t must not be NaN");
  if (t <= -1) return 0;
  if (t >= 1) return 1;
  const tail = 0.5 * regularizedIncompleteBetaComplement(t * t, 0.5, (dimension - 1) / 2);
  return t >= 0 ? 1 - tail : tail;
}

/** Inverse of `coordinateCumulative`. Accepts a non-integer dimension ≥ 2 (used for companded laws). */
export function coordinateQuantile(p: number, dimension: number): number {
  if (!(dimension >= 2) || !Number.isFinite(dimension)) {
    throw new CodebookError("invalid-argument", `dimension must be a finite number ≥ 2, got ${dimension}`);
  }
  if (!(p >= 0 && p <= 1)) throw new CodebookError("invalid-argument", `p must lie in [0, 1], got ${p}`);
  // Two-sided tail mass P(|T| > |t|) = q. In the tails, solve for 1 − t² through the mirrored Beta law
  // (1 − T² ~ Beta((d−1)/2, ½)) so that q keeps its relative precision; near the centre solve for t² directly.
  const q = 2 * Math.min(p, 1 - p);
  const halfDegrees = (dimension - 1) / 2;
  const squared = q < 0.5 ? 1 - betaQuantile(q, halfDegrees, 0.5) : betaQuantile(1 - q, 0.5, halfDegrees);
  const magnitude = Math.sqrt(squared);
  return p < 0.5 ? -magnitude : magnitude;
}

/** P(‖y_block‖² ≤ s) with ‖y_block‖² ~ Beta(k/2, (d−k)/2); defined for k < d. */
export function blockSquaredNormCumulative(squaredNorm: number, dimension: number, blockSize: number): number {
  assertDimension(dimension);
  assertInteger("blockSize", blockSize, 1, dimension - 1);
  return regularizedIncompleteBeta(squaredNorm, blockSize / 2, (dimension - blockSize) / 2);
}

/**
 * Draws `count` blocks of `blockSize` coordinates from the spherical-Beta source of dimension `dimension`,
 * written row by row into `out` (count × blockSize). Each block is g / √(‖g‖² + 2·G) with g ~ N(0, I_k) and
 * G ~ Gamma((d − k)/2): the other d − k coordinates enter only through their squared norm, so a block costs
 * k normals and one Gamma draw instead of d normals.
 */
export function sampleSphericalBeta(
  dimension: number,
  blockSize: number,
  count: number,
  random: SeededRandom,
  out?: Float32Array,
): Float32Array {
  assertInteger("dimension", dimension, 1);
  assertInteger("blockSize", blockSize, 1, dimension);
  assertInteger("count", count, 0);
  const length = count * blockSize;
  if (out !== undefined && out.length < length) {
    throw new CodebookError("invalid-argument", `out holds ${out.length} values, needs ${length} (count × blockSize)`);
  }
  const target = out ?? new Float32Array(length);
  const restShape = (dimension - blockSize) / 2;
  for (let sample = 0; sample < count; sample++) {
    const base = sample * blockSize;
    let squaredNorm = 0;
    for (let j = 0; j < blockSize; j++) {
      const value = random.nextGaussian();
      target[base + j] = value;
      squaredNorm += value * value;
    }
    const rest = restShape > 0 ? 2 * sampleGamma(restShape, random) : 0;
    const total = squaredNorm + rest;
    if (!(total > 0)) {
      // Probability zero in exact arithmetic; redraw the block rather than divide by zero.
      sample--;
      continue;
    }
    const scale = 1 / Math.sqrt(total);
    for (let j = 0; j < blockSize; j++) target[base + j] *= scale;
  }
  return target;
}
