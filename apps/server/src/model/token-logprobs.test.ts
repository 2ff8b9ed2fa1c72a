import { describe, expect, it } from "vitest";
import { tokenLogprobs } from "./token-logprobs.js";
import { TokenSampler } from "./token-sampler.js";

/** Reference log-softmax in float64, written out directly. */
function logSoftmax(logits: readonly number[], temperature: number): number[] {
  const scaled = logits.map((value) => value / temperature);
  const total = scaled.reduce((sum, value) => sum + Math.exp(value), 0);
  return scaled.map((value) => value - Math.log(total));
}

describe("tokenLogprobs", () => {
  const logits = Float32Array.from([0, 2, 1, 3, -1]);

  it("is the log-softmax at the temperature, for the chosen token and the top N in order", () => {
    // softmax([0,2,1,3,-1]): log Σe^x = log 31.5610 = 3.451914, so log p(3) = −0.451914 (to 1e-5).
    const result = tokenLogprobs(logits, 1, 2, 3);
    expect(result.logprob).toBeCloseTo(1 - 3.451914, 5);
    expect(result.top.map((entry) => entry.id)).toEqual([3, 1, 2]);
    expect(result.top[0].logprob).toBeCloseTo(-0.451914, 5);
    const half = logSoftmax([0, 2, 1, 3, -1], 0.5);
    const atHalf = tokenLogprobs(logits, 0.5, 4, 5);
    atHalf.top.forEach((entry) => expect(entry.logprob).toBeCloseTo(half[entry.id], 6));
    expect(atHalf.logprob).toBeCloseTo(half[4], 6);
    // Probabilities of the whole vocabulary add up to 1 (to float rounding).
    expect(atHalf.top.reduce((sum, entry) => sum + Math.exp(entry.logprob), 0)).toBeCloseTo(1, 6);
  });

  it("reports temperature 0 (greedy) at temperature 1, keeps ties in id order, and handles top 0", () => {
    const greedy = tokenLogprobs(logits, 0, 3, 1);
    expect(greedy.logprob).toBeCloseTo(logSoftmax([0, 2, 1, 3, -1], 1)[3], 6);
    expect(tokenLogprobs(Float32Array.from([1, 5, 5, 0]), 1, 1, 2).top.map((entry) => entry.id)).toEqual([1, 2]);
    expect(tokenLogprobs(logits, 1, 0, 0).top).toEqual([]);
  });

  it("comes from the penalized logits the sampler drew from", () => {
    const sampler = new TokenSampler({ temperature: 0, topP: 1, topK: 0, seed: 1, frequencyPenalty: 1.5 }, 5);
    const first = sampler.sampleWithLogprobs(logits, 2);
    expect(first.token).toBe(3);
    expect(first.logprobs?.logprob).toBeCloseTo(logSoftmax([0, 2, 1, 3, -1], 1)[3], 6);
    // Token 3 was generated once: its logit is now 3 − 1.5 = 1.5, so token 1 (logit 2) wins and leads the top list.
    const second = sampler.sampleWithLogprobs(logits, 2);
    const penalized = logSoftmax([0, 2, 1, 1.5, -1], 1);
    expect(second.token).toBe(1);
    expect(second.logprobs?.top.map((entry) => entry.id)).toEqual([1, 3]);
    expect(second.logprobs?.top[1].logprob).toBeCloseTo(penalized[3], 6);
  });
});
