import { describe, expect, it } from "vitest";
import { createCodec } from "./create-codec.js";
import { gaussian, normalizedMse, randomUnitVectors, seededGenerator } from "./testing/test-vectors.js";

describe("QuaRot", () => {
  const dimension = 128;
  const count = 256;

  it("the Hadamard rotation removes outlier channels: beats the same per-head RTN without rotation", () => {
    // QuaRot (Ashkboos et al. 2024): rotating spreads a few large channels over all coordinates, so one per-head
    // range fits the data. Without rotation = KIVI's per-token asymmetric quantizer with a group of the whole head.
    const next = seededGenerator(9);
    const keys = new Float32Array(count * dimension);
    for (let row = 0; row < count; row++) {
      for (let column = 0; column < dimension; column++) keys[row * dimension + column] = (column % 32 === 0 ? 20 : 1) * gaussian(next);
    }
    const rotated = createCodec({ kind: "quarot", dimension, bits: 4 });
    const plain = createCodec({ kind: "kivi", dimension, bits: 4, role: "value", groupSize: dimension });
    const rotatedError = normalizedMse(keys, rotated.decode(rotated.encode(keys, count, dimension)), count, dimension);
    const plainError = normalizedMse(keys, plain.decode(plain.encode(keys, count, dimension)), count, dimension);
    expect(rotatedError).toBeLessThan(plainError / 2);
  });

  it("4-bit error on unit vectors is near uniform quantization of a Gaussian coordinate", () => {
    // After rotation coordinates are ≈ N(0, 1/d); the clipped range 0.95·(max − min) over d=128 samples is
    // ≈ 0.95·2·2.6σ, so step ≈ 4.9σ/15 and uniform error step²/12 ≈ 0.0089σ² per coordinate (×d → ≈ 0.009),
    // plus clipping of the two extremes. Accept 0.006..0.013.
    const vectors = randomUnitVectors(count, dimension, 3);
    const codec = createCodec({ kind: "quarot", dimension, bits: 4 });
    const error = normalizedMse(vectors, codec.decode(codec.encode(vectors, count, dimension)), count, dimension);
    expect(error).toBeGreaterThan(0.006);
    expect(error).toBeLessThan(0.013);
  });
});
