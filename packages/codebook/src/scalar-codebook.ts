import { logBeta, regularizedIncompleteBetaComplement } from "./beta-function.js";
import { CodebookError, assertInteger } from "./codebook-error.js";
import { coordinateDensity, coordinateQuantile } from "./spherical-beta.js";

export const scalarCodebookFormatVersion = 1;

/** Lloyd–Max quantizer for one coordinate of a rotated unit vector (the TurboQuant table). */
export interface ScalarCodebook {
  readonly kind: "scalar";
  readonly formatVersion: number;
  readonly sourceDimension: number;
  readonly bits: number;
  /** Ascending reconstruction levels, 2^bits of them, in unit-vector coordinates (≈ ±1/√d scale). */
  readonly levels: Float32Array;
  /** 2^bits − 1 decision thresholds, the midpoints of neighbouring levels. */
  readonly thresholds: Float32Array;
  /** Normalized MSE per unit vector, E‖u − û‖² = d × per-coordinate MSE, computed exactly (not sampled). */
  readonly distortion: number;
}

export interface ScalarCodebookOptions {
  sourceDimension: number;
  bits: number;
}

export const maximumScalarBits = 12;

/**
 * Exact partial moments of one coordinate T (density f(t) ∝ (1 − t²)^((d−3)/2)) over [τ, 1]:
 * mass P(T > τ) = ½·(1 − I_{τ²}(½, (d−1)/2)) and first moment ∫_τ^1 t f(t) dt = (1 − τ²)^((d−1)/2) / ((d−1)·B(½, (d−1)/2)).
 * Both are closed-form integrals of the exact density, so the table is deterministic and free of sampling noise.
 */
class CoordinateTailMoments {
  private readonly halfDegrees: number;
  private readonly firstMomentScale: number;

  constructor(private readonly dimension: number) {
    this.halfDegrees = (dimension - 1) / 2;
    this.firstMomentScale = 1 / ((dimension - 1) * Math.exp(logBeta(0.5, this.halfDegrees)));
  }

  mass(threshold: number): number {
    if (threshold <= 0) return 0.5;
    if (threshold >= 1) return 0;
    const oneMinusSquare = (1 - threshold) * (1 + threshold);
    return 0.5 * regularizedIncompleteBetaComplement(threshold * threshold, 0.5, this.halfDegrees, oneMinusSquare);
  }

  firstMoment(threshold: number): number {
    if (threshold >= 1) return 0;
    const oneMinusSquare = threshold <= 0 ? 1 : (1 - threshold) * (1 + threshold);
    return this.firstMomentScale * Math.exp(this.halfDegrees * Math.log(oneMinusSquare));
  }

  /** E[T²] = 1/d. */
  secondMomentTotal(): number {
    return 1 / this.dimension;
  }
}

/**
 * Builds the Lloyd–Max codebook with 2^bits levels for the exact coordinate marginal at dimension d.
 * Starts from the high-rate optimum (levels at quantiles of the companded law ∝ f^{1/3}, which is the same
 * family at dimension (d + 6)/3), then runs Lloyd's fixed-point iteration (thresholds at midpoints, levels at
 * conditional means) on the positive half line, using symmetry, until the levels stop moving.
 */
export function buildScalarCodebook(options: ScalarCodebookOptions): ScalarCodebook {
  const { sourceDimension, bits } = options;
  assertInteger("sourceDimension", sourceDimension, 2);
  assertInteger("bits", bits, 1, maximumScalarBits);
  const levelCount = 2 ** bits;
  const halfCount = levelCount / 2;
  const moments = new CoordinateTailMoments(sourceDimension);

  const companderDimension = (sourceDimension + 6) / 3;
  const half = new Float64Array(halfCount);
  for (let j = 0; j < halfCount; j++) {
    half[j] = coordinateQuantile((halfCount + j + 0.5) / levelCount, companderDimension);
  }

  const tailMass = new Float64Array(halfCount + 1);
  const tailMoment = new Float64Array(halfCount + 1);
  const densityAt = new Float64Array(halfCount + 1);
  const centroids = new Float64Array(halfCount);
  const residual = new Float64Array(halfCount);
  const evaluate = (positions: Float64Array): number => {
    tailMass[0] = 0.5;
    tailMoment[0] = moments.firstMoment(0);
    for (let j = 1; j < halfCount; j++) {
      const threshold = 0.5 * (positions[j - 1] + positions[j]);
      tailMass[j] = moments.mass(threshold);
      tailMoment[j] = moments.firstMoment(threshold);
      densityAt[j] = coordinateDensity(threshold, sourceDimension);
    }
    tailMass[halfCount] = 0;
    tailMoment[halfCount] = 0;
    let largest = 0;
    for (let j = 0; j < halfCount; j++) {
      const mass = tailMass[j] - tailMass[j + 1];
      centroids[j] = mass > 0 ? (tailMoment[j] - tailMoment[j + 1]) / mass : positions[j];
      residual[j] = positions[j] - centroids[j];
      largest = Math.max(largest, Math.abs(residual[j]));
    }
    return largest;
  };

  // Lloyd's map c ↦ centroid(c) converges only linearly (very slowly at 2^7, 2^8 levels), so solve
  // c − centroid(c) = 0 by Newton's method: the Jacobian is tridiagonal because cell j's centroid depends only on
  // its two thresholds, ½(c_{j−1} + c_j) and ½(c_j + c_{j+1}). A step that does not shrink the residual is halved,
  // and a plain Lloyd step is the fallback, so every accepted step is a descent.
  const lower = new Float64Array(halfCount);
  const diagonal = new Float64Array(halfCount);
  const upper = new Float64Array(halfCount);
  const step = new Float64Array(halfCount);
  const trial = new Float64Array(halfCount);
  // Targets: 1e-14 relative when the arithmetic allows; 1e-7 relative (the float32 rounding of the
  // stored levels, ~6e-8) is accepted when rounding noise in the tail masses stalls Newton earlier (d ≳ 1e5).
  const tolerance = 1e-14;
  const acceptableTolerance = 1e-7;
  let residualSize = evaluate(half);
  let converged = residualSize <= tolerance * half[halfCount - 1];
  for (let iteration = 0; iteration < 500 && !converged; iteration++) {
    for (let j = 0; j < halfCount; j++) {
      const mass = tailMass[j] - tailMass[j + 1];
      const centroid = centroids[j];
      const lowerThreshold = j > 0 ? 0.5 * (half[j - 1] + half[j]) : 0;
      const upperThreshold = j < halfCount - 1 ? 0.5 * (half[j] + half[j + 1]) : 1;
      const fromLower = j > 0 && mass > 0 ? (densityAt[j] * (centroid - lowerThreshold)) / mass : 0;
      const fromUpper = j < halfCount - 1 && mass > 0 ? (densityAt[j + 1] * (upperThreshold - centroid)) / mass : 0;
      lower[j] = -0.5 * fromLower;
      diagonal[j] = 1 - 0.5 * (fromLower + fromUpper);
      upper[j] = -0.5 * fromUpper;
      step[j] = -residual[j];
    }
    solveTridiagonal(lower, diagonal, upper, step);
    const previous = residualSize;
    let accepted = false;
    for (let scale = 1; scale >= 1 / 64 && !accepted; scale /= 2) {
      for (let j = 0; j < halfCount; j++) trial[j] = half[j] + scale * step[j];
      if (!isStrictlyIncreasingInUnitInterval(trial)) continue;
      const candidate = evaluate(trial);
      if (candidate < previous) {
        half.set(trial);
        residualSize = candidate;
        accepted = true;
      }
    }
    if (!accepted) {
      evaluate(half);
      half.set(centroids);
      residualSize = evaluate(half);
    }
    converged = residualSize <= tolerance * half[halfCount - 1];
    if (!converged && !accepted && residualSize >= previous) break;
  }
  if (!converged && !(residualSize <= acceptableTolerance * half[halfCount - 1])) {
    throw new CodebookError("not-converged", `scalar Lloyd–Max did not converge for d=${sourceDimension}, bits=${bits}`);
  }
  evaluate(half);

  // Per-coordinate MSE = E[T²] − Σ_cells (2·c·M1 − c²·P), doubled for the negative half.
  let gain = 0;
  for (let j = 0; j < halfCount; j++) {
    const mass = tailMass[j] - tailMass[j + 1];
    const firstMoment = tailMoment[j] - tailMoment[j + 1];
    gain += 2 * half[j] * firstMoment - half[j] * half[j] * mass;
  }
  const perCoordinate = moments.secondMomentTotal() - 2 * gain;

  const levels = new Float32Array(levelCount);
  for (let j = 0; j < halfCount; j++) {
    levels[halfCount + j] = half[j];
    levels[halfCount - 1 - j] = -half[j];
  }
  const thresholds = new Float32Array(levelCount - 1);
  for (let j = 0; j < levelCount - 1; j++) thresholds[j] = 0.5 * (levels[j] + levels[j + 1]);
  return {
    kind: "scalar",
    formatVersion: scalarCodebookFormatVersion,
    sourceDimension,
    bits,
    levels,
    thresholds,
    distortion: sourceDimension * perCoordinate,
  };
}

/** Index of the level nearest to `value` (binary search over the thresholds). */
export function quantizeScalar(codebook: ScalarCodebook, value: number): number {
  const thresholds = codebook.thresholds;
  let low = 0;
  let high = thresholds.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (value > thresholds[middle]) low = middle + 1;
    else high = middle;
  }
  return low;
}

/** Solves a tridiagonal system in place (Thomas algorithm); `right` becomes the solution. */
function solveTridiagonal(lower: Float64Array, diagonal: Float64Array, upper: Float64Array, right: Float64Array): void {
  const n = right.length;
  const modifiedUpper = new Float64Array(n);
  let pivot = diagonal[0];
  modifiedUpper[0] = upper[0] / pivot;
  right[0] /= pivot;
  for (let i = 1; i < n; i++) {
    pivot = diagonal[i] - lower[i] * modifiedUpper[i - 1];
    modifiedUpper[i] = upper[i] / pivot;
    right[i] = (right[i] - lower[i] * right[i - 1]) / pivot;
  }
  for (let i = n - 2; i >= 0; i--) right[i] -= modifiedUpper[i] * right[i + 1];
}

function isStrictlyIncreasingInUnitInterval(values: Float64Array): boolean {
  if (!(values[0] > 0) || !(values[values.length - 1] < 1)) return false;
  for (let i = 1; i < values.length; i++) if (!(values[i] > values[i - 1])) return false;
  return true;
}
