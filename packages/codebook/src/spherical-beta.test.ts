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
