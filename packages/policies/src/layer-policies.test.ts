import { createCodec } from "@kvpack/codecs";
import { describe, expect, it } from "vitest";
import { type BitPair, KvTunerPolicy, calibrateKvTuner, chooseBitPairs, kvTunerConfigToJson, parseKvTunerConfig } from "./kvtuner.js";
import { PolicyConfigurationError } from "./policy-errors.js";
import { pyramidLayerWeights } from "./pyramid-budget.js";
import { PyramidKvPolicy } from "./pyramidkv-policy.js";
import { appendTokens, livePositions, seededFloats, statistics, testCache } from "./test-support/policy-fixtures.js";

describe("pyramidLayerWeights", () => {
  it("shrinks linearly with depth, averages 1, and the top layer gets 1/β (PyramidKV's allocation)", () => {
    const weights = pyramidLayerWeights(5, 20);
    // Closed form: top = 1/β = 0.05, bottom = 2 − 1/β = 1.95, equal steps in between.
    expect(weights[4]).toBeCloseTo(0.05, 12);
    expect(weights[0]).toBeCloseTo(1.95, 12);
    expect(weights.reduce((a, b) => a + b, 0) / 5).toBeCloseTo(1, 12);
    for (let i = 1; i < 5; i++) expect(weights[i - 1] - weights[i]).toBeCloseTo(0.475, 12);
    expect(pyramidLayerWeights(1)).toEqual([1]);
    expect(() => pyramidLayerWeights(4, 0.5)).toThrow(PolicyConfigurationError);
  });

  it("PyramidKV keeps more tokens in lower layers", async () => {
    const cache = testCache({ layers: 3, kvHeads: 1, headDim: 8 });
    appendTokens(cache, 40);
    const policy = new PyramidKvPolicy({ budget: { tokens: 16 }, layers: 3, beta: 4, windowSize: 2, kernelSize: 1 });
    for (let layer = 0; layer < 3; layer++) policy.observe?.(statistics(layer, 0, 1, 1, 40, () => 1 / 40), cache);
    await cache.applyActions(policy.decide(cache));
    // β = 4: weights 1.75, 1, 0.25 → 28, 16, 4 tokens.
    expect([0, 1, 2].map((layer) => livePositions(cache, layer, 0).length)).toEqual([28, 16, 4]);
  });
});

describe("KVTuner", () => {
  it("chooseBitPairs finds the exact optimum (checked by brute force on 200 random instances)", () => {
    const candidates: BitPair[] = [
      { keyBits: 2, valueBits: 2 },
      { keyBits: 4, valueBits: 2 },
      { keyBits: 2, valueBits: 4 },
      { keyBits: 4, valueBits: 4 },
      { keyBits: 3, valueBits: 3 },
    ];
    for (let trial = 0; trial < 200; trial++) {
      const layers = 1 + (trial % 4);
      const noise = seededFloats(layers * candidates.length, 31 + trial);
      const errors = Array.from({ length: layers }, (_, layer) => candidates.map((_, c) => Math.abs(noise[layer * candidates.length + c])));
      const target = 2 + (trial % 5) * 0.5;
      const choice = chooseBitPairs(errors, candidates, target);
      const cost = (picks: number[]) => picks.reduce((sum, c) => sum + candidates[c].keyBits + candidates[c].valueBits, 0);
      const error = (picks: number[]) => picks.reduce((sum, c, layer) => sum + errors[layer][c], 0);
      let best = Infinity;
      const walk = (layer: number, picks: number[]): void => {
        if (layer === layers) {
          if (cost(picks) <= 2 * layers * target + 1e-9) best = Math.min(best, error(picks));
          return;
        }
        for (let c = 0; c < candidates.length; c++) walk(layer + 1, [...picks, c]);
      };
      walk(0, []);
      expect(cost(choice)).toBeLessThanOrEqual(2 * layers * target + 1e-9);
      expect(error(choice)).toBeCloseTo(best, 12);
    }
    expect(() => chooseBitPairs([[1]], [{ keyBits: 4, valueBits: 4 }], 2)).toThrow(PolicyConfigurationError);
  });

  /** Two layers of synthetic activations; layer 1's keys are 10× larger, so its attention is more sensitive to key error. */
  function samples(tokens: number) {
    return [1, 10].map((keyScale, layer) => {
      const keys = seededFloats(tokens * 2 * 16, 100 + layer);
      for (let i = 0; i < keys.length; i++) keys[i] *= keyScale;
      return { keys, values: seededFloats(tokens * 2 * 16, 200 + layer), queries: seededFloats(tokens * 4 * 16, 300 + layer), tokens };
    });
  }

  it("calibrates per-layer pairs within the bit budget and round-trips through JSON", () => {
    const candidates: BitPair[] = [
      { keyBits: 2, valueBits: 2 },
      { keyBits: 4, valueBits: 2 },
      { keyBits: 2, valueBits: 4 },
      { keyBits: 4, valueBits: 4 },
    ];
    const config = calibrateKvTuner(samples(24), { heads: 4, kvHeads: 2, headDim: 16, candidates, targetBits: 3 });
    expect(config.averageBits).toBeLessThanOrEqual(3);
    // More bits on both sides never increase the measured error (same codec family, finer grid).
    for (const errors of config.candidateErrors) expect(errors[3]).toBeLessThan(errors[0]);
    // The sharper layer (10× keys) is the one that gets the 4-bit keys.
    expect(config.layers[1].keyBits).toBe(4);
    expect(parseKvTunerConfig(kvTunerConfigToJson(config))).toEqual(config);
    expect(() => parseKvTunerConfig('{"format":"other"}')).toThrow(PolicyConfigurationError);
  });

  it("KvTunerPolicy writes each layer's pages with its pair", () => {
    const config = parseKvTunerConfig(
      JSON.stringify({
        format: "kvpack-kvtuner",
        version: 1,
        family: "turboquant",
        targetBits: 3,
        averageBits: 3,
        layers: [
          { keyBits: 4, valueBits: 2, error: 0 },
          { keyBits: 2, valueBits: 4, error: 0 },
        ],
        candidates: [],
        candidateErrors: [],
      }),
    );
    const cache = testCache({ layers: 2, kvHeads: 1, headDim: 8, policy: new KvTunerPolicy(config) });
    appendTokens(cache, 8);
    const id = (bits: number) => createCodec({ kind: "turboquant", dimension: 8, bits }).codecId;
    const report = cache.memoryReport();
    expect(report.layers[0].heads[0].pages[0].keyCodecIds).toEqual([id(4)]);
    expect(report.layers[0].heads[0].pages[0].valueCodecIds).toEqual([id(2)]);
    expect(report.layers[1].heads[0].pages[0].keyCodecIds).toEqual([id(2)]);
  });
});
