import { describe, expect, it } from "vitest";
import { bootstrapInterval, pairedDifferenceInterval, perplexityDeltaInterval } from "./bootstrap.js";
import { mulberry32 } from "@kvpack/codebook";

describe("bootstrap intervals", () => {
  it("the mean of n normal samples gets ≈ mean ± 1.96·σ/√n", () => {
    const next = mulberry32(3);
    const n = 400;
    const samples = Array.from({ length: n }, () => Math.sqrt(-2 * Math.log(1 - next())) * Math.cos(2 * Math.PI * next()));
    const mean = samples.reduce((a, b) => a + b, 0) / n;
    const sd = Math.sqrt(samples.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1));
    const [low, high] = bootstrapInterval(n, (weights) => weights.reduce((sum, weight, index) => sum + weight * samples[index], 0) / n);
    // Half-width 1.96·σ/√n ≈ 0.098 here; bootstrap percentiles match it within ~10 % at 2000 resamples.
    expect((high - low) / 2).toBeGreaterThan(0.9 * 1.96 * sd / Math.sqrt(n));
    expect((high - low) / 2).toBeLessThan(1.1 * 1.96 * sd / Math.sqrt(n));
    expect(low).toBeLessThan(mean);
    expect(high).toBeGreaterThan(mean);
  });

  it("a run identical to dense has Δppl interval [0, 0]; a uniformly worse run excludes 0 in the paired difference", () => {
    const tokens = [100, 80, 120, 90, 110];
    const dense = [130, 100, 150, 120, 140];
    expect(perplexityDeltaInterval({ nll: dense, denseNll: dense, tokens })).toEqual([0, 0]);
    const worse = dense.map((value) => value + 5);
    const [low] = pairedDifferenceInterval({ nll: worse, denseNll: dense, tokens }, { nll: dense, denseNll: dense, tokens });
    expect(low).toBeGreaterThan(0);
  });
});
