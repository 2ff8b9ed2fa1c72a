import { CompressedKVCache, type KeyDigestFormat, MemoryPageStore } from "@kvpack/cache";
import { mulberry32 } from "@kvpack/codebook";
import { describe, expect, it } from "vitest";
import { ArkValePolicy } from "./arkvale-policy.js";
import { pageScoreBound, pageScoreCenter } from "./page-score-bound.js";
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

describe("pageScoreBound over stored digests", () => {
  it("outward-rounded fp16 and int8 digests keep the bound ≥ every true q·k of the page (property test, seeded mulberry32)", () => {
    for (const format of ["fp32", "fp16", "int8"] as KeyDigestFormat[]) {
      for (let trial = 0; trial < 40; trial++) {
        const random = mulberry32(4242 + trial);
        const headDim = [4, 8, 16][trial % 3];
        // Magnitudes from 1e-3 to 300 so fp16 rounding hits subnormal, ordinary and coarse steps.
        const scale = [1e-3, 1, 30, 300][trial % 4];
        const cache = testCache({ layers: 1, kvHeads: 2, headDim, codec: "fp16", pageSize: 8, keyDigestFormat: format });
        const stride = 2 * headDim;
        for (let position = 0; position < 40; position++) {
          const keys = new Float32Array(stride);
          for (let i = 0; i < stride; i++) keys[i] = (random() * 2 - 1) * scale;
          cache.append(0, keys, keys);
        }
        const key = new Float32Array(headDim);
        const query = new Float32Array(headDim);
        for (let kvHead = 0; kvHead < 2; kvHead++) {
          for (const digest of cache.pageDigests(0, kvHead)) {
            for (let q = 0; q < 10; q++) {
              for (let i = 0; i < headDim; i++) query[i] = random() * 2 - 1;
              let trueMax = -Infinity;
              for (let position = digest.firstPosition; position < digest.firstPosition + digest.tokenCount; position++) {
                const row = cache.readToken(0, kvHead, position, key);
                if (row) trueMax = Math.max(trueMax, dot(query, 0, row.key, 0, headDim));
              }
              // Products of float32 values are exact in float64; the sums differ by ≤ 1e-9 relative.
              expect(pageScoreBound(query, 0, digest.keyMin, digest.keyMax, headDim)).toBeGreaterThanOrEqual(trueMax - 1e-9 * Math.max(1, Math.abs(trueMax)));
            }
          }
        }
      }
    }
  });

  it("pageScoreCenter is q·(min + max)/2 and never above the bound", () => {
    const random = mulberry32(99);
    for (let trial = 0; trial < 100; trial++) {
      const keyMin = new Float32Array(8);
      const keyMax = new Float32Array(8);
      const query = new Float32Array(8);
      let expected = 0;
      for (let i = 0; i < 8; i++) {
        const a = random() * 2 - 1;
        const b = random() * 2 - 1;
        keyMin[i] = Math.min(a, b);
        keyMax[i] = Math.max(a, b);
        query[i] = random() * 2 - 1;
        expected += query[i] * (keyMin[i] + keyMax[i]) * 0.5;
      }
      // Same float64 products and sums in the same order: equal to 1e-12.
      expect(pageScoreCenter(query, 0, keyMin, keyMax, 8)).toBeCloseTo(expected, 12);
      expect(pageScoreCenter(query, 0, keyMin, keyMax, 8)).toBeLessThanOrEqual(pageScoreBound(query, 0, keyMin, keyMax, 8) + 1e-12);
    }
  });
});

describe("ArkValePolicy estimates", () => {
  const headDim = 8;
  /** 1 layer, 1 KV head, pages of 4; `keyOf(page, row)` gives each key (zero elsewhere). */
  function cacheWithPages(pages: number, keyOf: (page: number, row: number) => number[]): CompressedKVCache {
    const cache = testCache({ layers: 1, kvHeads: 1, headDim });
    appendTokens(cache, pages * 4, (_layer, position) => Float32Array.from({ length: headDim }, (_, i) => keyOf(Math.floor(position / 4), position % 4)[i] ?? 0));
    return cache;
  }
  const resident = (cache: CompressedKVCache) =>
    cache
      .pageDigests(0, 0)
      .filter((digest) => digest.location !== "offloaded")
      .map((digest) => digest.firstPosition / 4);
  // Pages 1 and 2 compete for one slot (budget 3 pages: sink 0, newest 3, one more).
  // Page 1: keys ±1 on channel 0 (box [−1, 1]: bound 1, centre 0); page 2: all 0.6 (bound = centre = 0.6).
  const competing = (page: number, row: number) => (page === 1 ? [row % 2 === 0 ? 1 : -1] : page === 2 ? [0.6] : []);
  const alongChannel = (channels: number[], heads: number) => {
    const query = new Float32Array(heads * headDim);
    channels.forEach((channel, head) => {
      query[head * headDim + channel] = 1;
    });
    return query;
  };

  it("the plain bound prefers the wide page, the centre estimate the page whose keys all point at the query", async () => {
    for (const [centerWeight, expected] of [
      [0, [0, 1, 3]],
      [1, [0, 2, 3]],
      // 0.5·1 + 0.5·0 = 0.5 < 0.5·0.6 + 0.5·0.6 = 0.6.
      [0.5, [0, 2, 3]],
    ] as const) {
      const cache = cacheWithPages(4, competing);
      const policy = new ArkValePolicy({ budget: { tokens: 12 }, recentPages: 1, centerWeight });
      policy.observe(statistics(0, 0, 1, 1, 16, () => 1 / 16, alongChannel([0], 1)));
      await cache.applyActions(policy.decide(cache));
      expect(resident(cache), `centerWeight ${centerWeight}`).toEqual(expected);
    }
  });

  it("GQA: max over the group favours one head's best page, sum the page both heads like", async () => {
    // Two query heads on one KV head: head 0 queries e₀, head 1 queries e₁.
    // Page 1: keys e₀ (scores 1 and 0: max 1, sum 1); page 2: keys 0.7·(e₀ + e₁) (0.7 and 0.7: max 0.7, sum 1.4).
    const keys = (page: number) => (page === 1 ? [1, 0] : page === 2 ? [0.7, 0.7] : []);
    for (const [groupAggregation, expected] of [
      ["max", [0, 1, 3]],
      ["sum", [0, 2, 3]],
    ] as const) {
      const cache = cacheWithPages(4, keys);
      const policy = new ArkValePolicy({ budget: { tokens: 12 }, recentPages: 1, groupAggregation });
      policy.observe(statistics(0, 0, 2, 1, 16, () => 1 / 16, alongChannel([0, 1], 2)));
      await cache.applyActions(policy.decide(cache));
      expect(resident(cache), groupAggregation).toEqual(expected);
    }
  });

  it("hysteresis keeps a resident page unless an offloaded one beats it by the margin", async () => {
    // Page 1 keys 0.5·e₀, page 2 keys 0.5·e₁. Step 0 queries e₀ (page 1 stays, page 2 goes);
    // step 1 queries 0.9·e₀ + e₁: page 2 bound 0.5 beats page 1's 0.45 by 0.05, i.e. 0.05/√8 ≈ 0.018 in logits.
    const keys = (page: number) => (page === 1 ? [0.5, 0] : page === 2 ? [0, 0.5] : []);
    const secondQuery = new Float32Array(headDim);
    secondQuery[0] = 0.9;
    secondQuery[1] = 1;
    for (const [hysteresis, expected] of [
      [0, [0, 2, 3]],
      [0.05, [0, 1, 3]],
    ] as const) {
      const cache = cacheWithPages(4, keys);
      const policy = new ArkValePolicy({ budget: { tokens: 12 }, recentPages: 1, hysteresis });
      policy.observe(statistics(0, 0, 1, 1, 16, () => 1 / 16, alongChannel([0], 1)));
      await cache.applyActions(policy.decide(cache));
      expect(resident(cache)).toEqual([0, 1, 3]);
      policy.observe(statistics(0, 1, 1, 1, 16, () => 1 / 16, secondQuery));
      await cache.applyActions(policy.decide(cache));
      expect(resident(cache), `hysteresis ${hysteresis}`).toEqual(expected);
    }
  });

  it("recentShare protects the newest pages in proportion to the budget", async () => {
    // Page p holds keys (8 − p)/8 · e₀, so older pages score higher; budget 16 tokens = 4 pages, no sink.
    for (const [recentShare, expected] of [
      [0, [0, 1, 2, 3]],
      // ⌊0.5 · 16 / 4⌋ = 2 newest pages (6, 7) protected, the two best of the rest (0, 1) fill the budget.
      [0.5, [0, 1, 6, 7]],
    ] as const) {
      const cache = cacheWithPages(8, (page) => [(8 - page) / 8]);
      const policy = new ArkValePolicy({ budget: { tokens: 16 }, sinkPages: 0, recentPages: 0, recentShare });
      policy.observe(statistics(0, 0, 1, 1, 32, () => 1 / 32, alongChannel([0], 1)));
      await cache.applyActions(policy.decide(cache));
      expect(resident(cache), `recentShare ${recentShare}`).toEqual(expected);
    }
  });

  it("budgetRounding decides whether a page that crosses the token budget is kept", async () => {
    // Pages of 4 tokens, every key e₀ (equal scores, ties go to newer pages), no sink or recent pages.
    for (const [tokens, budgetRounding, pages] of [
      [9, "down", 2],
      [9, "nearest", 2],
      [9, "up", 3],
      [10, "down", 2],
      [10, "nearest", 3],
    ] as const) {
      const cache = cacheWithPages(6, () => [1]);
      const policy = new ArkValePolicy({ budget: { tokens }, sinkPages: 0, recentPages: 0, budgetRounding });
      policy.observe(statistics(0, 0, 1, 1, 24, () => 1 / 24, alongChannel([0], 1)));
      await cache.applyActions(policy.decide(cache));
      // 9 tokens: 2 pages fit (8), a third crosses by 3 (more than half a page); 10 tokens: it crosses by 2 (half).
      expect(resident(cache).length, `${tokens} ${budgetRounding}`).toBe(pages);
    }
  });

  it("scoreDecay ranks by the recent queries, not only the last one", async () => {
    // Page 1 keys 0.5·e₀, page 2 keys 0.5·e₁; step 0 queries e₀, step 1 queries e₁. With d = 0.9 page 1
    // smooths to 0.9·0.5 + 0.1·0 = 0.45 and page 2 to 0.9·0 + 0.1·0.5 = 0.05, so page 1 stays.
    const keys = (page: number) => (page === 1 ? [0.5, 0] : page === 2 ? [0, 0.5] : []);
    for (const [scoreDecay, expected] of [
      [0, [0, 2, 3]],
      [0.9, [0, 1, 3]],
    ] as const) {
      const cache = cacheWithPages(4, keys);
      const policy = new ArkValePolicy({ budget: { tokens: 12 }, recentPages: 1, scoreDecay });
      policy.observe(statistics(0, 0, 1, 1, 16, () => 1 / 16, alongChannel([0], 1)));
      await cache.applyActions(policy.decide(cache));
      policy.observe(statistics(0, 1, 1, 1, 16, () => 1 / 16, alongChannel([1], 1)));
      await cache.applyActions(policy.decide(cache));
      expect(resident(cache), `scoreDecay ${scoreDecay}`).toEqual(expected);
    }
  });

  it("scoreDecay forgets the scores of pages the cache no longer holds", async () => {
    const cache = cacheWithPages(8, () => [0.5, 0.25]);
    const policy = new ArkValePolicy({ budget: { tokens: 16 }, recentPages: 1, scoreDecay: 0.5 });
    const smoothed = (policy as unknown as { smoothed: Map<number, number> }).smoothed;
    for (let round = 0; round < 40; round++) {
      policy.observe(statistics(0, round, 1, 1, 32, () => 1 / 32, alongChannel([round % 2], 1)));
      await cache.applyActions(policy.decide(cache));
      // Throw the pages away and build new ones (new page ids), as truncation after a rejected draft does.
      await cache.recallAll();
      cache.truncate(0);
      appendTokens(cache, 32, (_layer, position) => Float32Array.from({ length: headDim }, (_, i) => (i === position % 2 ? 0.5 : 0)));
    }
    // 8 pages live at a time: the map is pruned once it exceeds 2 × pages + 64 entries.
    expect(smoothed.size).toBeLessThanOrEqual(2 * 8 + 64 + 8);
    expect(smoothed.size).toBeGreaterThan(0);
  });

  it("rejects bad estimate options", () => {
    expect(() => new ArkValePolicy({ budget: { tokens: 8 }, recentShare: 1 })).toThrow(PolicyConfigurationError);
    expect(() => new ArkValePolicy({ budget: { tokens: 8 }, budgetRounding: "ceil" as "up" })).toThrow(PolicyConfigurationError);
    expect(() => new ArkValePolicy({ budget: { tokens: 8 }, scoreDecay: 1 })).toThrow(PolicyConfigurationError);
    const budget = { tokens: 8 };
    expect(() => new ArkValePolicy({ budget, centerWeight: 1.5 })).toThrow(PolicyConfigurationError);
    expect(() => new ArkValePolicy({ budget, centerWeight: Number.NaN })).toThrow(PolicyConfigurationError);
    expect(() => new ArkValePolicy({ budget, groupAggregation: "mean" as "max" })).toThrow(PolicyConfigurationError);
    expect(() => new ArkValePolicy({ budget, hysteresis: -1 })).toThrow(PolicyConfigurationError);
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
