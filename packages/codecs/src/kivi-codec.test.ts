import { describe, expect, it } from "vitest";
import { createCodec } from "./create-codec.js";
import { gaussian, kvLikeVectors, normalizedMse, seededGenerator } from "./testing/test-vectors.js";

describe("KIVI", () => {
  const dimension = 64;
  const count = 70; // two full 32-token groups and a partial group of 6
  const vectors = kvLikeVectors(count, dimension, 21);

  it.each([
    ["key", 2],
    ["key", 4],
    ["value", 2],
    ["value", 4],
  ] as const)("%s role at %i bits: every element within half a step of its group's range", (role, bits) => {
    const codec = createCodec({ kind: "kivi", dimension, bits, role });
    const decoded = codec.decode(codec.encode(vectors, count, dimension));
    const levels = 2 ** bits;
    for (let row = 0; row < count; row++) {
      for (let column = 0; column < dimension; column++) {
        // Group members: keys share (scale, zero) per channel over tokens [32g, 32g+32); values per token over channels.
        let minimum = Infinity;
        let maximum = -Infinity;
        if (role === "key") {
          const first = Math.floor(row / 32) * 32;
          for (let other = first; other < Math.min(count, first + 32); other++) {
            minimum = Math.min(minimum, vectors[other * dimension + column]);
            maximum = Math.max(maximum, vectors[other * dimension + column]);
          }
        } else {
          const first = Math.floor(column / 32) * 32;
          for (let other = first; other < Math.min(dimension, first + 32); other++) {
            minimum = Math.min(minimum, vectors[row * dimension + other]);
            maximum = Math.max(maximum, vectors[row * dimension + other]);
          }
        }
        // Asymmetric uniform quantization: |x − x̂| ≤ step/2, step = (max − min)/(2^b − 1); scale and zero are
        // fp16 (relative rounding 2^-11), which can move a reconstruction by ≤ 2^-11·(|min| + (2^b − 1)·step).
        const step = (maximum - minimum) / (levels - 1);
        const slack = 2 ** -11 * (Math.abs(minimum) + levels * step) + 1e-6;
        const index = row * dimension + column;
        expect(Math.abs(vectors[index] - decoded[index])).toBeLessThanOrEqual(step / 2 + slack);
      }
    }
  });

  it("quantizing keys per channel beats per-token quantization on keys with outlier channels (KIVI's premise)", () => {
    // KIVI (Liu et al. 2024, Fig. 2): key magnitudes are set by a few fixed outlier channels, so a per-token range
    // is wide while each channel's range over tokens is narrow. Model that: channel offset (±10 on every 8th
    // channel, else ±1) plus small per-token noise.
    const next = seededGenerator(5);
    const keys = new Float32Array(count * dimension);
    for (let row = 0; row < count; row++) {
      for (let column = 0; column < dimension; column++) {
        const offset = (column % 8 === 0 ? 10 : 1) * (column % 3 === 0 ? -1 : 1);
        keys[row * dimension + column] = offset + 0.3 * gaussian(next);
      }
    }
    const perChannel = createCodec({ kind: "kivi", dimension, bits: 2, role: "key" });
    const perToken = createCodec({ kind: "kivi", dimension, bits: 2, role: "value" });
    const channelError = normalizedMse(keys, perChannel.decode(perChannel.encode(keys, count, dimension)), count, dimension);
    const tokenError = normalizedMse(keys, perToken.decode(perToken.encode(keys, count, dimension)), count, dimension);
    expect(channelError).toBeLessThan(tokenError);
  });

  it("counts fp16 scale and zero per group in bits per element", () => {
    // Keys, 128 rows = 4 token groups: 128·64·2 code bits + 4·64 groups·32 bits + 32-bit header.
    expect(createCodec({ kind: "kivi", dimension, bits: 2, role: "key" }).bitsPerElement(128)).toBeCloseTo(
      (128 * 64 * 2 + 4 * 64 * 32 + 32) / (128 * 64),
      12,
    );
    // Values: per row 2 channel groups of 32 → 2·32 bits per row.
    expect(createCodec({ kind: "kivi", dimension, bits: 4, role: "value" }).bitsPerElement(128)).toBeCloseTo(
      (128 * 64 * 4 + 128 * 2 * 32 + 32) / (128 * 64),
      12,
    );
  });
});
