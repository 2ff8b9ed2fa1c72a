import { describe, expect, it } from "vitest";
import { createPolicy, isPolicyName, policyNames, policyRequirements } from "./create-policy.js";
import { slerpMergeRow } from "./minicache-merge.js";
import { MiniCachePolicy } from "./minicache-policy.js";
import { PolicyConfigurationError } from "./policy-errors.js";
import { ShadowKvPolicy } from "./shadowkv-policy.js";
import { lowRankBasis, symmetricEigen } from "./symmetric-eigen.js";
import { appendTokens, seededFloats, statistics, testCache } from "./test-support/policy-fixtures.js";

describe("symmetricEigen and lowRankBasis", () => {
  it("diagonalizes a 2 × 2 matrix (closed form: [[2,1],[1,2]] has eigenvalues 3 and 1)", () => {
    const { values, vectors } = symmetricEigen(Float64Array.from([2, 1, 1, 2]), 2);
    expect(values[0]).toBeCloseTo(3, 12);
    expect(values[1]).toBeCloseTo(1, 12);
    expect(Math.abs(vectors[0])).toBeCloseTo(Math.SQRT1_2, 12);
    expect(vectors[0] * vectors[1]).toBeGreaterThan(0);
  });

  it("captures all the energy of rank-2 data with rank 2, and reconstructs it", () => {
    const dimension = 16;
    const u = seededFloats(dimension, 1);
    const v = seededFloats(dimension, 2);
    const coefficients = seededFloats(2 * 40, 3);
    const rows = new Float32Array(40 * dimension);
    for (let r = 0; r < 40; r++) for (let i = 0; i < dimension; i++) rows[r * dimension + i] = coefficients[2 * r] * u[i] + coefficients[2 * r + 1] * v[i];
    const { basis, captured } = lowRankBasis(rows, 40, dimension, 2);
    // Rank-2 data: the top 2 singular directions hold 100 % of ‖X‖² (up to float32 rounding of the rows).
    expect(captured).toBeCloseTo(1, 6);
    // Projection onto the basis reproduces each row to float32 precision.
    for (let r = 0; r < 40; r++) {
      const row = rows.subarray(r * dimension, (r + 1) * dimension);
      const c0 = basis.subarray(0, dimension).reduce((sum, b, i) => sum + b * row[i], 0);
      const c1 = basis.subarray(dimension).reduce((sum, b, i) => sum + b * row[i], 0);
      for (let i = 0; i < dimension; i++) expect(c0 * basis[i] + c1 * basis[dimension + i]).toBeCloseTo(row[i], 4);
    }
  });
});

describe("ShadowKvPolicy", () => {
  it("scores pages with low-rank keys, offloads the rest and recalls the page that holds the best key", async () => {
    const headDim = 8;
    const cache = testCache({ layers: 1, kvHeads: 1, headDim });
    // Rank-2 keys (channels 0 and 1 only); page 5 (position 22) has the one key far along channel 1.
    const policy = new ShadowKvPolicy({ budget: { tokens: 16 }, rank: 2, basisTokens: 8, recentPages: 1 });
    cache.setPolicy(policy);
    appendTokens(cache, 40, (_layer, position) => {
      const key = new Float32Array(headDim);
      key[0] = 1;
      key[1] = position === 22 ? 10 : 0.1;
      return key;
    });
    const query = (channel: number) => {
      const q = new Float32Array(2 * headDim);
      q[channel] = 1;
      q[headDim + channel] = 1;
      return q;
    };
    policy.observe(statistics(0, 0, 2, 1, 40, () => 1 / 40, query(0)));
    await cache.applyActions(policy.decide(cache));
    const resident = () =>
      cache
        .pageDigests(0, 0)
        .filter((digest) => digest.location === "memory")
        .map((digest) => digest.firstPosition / 4);
    expect(resident().length).toBe(4);
    policy.observe(statistics(0, 1, 2, 1, 40, () => 1 / 40, query(1)));
    await cache.applyActions(policy.decide(cache));
    expect(resident()).toContain(5);
    // The basis captured the keys exactly (rank-2 data), and the coefficients are held by the policy.
    expect(policy.capturedEnergy(0, 0, 1)).toBeCloseTo(1, 6);
    // 40 rows × rank 2 × 4 bytes + positions 40 × 4 + basis 2 × 8 × 4.
    expect(policy.policyBytes()).toBe(40 * 2 * 4 + 40 * 4 + 2 * 8 * 4);
  });
});

describe("MiniCache", () => {
  it("slerpMergeRow: t = 1 gives b, t = 0 gives b's norm along a, orthogonal vectors meet at 45°", () => {
    const a = Float32Array.from([2, 0, 0]);
    const b = Float32Array.from([0, 3, 0]);
    const out = new Float32Array(3);
    expect(slerpMergeRow(a, 0, b, 0, 3, 1, out, 0)).toBeCloseTo(Math.PI / 2, 12);
    expect(Array.from(out)).toEqual([expect.closeTo(0, 6), expect.closeTo(3, 6), expect.closeTo(0, 6)]);
    slerpMergeRow(a, 0, b, 0, 3, 0, out, 0);
    expect(Array.from(out)).toEqual([expect.closeTo(3, 6), expect.closeTo(0, 6), expect.closeTo(0, 6)]);
    // Halfway between e₁ and e₂ is (e₁ + e₂)/√2, scaled by ‖b‖ = 3.
    slerpMergeRow(a, 0, b, 0, 3, 0.5, out, 0);
    expect(out[0]).toBeCloseTo(3 * Math.SQRT1_2, 6);
    expect(out[1]).toBeCloseTo(3 * Math.SQRT1_2, 6);
  });

  it("rewrites the deeper layer's rows with merged directions and keeps the most distinct ones", () => {
    const headDim = 8;
    const cache = testCache({ layers: 2, kvHeads: 1, headDim, policy: new MiniCachePolicy({ startLayer: 0, retention: 0.25 }) });
    // Layer 1's keys and values point like layer 0's (twice as long), except position 2's key.
    const base = (position: number) => seededFloats(headDim, 40 + position);
    for (let position = 0; position < 4; position++) {
      for (let layer = 0; layer < 2; layer++) {
        const key = layer === 1 && position === 2 ? seededFloats(headDim, 999) : base(position).map((x) => x * (layer + 1));
        cache.append(layer, key, base(position + 10).map((x) => x * (layer + 1)));
      }
    }
    const policy = cache.getPolicy() as MiniCachePolicy;
    // ceil(0.25 × 4) = 1 retained: position 2, whose key direction differs.
    expect(policy.retainedTokens).toBe(1);
    expect(policy.mergedTokens).toBe(3);
    const layer1 = cache.readToken(1, 0, 2);
    expect(Array.from(layer1?.key ?? [])).toEqual(Array.from(seededFloats(headDim, 999)));
    // A merged key with identical directions keeps its own norm and direction (2 × base).
    const merged = cache.readToken(1, 0, 0);
    base(0).forEach((x, i) => expect(merged?.key[i]).toBeCloseTo(2 * x, 5));
  });
});

describe("createPolicy", () => {
  it("builds every named policy and names it", () => {
    const config = {
      format: "kvpack-kvtuner",
      version: 1,
      family: "turboquant",
      targetBits: 3,
      averageBits: 3,
      layers: [{ keyBits: 3, valueBits: 3, error: 0 }],
      candidates: [],
      candidateErrors: [],
    } as const;
    for (const name of policyNames) {
      const policy = createPolicy(name, { budget: { fraction: 0.5 }, layers: 4, kvTunerConfig: config });
      expect(policy.name).toBe(name);
      expect(isPolicyName(name)).toBe(true);
    }
    expect(policyRequirements("arkvale")).toEqual({ keyDigests: true, tier: true });
    expect(policyRequirements("h2o")).toEqual({ keyDigests: false, tier: false });
    expect(() => createPolicy("lru")).toThrow(PolicyConfigurationError);
    expect(() => createPolicy("pyramidkv")).toThrow(/layers/);
    expect(() => createPolicy("zipcache", { budget: { tokens: 8 } })).toThrow(/fraction/);
  });
});
