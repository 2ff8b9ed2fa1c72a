import { describe, expect, it } from "vitest";
import { createCodec } from "./create-codec.js";
import { normalizedMse, randomUnitVectors } from "./testing/test-vectors.js";

describe("TurboQuant-MSE", () => {
  const dimension = 128;
  const count = 2000;
  const vectors = randomUnitVectors(count, dimension, 2026);

  // Gaussian Lloyd–Max distortion, unit variance: Max (1960), "Quantizing for minimum distortion",
  // IRE Trans. Inf. Theory 6(1), Table I; TurboQuant (Zandieh et al. 2025) quotes them rounded.
  const maxGaussian = [0.3634, 0.1175, 0.03454, 0.009497];
  // Lloyd–Max for the exact Beta coordinate marginal at d = 128 (../shared/notes/codec-spec.md).
  const betaAtDimension128 = [0.3608, 0.1162, 0.03406, 0.009337];

  it.each([1, 2, 3, 4])("normalized MSE at %i bits is within 3%% of the Lloyd–Max optimum (d=128)", (bits) => {
    // fp32 norms so the measurement is the quantizer alone; 2000 vectors give a standard error of ≈0.3 %
    // (each per-vector error sums 128 coordinate errors), far inside the 3 % tolerance.
    const codec = createCodec({ kind: "turboquant", dimension, bits, norm: "fp32" });
    const decoded = codec.decode(codec.encode(vectors, count, dimension));
    const mse = normalizedMse(vectors, decoded, count, dimension);
    expect(Math.abs(mse / betaAtDimension128[bits - 1] - 1)).toBeLessThan(0.03);
    expect(Math.abs(mse / maxGaussian[bits - 1] - 1)).toBeLessThan(0.03);
    // TurboQuant's lower bound for any quantizer: 4^(−b).
    expect(mse).toBeGreaterThan(4 ** -bits);
  });

  it("costs bits + 16/d bits per element with fp16 norms, all-in", () => {
    // 128 rows: codes 128·2 bits + fp16 norm 16 bits per row, plus the 4-byte block header.
    const codec = createCodec({ kind: "turboquant", dimension, bits: 2 });
    expect(codec.bitsPerElement(128)).toBeCloseTo((128 * (128 * 2 + 16) + 32) / (128 * 128), 12);
  });

  it("with log8 norms costs 8 bits per row plus a 32-bit range per block", () => {
    const codec = createCodec({ kind: "turboquant", dimension: 8, bits: 4, norm: "log8" });
    // log8 at d = 8: 4 + 1 bits per element, plus the 32-bit fp16 range and the 32-bit header per block.
    expect(codec.bitsPerElement(64)).toBeCloseTo((64 * (8 * 4 + 8) + 32 + 32) / (64 * 8), 12);
  });
});
