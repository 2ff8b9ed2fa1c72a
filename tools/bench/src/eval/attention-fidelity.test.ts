import { describe, expect, it } from "vitest";
import { createCodec } from "@kvpack/codecs";
import {
  AttentionFidelityError,
  AttentionScratch,
  FidelityAccumulator,
  cosineSimilarity,
  encodePages,
  klDivergenceFromLogProbabilities,
  logSoftmax,
  meanSquaredError,
  measureAttentionFidelity,
  percentile,
  queryPositions,
  type HeadSequence,
} from "./attention-fidelity.js";

/** Deterministic pseudo-random floats (LCG), so the tests need no seed plumbing. */
function randomFloats(count: number, seed: number): Float32Array {
  const out = new Float32Array(count);
  let state = seed >>> 0;
  for (let index = 0; index < count; index++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    out[index] = state / 2 ** 31 - 1;
  }
  return out;
}

describe("metric functions", () => {
  it("cosine: 1 for identical vectors, −1 for opposite, 1/√2 at 45°, 0 for orthogonal", () => {
    const vector = [0.3, -1.2, 4.5, 2];
    // Closed forms: cos 0 = 1, cos π = −1, cos π/4 = 1/√2, cos π/2 = 0; float64 rounding only (1e-15).
    expect(cosineSimilarity(vector, vector)).toBeCloseTo(1, 15);
    expect(cosineSimilarity(vector, vector.map((value) => -2 * value))).toBeCloseTo(-1, 15);
    expect(cosineSimilarity([1, 0], [1, 1])).toBeCloseTo(Math.SQRT1_2, 15);
    expect(cosineSimilarity([1, 0], [0, 3])).toBe(0);
    // Conventions for zero vectors (documented in cosineSimilarity).
    expect(cosineSimilarity([0, 0], [0, 0])).toBe(1);
    expect(cosineSimilarity([0, 0], [1, 0])).toBe(0);
  });

  it("mean squared error of [1,2,3] vs [1,0,6] is (0+4+9)/3", () => {
    expect(meanSquaredError([1, 2, 3], [1, 0, 6])).toBeCloseTo(13 / 3, 14);
    expect(() => meanSquaredError([1], [1], 0)).toThrow(AttentionFidelityError);
  });

  it("log-softmax of [0, ln 3] is [ln ¼, ln ¾], shift-invariant", () => {
    // softmax([0, ln 3]) = [1/(1+3), 3/(1+3)].
    const out = logSoftmax([0 + 500, Math.log(3) + 500], 2, new Float64Array(2));
    expect(out[0]).toBeCloseTo(Math.log(0.25), 12);
    expect(out[1]).toBeCloseTo(Math.log(0.75), 12);
  });

  it("KL of two Bernoulli distributions matches the closed form Σ p ln(p/q)", () => {
    // KL(Bern(½) ‖ Bern(¾)) = ½ ln(½/¼) + ½ ln(½/¾) = ½ ln(4/3) ≈ 0.1438410362 (Cover & Thomas, eq. 2.26).
    const logP = logSoftmax([Math.log(0.5), Math.log(0.5)], 2, new Float64Array(2));
    const logQ = logSoftmax([Math.log(0.25) + 7, Math.log(0.75) + 7], 2, new Float64Array(2));
    expect(klDivergenceFromLogProbabilities(logP, logQ, 2)).toBeCloseTo(0.5 * Math.log(4 / 3), 12);
    // Asymmetric: KL(Bern(¾) ‖ Bern(½)) = ¾ ln(3/2) + ¼ ln(1/2) ≈ 0.1308.
    expect(klDivergenceFromLogProbabilities(logQ, logP, 2)).toBeCloseTo(0.75 * Math.log(1.5) + 0.25 * Math.log(0.5), 12);
    expect(klDivergenceFromLogProbabilities(logP, logP, 2)).toBe(0);
  });

  it("KL against the uniform distribution equals ln n − H(p)", () => {
    // KL(p ‖ u) = Σ p ln(p·n) = ln n − H(p) for u uniform over n outcomes.
    const logits = [0.2, -1.3, 2.4, 0.9, -0.1];
    const logP = logSoftmax(logits, 5, new Float64Array(5));
    const logUniform = logSoftmax([3, 3, 3, 3, 3], 5, new Float64Array(5));
    let entropy = 0;
    for (const value of logP) entropy -= Math.exp(value) * value;
    expect(klDivergenceFromLogProbabilities(logP, logUniform, 5)).toBeCloseTo(Math.log(5) - entropy, 12);
  });

  it("percentile uses the nearest rank", () => {
    const values = Array.from({ length: 100 }, (_, index) => 100 - index); // 100 … 1
    // Nearest rank: the ⌈f·n⌉-th smallest value.
    expect(percentile(values, 0.01)).toBe(1);
    expect(percentile(values, 0.5)).toBe(50);
    expect(percentile(values, 1)).toBe(100);
    expect(() => percentile([], 0.5)).toThrow(AttentionFidelityError);
  });

  it("query positions are evenly spaced and end at the last position", () => {
    expect(queryPositions(10, 3)).toEqual([2, 5, 9]);
    expect(queryPositions(4, 10)).toEqual([0, 1, 2, 3]);
    expect(() => queryPositions(0, 3)).toThrow(AttentionFidelityError);
  });

  it("the accumulator averages cosines, score errors and KL and reports the 1st percentile", () => {
    const accumulator = new FidelityAccumulator();
    for (let index = 1; index <= 200; index++) accumulator.add(index / 200, 2 * index, 0.5);
    const summary = accumulator.summary();
    expect(summary.queries).toBe(200);
    expect(summary.attentionCosine).toBeCloseTo(201 / 400, 12); // mean of i/200 for i = 1..200
    expect(summary.cosineP01).toBe(2 / 200); // ⌈0.01·200⌉ = 2nd smallest
    expect(summary.scoreMse).toBeCloseTo(201, 12);
    expect(summary.kl).toBe(0.5);
    expect(() => accumulator.add(Number.NaN, 0, 0)).toThrow(AttentionFidelityError);
    expect(() => new FidelityAccumulator().summary()).toThrow(AttentionFidelityError);
  });
});

describe("measureAttentionFidelity", () => {
  const dimension = 8;
  const pageSize = 4;

  function headFor(codecSpecKind: "fp32" | "turboquant", keys: Float32Array, values: Float32Array, length: number) {
    const codec = codecSpecKind === "fp32" ? createCodec({ kind: "fp32", dimension }) : createCodec({ kind: "turboquant", dimension, bits: 1, norm: "fp16" });
    const head: HeadSequence = {
      keys,
      values,
      keyPages: encodePages(codec, keys, length, dimension, pageSize),
      valuePages: encodePages(codec, values, length, dimension, pageSize),
    };
    return { codec, head };
  }

  it("dense output is softmax(q·Kᵀ/√d)·V (two keys, weights ¼ and ¾)", () => {
    // q·k₁/√d − q·k₀/√d = ln 3 → weights ¼, ¾ (closed form of a two-way softmax).
    const keys = new Float32Array(2 * dimension);
    keys[dimension] = (Math.log(3) * Math.sqrt(dimension)) / 2;
    const values = randomFloats(2 * dimension, 3);
    const query = new Float32Array(dimension);
    query[0] = 2;
    const { codec, head } = headFor("fp32", keys, values, 2);
    const scratch = new AttentionScratch(2, dimension, pageSize);
    const result = measureAttentionFidelity(query, head, 2, codec, codec, scratch);
    for (let column = 0; column < dimension; column++) {
      // fp32 storage of the expected sum: 1e-6.
      expect(scratch.denseOutput[column]).toBeCloseTo(0.25 * values[column] + 0.75 * values[dimension + column], 6);
    }
    expect(result.cosine).toBeCloseTo(1, 6);
  });

  it("an exact codec (fp32) gives cosine 1 and zero KL, and rows past the prefix are ignored", () => {
    const length = 11;
    const keys = randomFloats(length * dimension, 7);
    const values = randomFloats(length * dimension, 8);
    // A huge key and value just past the prefix: counted by mistake, they would dominate the softmax.
    for (let column = 0; column < dimension; column++) {
      keys[9 * dimension + column] = 50;
      values[9 * dimension + column] = 100;
    }
    const query = randomFloats(dimension, 9).map((value) => Math.abs(value) + 0.5);
    const { codec, head } = headFor("fp32", keys, values, length);
    const scratch = new AttentionScratch(length, dimension, pageSize);
    for (const prefix of [1, 5, 9]) {
      const result = measureAttentionFidelity(query, head, prefix, codec, codec, scratch);
      // fp32 codec vs float64 dense: only float32 rounding differs (≤ 1e-6 relative).
      expect(result.cosine).toBeCloseTo(1, 6);
      expect(result.kl).toBeLessThan(1e-9);
      expect(result.scoreMse).toBeLessThan(1e-10);
    }
  });

  it("a 1-bit codec scores from its codes: lower cosine and positive KL", () => {
    const length = 40;
    const keys = randomFloats(length * dimension, 11).map((value) => value * 8);
    const values = randomFloats(length * dimension, 12);
    const query = randomFloats(dimension, 13).map((value) => value * 8);
    const { codec, head } = headFor("turboquant", keys, values, length);
    const scratch = new AttentionScratch(length, dimension, pageSize);
    const result = measureAttentionFidelity(query, head, length, codec, codec, scratch);
    expect(result.cosine).toBeLessThan(0.999);
    expect(result.kl).toBeGreaterThan(1e-4);
    expect(result.scoreMse).toBeGreaterThan(1e-3);
  });

  it("the compressed path (scores + accumulate) equals attention over the decoded cache, for every codec family", () => {
    const length = 21; // pages 4+4+4+4+4+1: a partial last page
    const keys = randomFloats(length * dimension, 21).map((value, index) => value * 3 + (index % dimension === 0 ? 2 : 0));
    const values = randomFloats(length * dimension, 22);
    const query = randomFloats(dimension, 23);
    const specs = [
      { kind: "turboquant", dimension, bits: 2, norm: "log8" },
      { kind: "fibquant", dimension, bits: 1, blockSize: 2, norm: "log8" },
      { kind: "fibquant", dimension, bits: 1.5, blockSize: 4, norm: "log8", center: true },
      { kind: "kivi", dimension, bits: 2, role: "key" },
      { kind: "quarot", dimension, bits: 3 },
      { kind: "int8", dimension },
      { kind: "q4_0", dimension },
    ] as const;
    for (const spec of specs) {
      const codec = createCodec(spec);
      const valueCodec = spec.kind === "kivi" ? createCodec({ ...spec, role: "value" }) : codec;
      const head: HeadSequence = { keys, values, keyPages: encodePages(codec, keys, length, dimension, pageSize), valuePages: encodePages(valueCodec, values, length, dimension, pageSize) };
      const scratch = new AttentionScratch(length, dimension, pageSize);
      const prefix = 18;
      measureAttentionFidelity(query, head, prefix, codec, valueCodec, scratch);
      // Reference: decode the pages, then plain softmax attention over the first `prefix` rows.
      const decodedKeys = new Float32Array(length * dimension);
      const decodedValues = new Float32Array(length * dimension);
      head.keyPages.forEach((block, page) => decodedKeys.set(codec.decode(block), page * pageSize * dimension));
      head.valuePages.forEach((block, page) => decodedValues.set(valueCodec.decode(block), page * pageSize * dimension));
      const logits = Array.from({ length: prefix }, (_, row) => {
        let dot = 0;
        for (let column = 0; column < dimension; column++) dot += query[column] * decodedKeys[row * dimension + column];
        return dot / Math.sqrt(dimension);
      });
      const logWeights = logSoftmax(logits, prefix, new Float64Array(prefix));
      for (let column = 0; column < dimension; column++) {
        let expected = 0;
        for (let row = 0; row < prefix; row++) expected += Math.exp(logWeights[row]) * decodedValues[row * dimension + column];
        // Scores from lookup tables and accumulation in the rotated domain differ from decode by float32 rounding (1e-4).
        expect(scratch.compressedOutput[column], `${spec.kind} column ${column}`).toBeCloseTo(expected, 4);
      }
    }
  }, 20000); // builds FibQuant codebooks: ~2 s alone, over 5 s on a loaded 2-core machine

  it("rejects a prefix longer than the scratch or the sequence", () => {
    const keys = randomFloats(4 * dimension, 1);
    const { codec, head } = headFor("fp32", keys, keys, 4);
    expect(() => measureAttentionFidelity(new Float32Array(dimension), head, 5, codec, codec, new AttentionScratch(8, dimension, pageSize))).toThrow(AttentionFidelityError);
    expect(() => measureAttentionFidelity(new Float32Array(dimension), head, 0, codec, codec, new AttentionScratch(8, dimension, pageSize))).toThrow(AttentionFidelityError);
  });
});
