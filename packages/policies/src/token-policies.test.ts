import { describe, expect, it } from "vitest";
import { H2oPolicy } from "./h2o-policy.js";
import { PolicyConfigurationError } from "./policy-errors.js";
import { SnapKvPolicy } from "./snapkv-policy.js";
import { StreamingLlmPolicy } from "./streaming-llm-policy.js";
import { appendTokens, livePositions, statistics, testCache } from "./test-support/policy-fixtures.js";
import { budgetTokens, checkTokenBudget } from "./token-budget.js";
import { TovaPolicy } from "./tova-policy.js";

describe("StreamingLlmPolicy", () => {
  it("keeps exactly the sinks and the most recent window", async () => {
    const cache = testCache({ layers: 2, kvHeads: 2, headDim: 8 });
    appendTokens(cache, 20);
    const policy = new StreamingLlmPolicy({ budget: { tokens: 10 }, sinkTokens: 4 });
    const report = await cache.applyActions(policy.decide(cache));
    expect(report.failed).toEqual([]);
    // 4 sinks + the 6 newest of 20 positions.
    const expected = [0, 1, 2, 3, 14, 15, 16, 17, 18, 19];
    for (let layer = 0; layer < 2; layer++) for (let kvHead = 0; kvHead < 2; kvHead++) expect(livePositions(cache, layer, kvHead)).toEqual(expected);
    // One more token: the window slides by one, the sinks stay.
    appendTokens(cache, 1);
    await cache.applyActions(policy.decide(cache));
    expect(livePositions(cache, 0, 0)).toEqual([0, 1, 2, 3, 15, 16, 17, 18, 19, 20]);
    // Pages 4–7 and 8–11 lost every row and are freed; page 12–15 keeps 15 only and was compacted.
    const pages = cache.pageDigests(0, 0).map((digest) => [digest.firstPosition, digest.tokenCount, digest.liveCount]);
    expect(pages).toEqual([
      [0, 4, 4],
      [12, 1, 1],
      [16, 4, 4],
    ]);
  });

  it("reads no attention, so the cache computes no weights for it", () => {
    expect(new StreamingLlmPolicy({ budget: { fraction: 0.5 } }).observe).toBeUndefined();
  });
});

describe("H2oPolicy", () => {
  it("keeps the heavy hitters and the recent window", async () => {
    const cache = testCache({ layers: 1, kvHeads: 1, headDim: 8 });
    appendTokens(cache, 20);
    const policy = new H2oPolicy({ budget: { tokens: 7 }, recentTokens: 4 });
    const heavy = new Set([2, 7, 11]);
    // Five steps where positions 2, 7, 11 get 0.2 each and the rest share what is left (2 heads, 1 KV head).
    for (let step = 0; step < 5; step++) {
      policy.observe?.(statistics(0, step, 2, 1, 20, (_head, position) => (heavy.has(position) ? 0.2 : 0.4 / 17)), cache);
    }
    await cache.applyActions(policy.decide(cache));
    expect(livePositions(cache, 0, 0)).toEqual([2, 7, 11, 16, 17, 18, 19]);
  });

  it("sums attention over the query heads of a KV head (GQA)", async () => {
    const cache = testCache({ layers: 1, kvHeads: 2, headDim: 8 });
    appendTokens(cache, 8);
    const policy = new H2oPolicy({ budget: { tokens: 7 }, recentTokens: 0 });
    // Heads 0,1 read KV head 0; heads 2,3 read KV head 1. Position 3 is low for head 0 only, position 5 for heads 2 and 3.
    policy.observe?.(
      statistics(0, 0, 4, 2, 8, (head, position) => {
        if (head === 0 && position === 3) return 0;
        if (head >= 2 && position === 5) return 0;
        return 0.125;
      }),
      cache,
    );
    await cache.applyActions(policy.decide(cache));
    expect(livePositions(cache, 0, 0)).toEqual([0, 1, 2, 4, 5, 6, 7]);
    expect(livePositions(cache, 0, 1)).toEqual([0, 1, 2, 3, 4, 6, 7]);
  });
});

describe("TovaPolicy", () => {
  it("drops the token with the lowest current attention, averaged over the group", async () => {
    const cache = testCache({ layers: 1, kvHeads: 1, headDim: 8 });
    appendTokens(cache, 12);
    const policy = new TovaPolicy({ budget: { tokens: 11 } });
    // Older history favours position 9 heavily; TOVA ignores history.
    policy.observe?.(statistics(0, 0, 2, 1, 12, (_head, position) => (position === 9 ? 0.9 : 0.01)), cache);
    // Current step: head 0 puts position 5 lowest, head 1 puts position 9 lowest; the mean is lowest at 9.
    policy.observe?.(
      statistics(0, 1, 2, 1, 12, (head, position) => {
        if (head === 0) return position === 5 ? 0.01 : position === 9 ? 0.03 : 0.09;
        return position === 9 ? 0.0 : position === 5 ? 0.05 : 0.09;
      }),
      cache,
    );
    const actions = policy.decide(cache);
    expect(actions).toEqual([{ kind: "drop", layer: 0, kvHead: 0, positions: Int32Array.from([9]) }]);
  });
});

describe("SnapKvPolicy", () => {
  it("keeps the pooled cluster of the window's votes and the window itself", async () => {
    const cache = testCache({ layers: 1, kvHeads: 1, headDim: 8 });
    appendTokens(cache, 24);
    const policy = new SnapKvPolicy({ budget: { tokens: 7 }, windowSize: 4, kernelSize: 3 });
    // Step 0 (outside the final 4-step window) votes for position 0 only: it must not count.
    policy.observe?.(statistics(0, 0, 1, 1, 24, (_head, position) => (position === 0 ? 1 : 0)), cache);
    // Window steps: position 10 gets 0.5, isolated position 3 gets 0.3, the rest tiny.
    for (let step = 1; step <= 4; step++) {
      policy.observe?.(statistics(0, step, 1, 1, 24, (_head, position) => (position === 10 ? 0.5 : position === 3 ? 0.3 : 0.001)), cache);
    }
    await cache.applyActions(policy.decide(cache));
    // Pooling with kernel 3 lifts 9 and 11 to 0.5 > 0.3, so the cluster 9–11 wins over 3; 20–23 is the window.
    expect(livePositions(cache, 0, 0)).toEqual([9, 10, 11, 20, 21, 22, 23]);
  });

  it("compresses only once at prefill when prefillLength is given", () => {
    const cache = testCache({ layers: 1, kvHeads: 1, headDim: 8 });
    const policy = new SnapKvPolicy({ budget: { tokens: 6 }, windowSize: 2, prefillLength: 10 });
    appendTokens(cache, 8);
    policy.observe?.(statistics(0, 0, 1, 1, 8, () => 1 / 8), cache);
    expect(policy.decide(cache)).toEqual([]);
    appendTokens(cache, 2);
    policy.observe?.(statistics(0, 1, 1, 1, 10, () => 0.1), cache);
    expect(policy.decide(cache).length).toBeGreaterThan(0);
    appendTokens(cache, 2);
    expect(policy.decide(cache)).toEqual([]);
  });

  it("rejects an even pooling kernel", () => {
    expect(() => new SnapKvPolicy({ budget: { tokens: 4 }, kernelSize: 4 })).toThrow(PolicyConfigurationError);
  });
});

describe("budgets", () => {
  it("resolves counts, fractions, minimums and layer weights, never above the tokens cached", () => {
    // ceil(0.25 × 10) = 3; the minimum 4 wins; capped at the 2 tokens cached.
    expect(budgetTokens({ fraction: 0.25 }, 0, 10)).toBe(3);
    expect(budgetTokens({ fraction: 0.25, minimum: 4 }, 0, 10)).toBe(4);
    expect(budgetTokens({ fraction: 0.25, minimum: 4 }, 0, 2)).toBe(2);
    // Layer weights scale either kind: round(10 × 1.5) = 15, ceil(0.5 × 0.5 × 100) = 25.
    expect(budgetTokens({ tokens: 10, layerWeights: [1, 1.5] }, 1, 100)).toBe(15);
    expect(budgetTokens({ fraction: 0.5, layerWeights: [0.5, 1.5] }, 0, 100)).toBe(25);
    expect(() => checkTokenBudget({ tokens: 10, layerWeights: [1, 1] }, 3)).toThrow(PolicyConfigurationError);
  });

  it("rejects fractions outside (0, 1] and NaN", () => {
    expect(() => new H2oPolicy({ budget: { fraction: 1.5 } })).toThrow(PolicyConfigurationError);
    expect(() => new H2oPolicy({ budget: { fraction: Number.NaN } })).toThrow(PolicyConfigurationError);
    expect(() => new TovaPolicy({ budget: { tokens: 0 } })).toThrow(PolicyConfigurationError);
  });
});
