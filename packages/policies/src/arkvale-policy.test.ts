import { CompressedKVCache, MemoryPageStore } from "@kvpack/cache";
import { describe, expect, it } from "vitest";
import { ArkValePolicy } from "./arkvale-policy.js";
import { pageScoreBound } from "./page-score-bound.js";
import { PolicyConfigurationError } from "./policy-errors.js";
import { appendTokens, seededFloats, statistics, testCache } from "./test-support/policy-fixtures.js";

function dot(a: Float32Array, aOffset: number, b: Float32Array, bOffset: number, length: number): number {
  let sum = 0;
  for (let i = 0; i < length; i++) sum += a[aOffset + i] * b[bOffset + i];
  return sum;
}

describe("pageScoreBound", () => {
  it("is ≥ the true max q·k of every page (property test, 500 random pages and queries)", () => {
    for (let trial = 0; trial < 500; trial++) {
      const headDim = [4, 8, 16, 64][trial % 4];
      const rows = 1 + (trial % 13);
      const keys = seededFloats(rows * headDim, 17 + trial);
      // Scale some trials up to exercise large magnitudes.
      if (trial % 3 === 0) for (let i = 0; i < keys.length; i++) keys[i] *= 40;
      const keyMin = new Float32Array(headDim).fill(Infinity);
      const keyMax = new Float32Array(headDim).fill(-Infinity);
      for (let r = 0; r < rows; r++) {
        for (let i = 0; i < headDim; i++) {
          keyMin[i] = Math.min(keyMin[i], keys[r * headDim + i]);
          keyMax[i] = Math.max(keyMax[i], keys[r * headDim + i]);
        }
      }
      const query = seededFloats(headDim, 9001 + trial);
      let trueMax = -Infinity;
      for (let r = 0; r < rows; r++) trueMax = Math.max(trueMax, dot(query, 0, keys, r * headDim, headDim));
      const bound = pageScoreBound(query, 0, keyMin, keyMax, headDim);
      // The bound is exact arithmetic on the same float32 inputs summed in float64: allow 1e-9 relative slack.
      expect(bound).toBeGreaterThanOrEqual(trueMax - 1e-9 * Math.max(1, Math.abs(trueMax)));
      // A one-row page's box is a point: the bound equals q·k (float64 sums of identical products).
      if (rows === 1) expect(bound).toBeCloseTo(trueMax, 9);
    }
  });

  it("holds for the cache's digests of fp16-coded pages (bound over decoded keys)", () => {
    const headDim = 16;
    const cache = testCache({ layers: 1, kvHeads: 2, headDim, codec: "fp16", pageSize: 8 });
    appendTokens(cache, 64);
    const key = new Float32Array(headDim);
    for (let kvHead = 0; kvHead < 2; kvHead++) {
      for (const digest of cache.pageDigests(0, kvHead)) {
        for (let q = 0; q < 20; q++) {
          const query = seededFloats(headDim, 77 + q * 13 + digest.pageId);
          let trueMax = -Infinity;
          for (let position = digest.firstPosition; position < digest.firstPosition + digest.tokenCount; position++) {
            const row = cache.readToken(0, kvHead, position, key);
            if (row) trueMax = Math.max(trueMax, dot(query, 0, row.key, 0, headDim));
          }
          expect(pageScoreBound(query, 0, digest.keyMin, digest.keyMax, headDim)).toBeGreaterThanOrEqual(trueMax - 1e-9);
        }
      }
    }
  });
});

describe("ArkValePolicy", () => {
  const headDim = 8;
  /** Page p (positions 4p…4p+3) holds keys along channel p % 8; page 5 holds the one key aligned with e₇ at 10×. */
  function pagedCache(): CompressedKVCache {
    const cache = testCache({ layers: 1, kvHeads: 1, headDim });
    appendTokens(cache, 40, (_layer, position) => {
      const key = new Float32Array(headDim);
      const page = Math.floor(position / 4);
      key[page % 7] = 1;
      if (position === 22) key[7] = 10;
      return key;
    });
    return cache;
  }

  function queryAlong(channel: number, heads: number): Float32Array {
    const query = new Float32Array(heads * headDim);
    for (let head = 0; head < heads; head++) query[head * headDim + channel] = 1;
    return query;
  }

  it("offloads the pages with the lowest bounds and recalls the page that holds the best key", async () => {
    const cache = pagedCache();
    // 10 pages; budget 16 tokens = 4 pages: sink page 0, newest page 9, and the two best by bound.
    const policy = new ArkValePolicy({ budget: { tokens: 16 }, recentPages: 1 });
    policy.observe(statistics(0, 0, 2, 1, 40, () => 1 / 40, queryAlong(2, 2)));
    const first = await cache.applyActions(policy.decide(cache));
    expect(first.failed).toEqual([]);
    const resident = () =>
      cache
        .pageDigests(0, 0)
        .filter((digest) => digest.location === "memory")
        .map((digest) => digest.firstPosition / 4);
    // Query along e₂: pages 2 and 9 have keys on channel 2 (9 % 7 = 2); page 9 is protected as newest,
    // and every other page bounds to 0, so the tie goes to the newer page 8.
    expect(resident()).toEqual([0, 2, 8, 9]);
    expect(policy.counters.offloads).toBe(6);
    // The query turns to e₇: only page 5 (position 22) has a key there; its bound 10 ranks first.
    policy.observe(statistics(0, 1, 2, 1, 40, () => 1 / 40, queryAlong(7, 2)));
    const actions = policy.decide(cache);
    expect(actions).toContainEqual({ kind: "recall", layer: 0, kvHead: 0, pageId: cache.pageDigests(0, 0)[5].pageId });
    await cache.applyActions(actions);
    expect(resident()).toContain(5);
    expect(resident().length).toBe(4);
    expect(policy.counters.recalls).toBe(1);
  });

  it("keeps protected pages within the budget unless told otherwise", async () => {
    // Budget 8 tokens = 2 pages: the newest pages rank first (9, then 8), the sink page 0 no longer fits.
    const strict = pagedCache();
    const policy = new ArkValePolicy({ budget: { tokens: 8 }, recentPages: 2 });
    policy.observe(statistics(0, 0, 2, 1, 40, () => 1 / 40, queryAlong(2, 2)));
    await strict.applyActions(policy.decide(strict));
    const resident = (cache: CompressedKVCache) =>
      cache
        .pageDigests(0, 0)
        .filter((digest) => digest.location === "memory")
        .map((digest) => digest.firstPosition / 4);
    expect(resident(strict)).toEqual([8, 9]);
    const loose = pagedCache();
    const over = new ArkValePolicy({ budget: { tokens: 8 }, recentPages: 2, protectedOverBudget: true });
    over.observe(statistics(0, 0, 2, 1, 40, () => 1 / 40, queryAlong(2, 2)));
    await loose.applyActions(over.decide(loose));
    expect(resident(loose)).toEqual([0, 8, 9]);
  });

  it("without recall, an offloaded page never comes back", async () => {
    const cache = pagedCache();
    const policy = new ArkValePolicy({ budget: { tokens: 16 }, recall: false, recentPages: 1 });
    policy.observe(statistics(0, 0, 2, 1, 40, () => 1 / 40, queryAlong(2, 2)));
    await cache.applyActions(policy.decide(cache));
    policy.observe(statistics(0, 1, 2, 1, 40, () => 1 / 40, queryAlong(7, 2)));
    const actions = policy.decide(cache);
    expect(actions.some((action) => action.kind === "recall")).toBe(false);
    // Not even a protected page: with an 8-token budget the sink page 0 is offloaded and stays so when it would fit again.
    const small = pagedCache();
    const strict = new ArkValePolicy({ budget: { tokens: 8 }, recall: false, recentPages: 2 });
    strict.observe(statistics(0, 0, 2, 1, 40, () => 1 / 40, queryAlong(2, 2)));
    await small.applyActions(strict.decide(small));
    const widened = new ArkValePolicy({ budget: { tokens: 40 }, recall: false, recentPages: 2 });
    widened.observe(statistics(0, 1, 2, 1, 40, () => 1 / 40, queryAlong(2, 2)));
    expect(widened.decide(small).some((action) => action.kind === "recall")).toBe(false);
    expect(strict.counters.recalls + widened.counters.recalls).toBe(0);
  });

  it("needs key digests and a tier to offload to", () => {
    const spec = { kind: "fp32", dimension: headDim } as const;
    const policy = new ArkValePolicy({ budget: { tokens: 4 } });
    const withoutDigests = new CompressedKVCache({ layers: 1, kvHeads: 1, headDim, keys: spec, values: spec, pageSize: 4, residualWindow: 0 });
    withoutDigests.addTier({ name: "memory", store: new MemoryPageStore() });
    expect(() => policy.decide(withoutDigests)).toThrow(/keyDigests/);
    const cache = new CompressedKVCache({ layers: 1, kvHeads: 1, headDim, keys: spec, values: spec, pageSize: 4, residualWindow: 0, keyDigests: true });
    expect(() => policy.decide(cache)).toThrow(PolicyConfigurationError);
    cache.addTier({ name: "memory", store: new MemoryPageStore() });
    expect(policy.decide(cache)).toEqual([]);
  });
});
