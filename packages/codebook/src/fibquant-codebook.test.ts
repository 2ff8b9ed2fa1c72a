import { describe, expect, it } from "vitest";
import { buildFibQuantCodebook, buildFibQuantCodebookWithReport, resolveFibQuantOptions, type FibQuantProgress } from "./fibquant-codebook.js";
import { nearestCodewordBruteForce } from "./nearest-codeword.js";
import { createRandom } from "./random.js";
import { buildScalarCodebook } from "./scalar-codebook.js";
import { serializeCodebook } from "./serialization.js";
import { sampleSphericalBeta } from "./spherical-beta.js";
import type { VectorCodebook } from "./vector-codebook.js";

/**
 * Independent measurement: fresh samples from a seed the builder never uses, brute-force assignment, and the
 * scalar Lloyd–Max error on the same blocks (common random numbers) so the comparison's noise mostly cancels.
 */
function measureAgainstScalar(codebook: VectorCodebook, scalarBits: number, count: number): { vector: number; scalar: number } {
  const { sourceDimension: d, blockSize: k } = codebook;
  const samples = sampleSphericalBeta(d, k, count, createRandom(987_654));
  const scalar = buildScalarCodebook({ sourceDimension: d, bits: scalarBits });
  let vectorError = 0;
  let scalarError = 0;
  for (let sample = 0; sample < count; sample++) {
    const offset = sample * k;
    const index = nearestCodewordBruteForce(codebook, samples, offset);
    for (let j = 0; j < k; j++) {
      const value = samples[offset + j];
      vectorError += (value - codebook.codewords[index * k + j]) ** 2;
      let best = Infinity;
      for (const level of scalar.levels) best = Math.min(best, (value - level) ** 2);
      scalarError += best;
    }
  }
  return { vector: (d / k) * (vectorError / count), scalar: (d / k) * (scalarError / count) };
}

describe("buildFibQuantCodebook", () => {
  it("beats the scalar Lloyd–Max code at matched rate (d = 128: k = 2 b = 2, k = 4 b = 1) near the codec-spec targets", () => {
    // Targets, ../shared/notes/codec-spec.md ("Our own Lloyd runs at d = 128"): k=2,b=2 → 0.107 vs scalar 0.116;
    // k=4,b=1 → 0.339 vs 0.361. We require strictly below the exact scalar distortion by ≥ 3 % (gaps are 8 % and
    // 6 %), and agreement with the targets within 3 % (sampled Lloyd runs differ by local optimum and sample).
    for (const [blockSize, bits, target] of [[2, 2, 0.107], [4, 1, 0.339]]) {
      const codebook = buildFibQuantCodebook({ sourceDimension: 128, blockSize, bits });
      const exactScalar = buildScalarCodebook({ sourceDimension: 128, bits }).distortion;
      const measured = measureAgainstScalar(codebook, bits, 100_000);
      expect(measured.vector).toBeLessThan(0.97 * exactScalar);
      expect(measured.vector).toBeLessThan(0.97 * measured.scalar);
      expect(Math.abs(measured.vector / target - 1)).toBeLessThan(0.03);
      // The builder's own held-out estimate agrees with the independent one (1 %, two independent samples).
      expect(Math.abs(codebook.distortion / measured.vector - 1)).toBeLessThan(0.01);
    }
  });

  it("beats scalar at higher rates and larger blocks (k = 2 b = 3, k = 8 b = 1)", () => {
    // Measured gaps are 13 % and 10 % (README table); the builder's held-out estimate is accurate to ~0.5 %
    // (checked against an independent sample above), so we require at least 5 % below the exact scalar value.
    for (const [blockSize, bits] of [[2, 3], [8, 1]]) {
      const codebook = buildFibQuantCodebook({ sourceDimension: 128, blockSize, bits });
      const exactScalar = buildScalarCodebook({ sourceDimension: 128, bits }).distortion;
      expect(codebook.distortion).toBeLessThan(0.95 * exactScalar);
    }
  });

  it("beats scalar at a small head dimension (d = 8, including k = d)", () => {
    // Exact scalar at d = 8: 0.3224 (b = 1), 0.0948 (b = 2). Measured FibQuant: k=2 b=2 0.088, k=4 b=1 0.304,
    // k=8 b=1 0.281 (the block is the whole unit vector); require ≥ 4 % below scalar.
    for (const [blockSize, bits] of [[2, 2], [4, 1], [8, 1]]) {
      const codebook = buildFibQuantCodebook({ sourceDimension: 8, blockSize, bits });
      const exactScalar = buildScalarCodebook({ sourceDimension: 8, bits }).distortion;
      expect(codebook.distortion).toBeLessThan(0.96 * exactScalar);
    }
  });

  it("matches the scalar code at k = 2, b = 1 (four points: the optimum is the square, i.e. the scalar product)", () => {
    // codec-spec.md lists 0.3575 vs scalar 0.3608; Lloyd from every layout (and from centre + triangle) converges to
    // the square, whose cells are quadrants, so its distortion equals the exact scalar 0.3609. We check the code is
    // no worse than scalar beyond sampling noise (0.3 % with 2e5 common blocks).
    const codebook = buildFibQuantCodebook({ sourceDimension: 128, blockSize: 2, bits: 1 });
    const measured = measureAgainstScalar(codebook, 1, 200_000);
    expect(measured.vector).toBeLessThan(1.003 * measured.scalar);
  });

  it("builds valid sub-1-bit and fractional-rate codebooks", () => {
    // k=4, b=0.5: N = round(2^2) = 4; codec-spec.md: ≈ 0.640, and must be < 0.68 (1 scalar bit on every other coordinate).
    const half = buildFibQuantCodebook({ sourceDimension: 128, blockSize: 4, bits: 0.5 });
    expect(half.size).toBe(4);
    expect(half.codewords.length).toBe(16);
    expect(half.codewords.every(Number.isFinite)).toBe(true);
    expect(half.bitsPerCoordinate).toBe(0.5);
    expect(half.distortion).toBeLessThan(0.68);
    expect(half.distortion).toBeGreaterThan(0.6);
    // k=4, b=0.75: N = round(2^3) = 8; k=2, b=1.5: N = 8 — distortion must fall strictly between the neighbouring
    // integer-ish rates (monotone in rate).
    const threeQuarter = buildFibQuantCodebook({ sourceDimension: 128, blockSize: 4, bits: 0.75 });
    expect(threeQuarter.size).toBe(8);
    expect(threeQuarter.distortion).toBeLessThan(half.distortion);
    expect(threeQuarter.distortion).toBeGreaterThan(0.339);
    const fractional = buildFibQuantCodebook({ sourceDimension: 128, blockSize: 2, bits: 1.5 });
    expect(fractional.size).toBe(8);
    expect(fractional.distortion).toBeLessThan(0.3609);
    expect(fractional.distortion).toBeGreaterThan(0.107);
  });

  it("is deterministic from the seed", () => {
    const options = { sourceDimension: 64, blockSize: 4, size: 16, restarts: 2, iterations: 4, polishIterations: 1, evaluationSamples: 8192 };
    const first = serializeCodebook(buildFibQuantCodebook({ ...options, seed: 5 }));
    const second = serializeCodebook(buildFibQuantCodebook({ ...options, seed: 5 }));
    const other = serializeCodebook(buildFibQuantCodebook({ ...options, seed: 6 }));
    expect(Buffer.from(second).equals(Buffer.from(first))).toBe(true);
    expect(Buffer.from(other).equals(Buffer.from(first))).toBe(false);
  });

  it("reports progress up to completion and a build report", () => {
    const events: FibQuantProgress[] = [];
    const report = buildFibQuantCodebookWithReport({
      sourceDimension: 32,
      blockSize: 2,
      bits: 2,
      restarts: 2,
      iterations: 3,
      polishIterations: 1,
      evaluationSamples: 4096,
      onProgress: (progress) => events.push(progress),
    });
    expect(events.length).toBeGreaterThan(5);
    for (let i = 1; i < events.length; i++) expect(events[i].fraction).toBeGreaterThanOrEqual(events[i - 1].fraction);
    expect(events[events.length - 1].fraction).toBe(1);
    expect(new Set(events.map((event) => event.stage.split(" ")[0]))).toEqual(new Set(["candidates", "restart", "polish", "evaluate"]));
    expect(report.restarts.length).toBe(2);
    expect(report.candidates.some((candidate) => candidate.scheme === "per-codeword")).toBe(true);
    expect(report.candidates.some((candidate) => candidate.scheme === "scalar-product")).toBe(true);
    expect(report.buildMilliseconds).toBeGreaterThan(0);
  });

  it("rejects bad options with clear errors", () => {
    expect(() => resolveFibQuantOptions({ sourceDimension: 128, blockSize: 4 })).toThrow(/bits .* or size/);
    expect(() => resolveFibQuantOptions({ sourceDimension: 128, blockSize: 4, bits: Number.NaN })).toThrow(/bits/);
    expect(() => resolveFibQuantOptions({ sourceDimension: 128, blockSize: 4, bits: 1, size: 17 })).toThrow(/N = 16/);
    expect(() => resolveFibQuantOptions({ sourceDimension: 128, blockSize: 2, bits: 0.2 })).toThrow(/N must lie/);
    expect(() => resolveFibQuantOptions({ sourceDimension: 4, blockSize: 8, bits: 1 })).toThrow(/blockSize/);
    expect(resolveFibQuantOptions({ sourceDimension: 128, blockSize: 3, bits: 2.5 }).size).toBe(181); // round(2^7.5)
  });
});
