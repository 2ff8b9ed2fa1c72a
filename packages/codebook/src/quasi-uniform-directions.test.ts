import { describe, expect, it } from "vitest";
import { generalizedGoldenRatio, goldenRatio, quasiUniformDirections } from "./quasi-uniform-directions.js";
import { normalQuantile } from "./normal-quantile.js";
import { createRandom } from "./random.js";

function nearestNeighbourDistances(points: Float64Array, count: number, dimension: number): Float64Array {
  const distances = new Float64Array(count).fill(Infinity);
  for (let i = 0; i < count; i++) {
    for (let j = 0; j < count; j++) {
      if (i === j) continue;
      let squared = 0;
      for (let c = 0; c < dimension; c++) squared += (points[i * dimension + c] - points[j * dimension + c]) ** 2;
      distances[i] = Math.min(distances[i], Math.sqrt(squared));
    }
  }
  return distances;
}

function spread(distances: Float64Array): { minimum: number; variation: number } {
  const mean = distances.reduce((sum, value) => sum + value, 0) / distances.length;
  const variance = distances.reduce((sum, value) => sum + (value - mean) ** 2, 0) / distances.length;
  return { minimum: Math.min(...distances) / mean, variation: Math.sqrt(variance) / mean };
}

function randomDirections(count: number, dimension: number, seed: number): Float64Array {
  const random = createRandom(seed);
  const out = new Float64Array(count * dimension);
  for (let i = 0; i < count; i++) {
    let squared = 0;
    for (let c = 0; c < dimension; c++) {
      out[i * dimension + c] = random.nextGaussian();
      squared += out[i * dimension + c] ** 2;
    }
    for (let c = 0; c < dimension; c++) out[i * dimension + c] /= Math.sqrt(squared);
  }
  return out;
}

describe("quasiUniformDirections", () => {
  it("gives unit vectors that are more evenly spread than random ones (nearest-neighbour distance spread)", () => {
    for (const [dimension, count] of [[2, 100], [3, 200], [4, 256], [8, 256]]) {
      const points = quasiUniformDirections(dimension, count);
      for (let i = 0; i < count; i++) {
        let squared = 0;
        for (let c = 0; c < dimension; c++) squared += points[i * dimension + c] ** 2;
        expect(squared).toBeCloseTo(1, 12);
      }
      const quasi = spread(nearestNeighbourDistances(points, count, dimension));
      const random = spread(nearestNeighbourDistances(randomDirections(count, dimension, 9), count, dimension));
      // Low discrepancy: a larger smallest gap and a smaller coefficient of variation than i.i.d. uniform points.
      expect(quasi.minimum).toBeGreaterThan(random.minimum);
      expect(quasi.variation).toBeLessThan(random.variation);
    }
  });

  it("uses the golden angle for k = 2 and the generalized golden ratio for k ≥ 4", () => {
    const spiral = quasiUniformDirections(2, 3);
    const angle = Math.atan2(spiral[3], spiral[2]);
    // 2π/φ² = 2.39996… rad (the golden angle).
    expect(angle).toBeCloseTo((2 * Math.PI) / (goldenRatio * goldenRatio), 12);
    // g_1 = φ; g_2 = 1.32471795724… (plastic number); g^(m+1) = g + 1.
    expect(generalizedGoldenRatio(1)).toBeCloseTo(goldenRatio, 14);
    expect(generalizedGoldenRatio(2)).toBeCloseTo(1.324717957244746, 14);
    const g = generalizedGoldenRatio(4);
    expect(g ** 5).toBeCloseTo(g + 1, 13);
  });

  it("maps through an accurate normal quantile", () => {
    // Φ⁻¹(0.975) = 1.959963984540054, Φ⁻¹(1e-10) = −6.361340902404056 (standard tables).
    expect(normalQuantile(0.975)).toBeCloseTo(1.959963984540054, 12);
    expect(normalQuantile(1e-10)).toBeCloseTo(-6.361340902404056, 9);
    expect(normalQuantile(0.5)).toBe(0);
  });
});

describe("mapCubeToSphere", () => {
  it("pushes uniform cube points to uniform directions (second moments 1/k, odd moments 0)", () => {
    // For a uniform direction in R^k, E[x_i²] = 1/k and E[x_i x_j] = 0; 20000 Roberts points, tolerance 0.01.
    for (const dimension of [4, 6]) {
      const count = 20_000;
      const points = quasiUniformDirections(dimension, count);
      for (let i = 0; i < dimension; i++) {
        let second = 0;
        let cross = 0;
        for (let j = 0; j < count; j++) {
          second += points[j * dimension + i] ** 2;
          cross += points[j * dimension + i] * points[j * dimension + ((i + 1) % dimension)];
        }
        expect(second / count).toBeCloseTo(1 / dimension, 2);
        expect(Math.abs(cross / count)).toBeLessThan(0.01);
      }
    }
  });
});
