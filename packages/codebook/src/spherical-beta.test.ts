import { describe, expect, it } from "vitest";
import { coordinateCumulative, coordinateDensity, coordinateQuantile, sampleSphericalBeta } from "./spherical-beta.js";
import { createRandom } from "./random.js";

describe("coordinateDensity", () => {
  it("integrates to one and has variance 1/d (Simpson in θ with t = sin θ, 1e-9)", () => {
    for (const dimension of [4, 8, 64, 128]) {
      const steps = 20_000;
      const h = Math.PI / steps;
      let mass = 0;
      let second = 0;
      for (let i = 0; i <= steps; i++) {
        const theta = -Math.PI / 2 + i * h;
        const t = Math.sin(theta);
        const weight = i === 0 || i === steps ? 1 : i % 2 === 1 ? 4 : 2;
        const density = coordinateDensity(t, dimension) * Math.cos(theta);
        mass += weight * density;
        second += weight * density * t * t;
      }
      expect((mass * h) / 3).toBeCloseTo(1, 9);
      // E[y_i²] = 1/d because the d squared coordinates of a unit vector sum to 1 and are exchangeable.
      expect((second * h) / 3).toBeCloseTo(1 / dimension, 9);
    }
  });

  it("is uniform on [−1, 1] at d = 3 (Archimedes' hat-box theorem)", () => {
    expect(coordinateDensity(0.3, 3)).toBeCloseTo(0.5, 14);
    expect(coordinateCumulative(0.3, 3)).toBeCloseTo(0.65, 13);
    expect(coordinateQuantile(0.65, 3)).toBeCloseTo(0.3, 12);
  });
});

describe("sampleSphericalBeta", () => {
  it("has E‖y_block‖² = k/d and uniform direction moments", () => {
    const random = createRandom(7);
    for (const [dimension, blockSize] of [[128, 2], [128, 4], [64, 8], [8, 8], [16, 3]]) {
      const count = 100_000;
      const samples = sampleSphericalBeta(dimension, blockSize, count, random);
      let squaredNorm = 0;
      let squaredNormSquared = 0;
      let firstCoordinateSquared = 0;
      let crossProduct = 0;
      for (let i = 0; i < count; i++) {
        let norm = 0;
        for (let j = 0; j < blockSize; j++) norm += samples[i * blockSize + j] ** 2;
        squaredNorm += norm;
        squaredNormSquared += norm * norm;
        firstCoordinateSquared += samples[i * blockSize] ** 2;
        if (blockSize > 1) crossProduct += samples[i * blockSize] * samples[i * blockSize + 1];
      }
      const a = blockSize / 2;
      const b = (dimension - blockSize) / 2;
      const mean = a / (a + b);
      const variance = (a * b) / ((a + b) ** 2 * (a + b + 1));
      // Beta(k/2, (d−k)/2) mean k/d; tolerance 4 standard errors of the sample mean.
      const meanTolerance = 4 * Math.sqrt(variance / count) + 1e-6;
      expect(Math.abs(squaredNorm / count - mean)).toBeLessThan(meanTolerance);
      if (blockSize < dimension) {
        // Second moment of the Beta law: variance + mean², within 5 %.
        expect(squaredNormSquared / count / (variance + mean * mean)).toBeGreaterThan(0.95);
        expect(squaredNormSquared / count / (variance + mean * mean)).toBeLessThan(1.05);
      }
      expect(firstCoordinateSquared / count).toBeCloseTo(1 / dimension, 2);
      expect(Math.abs(crossProduct / count)).toBeLessThan(5 / (dimension * Math.sqrt(count)) + 1e-5);
    }
  });

  it("is deterministic from the seed and fills a caller buffer", () => {
    const first = sampleSphericalBeta(32, 4, 100, createRandom(11));
    const buffer = new Float32Array(400);
    sampleSphericalBeta(32, 4, 100, createRandom(11), buffer);
    expect(Array.from(buffer)).toEqual(Array.from(first));
    expect(() => sampleSphericalBeta(32, 4, 100, createRandom(11), new Float32Array(10))).toThrow(/needs 400/);
  });
});

describe("block squared norm law", () => {
  it("sampled ‖y_block‖² follows Beta(k/2, (d−k)/2) (Kolmogorov–Smirnov, 1 % level)", async () => {
    const { blockSquaredNormCumulative } = await import("./spherical-beta.js");
    for (const [dimension, blockSize] of [[128, 4], [16, 3], [8, 2]]) {
      const count = 20_000;
      const samples = sampleSphericalBeta(dimension, blockSize, count, createRandom(31));
      const squaredNorms = new Float64Array(count);
      for (let i = 0; i < count; i++) {
        let sum = 0;
        for (let j = 0; j < blockSize; j++) sum += samples[i * blockSize + j] ** 2;
        squaredNorms[i] = sum;
      }
      squaredNorms.sort();
      let statistic = 0;
      for (let i = 0; i < count; i++) {
        const cumulative = blockSquaredNormCumulative(squaredNorms[i], dimension, blockSize);
        statistic = Math.max(statistic, Math.abs(cumulative - i / count), Math.abs(cumulative - (i + 1) / count));
      }
      // Asymptotic KS critical value at 1 %: 1.628/√n.
      expect(statistic).toBeLessThan(1.628 / Math.sqrt(count));
    }
  });

  it("coordinateQuantile inverts coordinateCumulative", () => {
    for (const dimension of [2, 5, 128]) {
      // At d = 2 the law is arcsine, and p = 1e-9 sits within 1 ulp of t = −1 (CDF step there ≈ 4.7e-9), so the
      // smallest p is only used for d > 2.
      for (const p of [dimension === 2 ? 1e-6 : 1e-9, 0.01, 0.3, 0.5, 0.77, 0.999]) {
        // 1e-9 relative in the smaller tail, plus what one ulp of t moves the CDF (density × 2.2e-16 × 4).
        const t = coordinateQuantile(p, dimension);
        const allowed = 1e-9 * Math.min(p, 1 - p) + 4 * Number.EPSILON * coordinateDensity(t, dimension);
        expect(Math.abs(coordinateCumulative(t, dimension) - p)).toBeLessThan(allowed);
      }
    }
  });
});
