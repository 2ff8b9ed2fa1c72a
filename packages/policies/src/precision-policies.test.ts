import { createCodec } from "@kvpack/codecs";
import { describe, expect, it } from "vitest";
import { MiKvPolicy } from "./mikv-policy.js";
import { PolicyConfigurationError } from "./policy-errors.js";
import { AnTkvPolicy, ZipCachePolicy } from "./saliency-precision-policy.js";
import { appendTokens, livePositions, statistics, testCache } from "./test-support/policy-fixtures.js";

const headDim = 8;
const low = (dimension: number) => ({ kind: "turboquant", dimension, bits: 2 }) as const;
const lowId = createCodec(low(headDim)).codecId;
const highId = createCodec({ kind: "fp32", dimension: headDim }).codecId;

/** Key codec id of the page holding `position` ("mixed" when the page holds several segments). */
function codecOf(cache: ReturnType<typeof testCache>, position: number): string {
  const page = cache.memoryReport().layers[0].heads[0].pages.find((entry) => position >= entry.firstPosition && position < entry.firstPosition + cache.pageSize);
  if (page === undefined) throw new Error(`no page holds ${position}`);
  return page.keyCodecIds.length === 1 ? page.keyCodecIds[0] : "mixed";
}

describe("MiKvPolicy", () => {
  it("keeps evicted tokens at low precision instead of dropping them", async () => {
    const cache = testCache({ layers: 1, kvHeads: 1, headDim });
    appendTokens(cache, 16);
    const policy = new MiKvPolicy({ budget: { tokens: 8 }, recentTokens: 4, lowKeys: low, lowValues: low, batch: 1 });
    // Positions 0–3 are heavy. Budget 8 = 4 recent (12–15) + the 4 heaviest (0–3); 4–11 are evicted.
    const heavy = new Set([0, 1, 2, 3]);
    policy.observe?.(statistics(0, 0, 1, 1, 16, (_head, position) => (heavy.has(position) ? 0.2 : 0.2 / 12)), cache);
    const report = await cache.applyActions(policy.decide(cache));
    expect(report.failed).toEqual([]);
    // Nothing dropped: MiKV never loses a token.
    expect(livePositions(cache, 0, 0)).toEqual(Array.from({ length: 16 }, (_, i) => i));
    // Pages 4–7 and 8–11 hold only evicted tokens: re-encoded with the low codec; 0–3 (heavy) and 12–15 (recent) stay.
    expect(codecOf(cache, 0)).toBe(highId);
    expect(codecOf(cache, 4)).toBe(lowId);
    expect(codecOf(cache, 8)).toBe(lowId);
    expect(codecOf(cache, 12)).toBe(highId);
    expect(policy.demotedTokens).toBe(8);
  });

  it("writes tokens evicted while still in the residual window at low precision when they flush", () => {
    const cache = testCache({ layers: 1, kvHeads: 1, headDim, pageSize: 4, residualWindow: 8 });
    const policy = new MiKvPolicy({ budget: { tokens: 2 }, recentTokens: 0, lowKeys: low, lowValues: low });
    cache.setPolicy(policy);
    appendTokens(cache, 3);
    // Position 1 gets the least attention: evicted (demoted) while in the residual window.
    policy.observe?.(statistics(0, 0, 1, 1, 3, (_head, position) => (position === 1 ? 0 : 0.5)), cache);
    expect(policy.decide(cache)).toEqual([]);
    appendTokens(cache, 5);
    // The 8-row window flushed two pages; position 1 went into a low-precision segment.
    const page = cache.memoryReport().layers[0].heads[0].pages[0];
    expect([...page.keyCodecIds].sort()).toEqual([highId, lowId].sort());
    expect(policy.demotedTokens).toBe(1);
  });

  it("rejects a zero batch", () => {
    expect(() => new MiKvPolicy({ budget: { tokens: 4 }, batch: 0 })).toThrow(PolicyConfigurationError);
  });
});

describe("ZipCachePolicy and AnTkvPolicy", () => {
  it("ZipCache normalizes attention by the queries that saw a token", () => {
    const cache = testCache({ layers: 1, kvHeads: 1, headDim, residualWindow: 0 });
    const policy = new ZipCachePolicy({ highPrecisionFraction: 0.25, lowKeys: low, lowValues: low });
    appendTokens(cache, 3);
    // Step at length 3: position 0 collects 0.3 per step over 3 steps (0.9 in total, 0.3 per query)…
    for (let step = 0; step < 3; step++) policy.observe(statistics(0, step, 1, 1, 3, (_head, position) => (position === 0 ? 0.3 : 0.35)), cache);
    // …while position 2 has 1.05 over 1 possible query (length 3 − position 2 = 1): 1.05 per query, the most salient.
    const plan = policy.planFlush({ layer: 0, kvHead: 0, positions: Int32Array.from([0, 1, 2, 3]), keys: new Float32Array(32), values: new Float32Array(32) }, cache);
    // ceil(0.25 × 4) = 1 row at high precision: position 2 (0.35×3 = 1.05 over 1 query); 3 has no attention yet.
    expect(plan).toEqual([{ positions: [0, 1, 3], keys: low(headDim), values: low(headDim) }]);
    expect(policy.lowPrecisionTokens).toBe(3);
  });

  it("AnTKV weights normalized attention by the value norm (anchor score)", () => {
    const cache = testCache({ layers: 1, kvHeads: 1, headDim });
    const policy = new AnTkvPolicy({ highPrecisionFraction: 0.5, lowKeys: low, lowValues: low });
    appendTokens(cache, 4);
    policy.observe(statistics(0, 0, 1, 1, 4, () => 0.25), cache);
    // Equal attention; values of rows 1 and 3 are 3× longer, so they are the anchors.
    const values = new Float32Array(4 * headDim).fill(1);
    for (const row of [1, 3]) for (let i = 0; i < headDim; i++) values[row * headDim + i] = 3;
    const plan = policy.planFlush({ layer: 0, kvHead: 0, positions: Int32Array.from([0, 1, 2, 3]), keys: new Float32Array(4 * headDim), values }, cache);
    expect(plan?.[0].positions).toEqual([0, 2]);
  });

  it("rejects a high-precision share outside (0, 1]", () => {
    expect(() => new ZipCachePolicy({ highPrecisionFraction: 0 })).toThrow(PolicyConfigurationError);
  });
});
