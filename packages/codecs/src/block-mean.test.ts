import { describe, expect, it } from "vitest";
import { blockMeanByteLength, readBlockMean, writeBlockMean } from "./block-mean.js";
import { gaussian, seededGenerator } from "./testing/test-vectors.js";

function storedMean(vectors: Float32Array, count: number, dimension: number): { data: Uint8Array; mean: Float32Array } {
  const data = new Uint8Array(blockMeanByteLength(dimension));
  const mean = new Float32Array(dimension);
  writeBlockMean(vectors, count, dimension, data, 0, mean);
  return { data, mean };
}

describe("block mean (int8 codes × 2^e)", () => {
  it("keeps every channel within half a step, the step at most max|μ| / 63.5", () => {
    const next = seededGenerator(3);
    for (const dimension of [8, 16, 64]) {
      const count = 32;
      const vectors = Float32Array.from({ length: count * dimension }, (_, index) => (index % dimension === 1 ? -12 : 0.3) + 2 * gaussian(next));
      const { data, mean } = storedMean(vectors, count, dimension);
      let largest = 0;
      const exact = new Float64Array(dimension);
      for (let index = 0; index < dimension; index++) {
        for (let row = 0; row < count; row++) exact[index] += vectors[row * dimension + index] / count;
        largest = Math.max(largest, Math.abs(exact[index]));
      }
      // The exponent is the smallest with max|μ| / 2^e ≤ 127, so 2^e < max|μ| / 63.5 (closed form).
      const step = 2 ** ((data[0] << 24) >> 24);
      expect(step).toBeLessThan(largest / 63.5);
      for (let index = 0; index < dimension; index++) {
        expect(Math.abs(mean[index] - exact[index])).toBeLessThanOrEqual(step / 2 + 1e-12);
      }
      expect(readBlockMean(data, 0, dimension, new Float32Array(dimension))).toEqual(mean);
    }
  });

  it("stores a zero mean as zeros and is idempotent on a stored mean", () => {
    const zero = storedMean(new Float32Array(16), 2, 8);
    expect(Array.from(zero.mean)).toEqual(new Array(8).fill(0));
    const first = storedMean(Float32Array.from([1.3, -0.2, 5.5, 0.001, -7.25, 3, 2, 1]), 1, 8);
    const second = storedMean(first.mean, 1, 8);
    expect(second.data).toEqual(first.data);
    expect(second.mean).toEqual(first.mean);
  });

  it("covers huge and tiny magnitudes by the exponent byte (clamped to [−128, 127])", () => {
    const huge = storedMean(Float32Array.from([3e38, -1e38, 0, 1]), 1, 4);
    expect(Math.abs(huge.mean[0] / 3e38 - 1)).toBeLessThan(1 / 127);
    const tiny = storedMean(Float32Array.from([1e-44, 0, 0, 0]), 1, 4);
    // 2^-128 steps cannot hold 1e-44 (< 2^-129): it rounds to 0 and the codec's residual carries it.
    expect(tiny.data[0]).toBe(0x80);
    expect(tiny.mean[0]).toBe(0);
  });
});
