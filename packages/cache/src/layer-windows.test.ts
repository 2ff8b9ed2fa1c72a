import { describe, expect, it } from "vitest";
import { CompressedKVCache } from "./compressed/compressed-kv-cache.js";
import { DenseKVCache } from "./dense-kv-cache.js";
import type { KVCache } from "./kv-cache.js";
import { seededFloats, testCodecFactory } from "./test-support/test-codecs.js";

// Sliding-window layers (KVCacheShape.layerWindows, Gemma 2): a windowed layer must attend exactly
// what a full layer attends when only the last W tokens were ever appended. Expected values come
// from that second cache (same float32 steps, so equality is exact).
const kvHeads = 2;
const headDim = 8;
const heads = 4;
const window = 5;
const tokens = 13;
const row = (token: number, salt: number): Float32Array => seededFloats(kvHeads * headDim, token * 31 + salt);
const query = seededFloats(heads * headDim, 999);

function fill(cache: KVCache, layer: number, from: number, to: number): void {
  for (let t = from; t < to; t++) cache.append(layer, row(t, 1), row(t, 2));
}

function attendOut(cache: KVCache, layer: number, options: { logitSoftCap?: number; weights?: boolean } = {}): { out: Float32Array; weights: Float32Array } {
  const out = new Float32Array(heads * headDim);
  const weights = new Float32Array(heads * cache.length(layer));
  cache.attend(layer, query, out, { heads, logitSoftCap: options.logitSoftCap, weightsOut: options.weights ? weights : undefined });
  return { out, weights };
}

describe("layerWindows", () => {
  it("DenseKVCache: a windowed layer attends its last W tokens only, in a ring of W rows", () => {
    const cache = new DenseKVCache({ layers: 2, kvHeads, headDim, capacity: 64, layerWindows: [window, undefined] });
    const reference = new DenseKVCache({ layers: 1, kvHeads, headDim, capacity: 64 });
    fill(cache, 0, 0, tokens);
    fill(cache, 1, 0, tokens);
    fill(reference, 0, tokens - window, tokens);
    expect(attendOut(cache, 0).out).toEqual(attendOut(reference, 0).out);
    // The full layer still sees every token, so it differs from the window.
    expect(attendOut(cache, 1).out).not.toEqual(attendOut(cache, 0).out);
    const { weights } = attendOut(cache, 0, { weights: true });
    for (let h = 0; h < heads; h++) {
      const headWeights = weights.subarray(h * tokens, (h + 1) * tokens);
      expect(Array.from(headWeights.subarray(0, tokens - window))).toEqual(new Array(tokens - window).fill(0));
      expect(headWeights.subarray(tokens - window).every((w) => w > 0)).toBe(true);
    }
    // Bytes: layer 0 holds 5 rows, layer 1 all 13 (fp32 keys + values).
    expect(cache.byteLength()).toBe((window + tokens) * kvHeads * headDim * 4 * 2);
  });

  it("DenseKVCache: truncating inside the window and appending again matches a fresh cache; forgotten rows read as zeros", () => {
    const cache = new DenseKVCache({ layers: 1, kvHeads, headDim, capacity: 64, layerWindows: [window] });
    fill(cache, 0, 0, tokens);
    cache.truncate(tokens - 2);
    fill(cache, 0, tokens - 2, tokens + 3);
    const reference = new DenseKVCache({ layers: 1, kvHeads, headDim, capacity: 64 });
    fill(reference, 0, tokens + 3 - window, tokens + 3);
    expect(attendOut(cache, 0).out).toEqual(attendOut(reference, 0).out);
    const length = tokens + 3;
    const keys = new Float32Array(kvHeads * length * headDim);
    const values = new Float32Array(kvHeads * length * headDim);
    cache.readLayer(0, keys, values);
    expect(keys.subarray(0, (length - window) * headDim).every((v) => v === 0)).toBe(true);
    expect(Array.from(keys.subarray((length - 1) * headDim, length * headDim))).toEqual(Array.from(row(length - 1, 1).subarray(0, headDim)));
  });

  it("CompressedKVCache (fp32 codec): the same window, dropped rows freed as their pages empty", () => {
    const codec = { kind: "fp32", dimension: headDim } as const;
    const options = { layers: 1, kvHeads, headDim, keys: codec, values: codec, pageSize: 4, residualWindow: 0, codecFactory: testCodecFactory };
    const cache = new CompressedKVCache({ ...options, layerWindows: [window] });
    const full = new CompressedKVCache(options);
    const reference = new DenseKVCache({ layers: 1, kvHeads, headDim, capacity: 64 });
    const long = 40;
    fill(cache, 0, 0, long);
    fill(full, 0, 0, long);
    fill(reference, 0, long - window, long);
    // The fp32 codec reproduces DenseKVCache bit for bit (cache README).
    expect(attendOut(cache, 0).out).toEqual(attendOut(reference, 0).out);
    for (let kvHead = 0; kvHead < kvHeads; kvHead++) expect(cache.liveCount(0, kvHead)).toBe(window);
    // Pages whose rows all left the window are freed: the windowed cache holds ≤ W + 2 pages' worth, not 40 rows.
    expect(cache.byteLength()).toBeLessThan(full.byteLength() / 3);
  });

  it("logitSoftCap: DenseKVCache applies cap·tanh(s/cap) before the softmax", () => {
    const cache = new DenseKVCache({ layers: 1, kvHeads, headDim, capacity: 8 });
    const keys = [row(0, 1), row(1, 1)];
    const values = [row(0, 2), row(1, 2)];
    keys.forEach((k, t) => cache.append(0, k, values[t]));
    const cap = 0.5;
    const out = new Float32Array(heads * headDim);
    cache.attend(0, query, out, { heads, logitSoftCap: cap });
    // Hand computation for query head 0 (KV head 0): two scores, capped, softmaxed.
    const scale = 1 / Math.sqrt(headDim);
    const scores = keys.map((k) => {
      let dot = 0;
      for (let i = 0; i < headDim; i++) dot += query[i] * k[i];
      return cap * Math.tanh(Math.fround(Math.fround(dot) * scale) / cap);
    });
    const m = Math.max(...scores);
    const e = scores.map((s) => Math.exp(s - m));
    const expected = Array.from({ length: headDim }, (_, i) => (e[0] * values[0][i] + e[1] * values[1][i]) / (e[0] + e[1]));
    // float32 accumulation of two weighted rows: within 1e-6 of the float64 hand value.
    for (let i = 0; i < headDim; i++) expect(out[i]).toBeCloseTo(expected[i], 6);
    const plain = new Float32Array(heads * headDim);
    cache.attend(0, query, plain, { heads });
    expect(plain).not.toEqual(out);
  });

  it("logitSoftCap: CompressedKVCache (fp32 codec) equals DenseKVCache bit for bit, across pages, residual rows, drops and a window", () => {
    const codec = { kind: "fp32", dimension: headDim } as const;
    const compressed = new CompressedKVCache({ layers: 1, kvHeads, headDim, keys: codec, values: codec, pageSize: 4, residualWindow: 4, codecFactory: testCodecFactory, layerWindows: [9] });
    const dense = new DenseKVCache({ layers: 1, kvHeads, headDim, capacity: 64, layerWindows: [9] });
    fill(compressed, 0, 0, 22);
    fill(dense, 0, 0, 22);
    for (const cap of [0.5, 50]) {
      const a = attendOut(compressed, 0, { logitSoftCap: cap, weights: true });
      const b = attendOut(dense, 0, { logitSoftCap: cap, weights: true });
      expect(a.out).toEqual(b.out);
      expect(a.weights).toEqual(b.weights);
    }
    // A dropped row takes no weight, and the others still sum to 1.
    compressed.applyActions([{ kind: "drop", layer: 0, positions: [20] }]);
    const dropped = attendOut(compressed, 0, { logitSoftCap: 0.5, weights: true });
    for (let h = 0; h < heads; h++) expect(dropped.weights[h * 22 + 20]).toBe(0);
    expect(dropped.weights.subarray(0, 22).reduce((sum, w) => sum + w, 0)).toBeCloseTo(1, 6);
  });

  it("rejects a list of the wrong length or a non-positive window", () => {
    expect(() => new DenseKVCache({ layers: 2, kvHeads, headDim, capacity: 8, layerWindows: [4] })).toThrow(RangeError);
    expect(() => new DenseKVCache({ layers: 1, kvHeads, headDim, capacity: 8, layerWindows: [0] })).toThrow(/positive integer/);
    const codec = { kind: "fp32", dimension: headDim } as const;
    expect(() => new CompressedKVCache({ layers: 1, kvHeads, headDim, keys: codec, values: codec, codecFactory: testCodecFactory, layerWindows: [1.5] })).toThrow(/positive integer/);
  });
});
