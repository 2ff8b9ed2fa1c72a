import { describe, expect, it } from "vitest";
import { buildScalarCodebook, quantizeScalar } from "./scalar-codebook.js";
import { coordinateDensity } from "./spherical-beta.js";

/**
 * Independent check by quadrature: each cell [threshold_j, threshold_{j+1}] is integrated separately with composite
 * Simpson in θ (t = sin θ, which also removes the d = 2 endpoint singularity), so no panel straddles a cell edge.
 */
function integrateDistortion(levels: Float32Array, dimension: number): { distortion: number; centroidError: number } {
  const count = levels.length;
  const steps = 4000;
  let distortion = 0;
  let centroidError = 0;
  for (let j = 0; j < count; j++) {
    const low = j === 0 ? -Math.PI / 2 : Math.asin(0.5 * (levels[j - 1] + levels[j]));
    const high = j === count - 1 ? Math.PI / 2 : Math.asin(0.5 * (levels[j] + levels[j + 1]));
    const h = (high - low) / steps;
    let mass = 0;
    let first = 0;
    for (let i = 0; i <= steps; i++) {
      const theta = low + i * h;
      const t = Math.sin(theta);
      const weight = (i === 0 || i === steps ? 1 : i % 2 === 1 ? 4 : 2) * (h / 3);
      // At θ = ±π/2 the Jacobian cos θ is 0 (and the d = 2 density is infinite): the product tends to a finite limit, 0 for d > 2.
      const density = Math.abs(theta) >= Math.PI / 2 ? (dimension === 2 ? 1 / Math.PI : 0) : coordinateDensity(t, dimension) * Math.cos(theta);
      mass += weight * density;
      first += weight * density * t;
      distortion += weight * density * (t - levels[j]) ** 2;
    }
    centroidError = Math.max(centroidError, Math.abs(first / mass - levels[j]));
  }
  return { distortion: dimension * distortion, centroidError };
}

describe("buildScalarCodebook", () => {
  it("reproduces the d = 128 Lloyd–Max distortions of codec-spec.md within 1 %", () => {
    // Source: ../shared/notes/codec-spec.md, "Our own Lloyd runs at d = 128": 0.3608, 0.1162, 0.03406, 0.009337
    // (those were sampled runs, hence 1 % tolerance).
    const targets = [0.3608, 0.1162, 0.03406, 0.009337];
    for (let bits = 1; bits <= 4; bits++) {
      const codebook = buildScalarCodebook({ sourceDimension: 128, bits });
      expect(Math.abs(codebook.distortion / targets[bits - 1] - 1)).toBeLessThan(0.01);
    }
  });

  it("approaches the Gaussian Max (1960) values as d grows and decreases monotonically in bits", () => {
    // Max (1960), unit-variance Gaussian Lloyd–Max: 0.3634, 0.1175, 0.03454, 0.009497 (codec-spec.md); d = 8192 within 0.2 %.
    const gaussian = [0.3634, 0.1175, 0.03454, 0.009497];
    for (let bits = 1; bits <= 4; bits++) {
      const codebook = buildScalarCodebook({ sourceDimension: 8192, bits });
      expect(Math.abs(codebook.distortion / gaussian[bits - 1] - 1)).toBeLessThan(0.002);
    }
    for (const dimension of [8, 64, 128]) {
      let previous = Infinity;
      for (let bits = 1; bits <= 8; bits++) {
        const codebook = buildScalarCodebook({ sourceDimension: dimension, bits });
        expect(codebook.distortion).toBeLessThan(previous);
        // TurboQuant's lower bound 4^(−b) for any quantizer (codec-spec.md).
        expect(codebook.distortion).toBeGreaterThan(4 ** -bits);
        previous = codebook.distortion;
      }
    }
  });

  it("is a fixed point of Lloyd's conditions and its distortion matches direct numerical integration", () => {
    for (const [dimension, bits] of [[128, 2], [128, 4], [8, 3], [2, 2], [64, 8]]) {
      const codebook = buildScalarCodebook({ sourceDimension: dimension, bits });
      expect(codebook.levels.length).toBe(2 ** bits);
      expect(codebook.thresholds.length).toBe(2 ** bits - 1);
      for (let j = 1; j < codebook.levels.length; j++) {
        expect(codebook.levels[j]).toBeGreaterThan(codebook.levels[j - 1]);
        expect(codebook.levels[j]).toBeCloseTo(-codebook.levels[codebook.levels.length - 1 - j], 7);
      }
      const check = integrateDistortion(codebook.levels, dimension);
      // Simpson with 4000 panels per cell: 1e-6 relative agreement expected; allow 1e-5.
      expect(Math.abs(check.distortion / codebook.distortion - 1)).toBeLessThan(1e-5);
      // Centroid condition: each level is its cell's mean up to float32 storage rounding (~6e-8 relative).
      expect(check.centroidError).toBeLessThan(1e-6 * Math.abs(codebook.levels[codebook.levels.length - 1]));
    }
  });

  it("quantizes to the nearest level and rejects bad options", () => {
    const codebook = buildScalarCodebook({ sourceDimension: 128, bits: 3 });
    for (let value = -0.5; value <= 0.5; value += 0.00137) {
      const index = quantizeScalar(codebook, value);
      for (let j = 0; j < codebook.levels.length; j++) {
        expect(Math.abs(value - codebook.levels[index])).toBeLessThanOrEqual(Math.abs(value - codebook.levels[j]) + 1e-9);
      }
    }
    expect(() => buildScalarCodebook({ sourceDimension: 1, bits: 2 })).toThrow(/sourceDimension/);
    expect(() => buildScalarCodebook({ sourceDimension: 128, bits: 0 })).toThrow(/bits/);
    expect(() => buildScalarCodebook({ sourceDimension: 128, bits: 2.5 })).toThrow(/bits/);
  });
});
