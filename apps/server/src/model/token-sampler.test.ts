import { describe, expect, it } from "vitest";
import { TokenSampler, argmax } from "./token-sampler.js";

describe("TokenSampler", () => {
  const logits = Float32Array.from([0, 2, 1, 3, -1]);

  it("is argmax at temperature 0 (lowest id on ties, as run.c)", () => {
    const sampler = new TokenSampler({ temperature: 0, topP: 1, topK: 0, seed: 1 }, 5);
    expect(sampler.sample(logits)).toBe(3);
    expect(argmax(Float32Array.from([1, 5, 5]))).toBe(1);
  });

  it("repeats with the same seed and keeps to top-k", () => {
    const draw = (seed: number) => {
      const sampler = new TokenSampler({ temperature: 1, topP: 1, topK: 2, seed }, 5);
      return Array.from({ length: 200 }, () => sampler.sample(logits));
    };
    expect(draw(42)).toEqual(draw(42));
    expect(new Set(draw(42))).toEqual(new Set([3, 1]));
  });

  it("matches the softmax frequencies (±0.03 over 20,000 draws)", () => {
    const sampler = new TokenSampler({ temperature: 1, topP: 1, topK: 0, seed: 7 }, 5);
    const counts = new Array(5).fill(0);
    for (let i = 0; i < 20_000; i++) counts[sampler.sample(logits)]++;
    const weights = Array.from(logits, (value) => Math.exp(value));
    const total = weights.reduce((a, b) => a + b, 0);
    // Standard error of a frequency over 20,000 draws is ≤ 0.0036, so 0.03 is > 8 sigma.
    weights.forEach((weight, id) => expect(Math.abs(counts[id] / 20_000 - weight / total)).toBeLessThan(0.03));
  });

  it("keeps only the nucleus with top-p", () => {
    // softmax([0,2,1,3,-1]) ≈ [0.03, 0.23, 0.09, 0.63, 0.01]: top_p 0.8 keeps ids 3 and 1.
    const sampler = new TokenSampler({ temperature: 1, topP: 0.8, topK: 0, seed: 3 }, 5);
    const seen = new Set(Array.from({ length: 500 }, () => sampler.sample(logits)));
    expect(seen).toEqual(new Set([3, 1]));
  });

  it("applies OpenAI frequency and presence penalties to generated tokens", () => {
    // Greedy: id 3 (logit 3) first; with frequency 1.5 + presence 0 it drops to 1.5 < 2, so id 1 is next.
    const sampler = new TokenSampler({ temperature: 0, topP: 1, topK: 0, seed: 1, frequencyPenalty: 1.5 }, 5);
    expect(sampler.sample(logits)).toBe(3);
    expect(sampler.sample(logits)).toBe(1);
    // Presence 2.5 removes 2.5 from every seen token once: id 3 → 0.5, id 1 → −0.5, so id 2 (logit 1) wins.
    const present = new TokenSampler({ temperature: 0, topP: 1, topK: 0, seed: 1, presencePenalty: 2.5 }, 5);
    expect([present.sample(logits), present.sample(logits), present.sample(logits)]).toEqual([3, 1, 2]);
  });
});
