import { createCodec, fromHalfBits, toHalfBits } from "@kvpack/codecs";
import { describe, expect, it } from "vitest";
import { CompressedKVCache } from "./compressed/compressed-kv-cache.js";
import { DenseKVCache } from "./dense-kv-cache.js";
import { seededFloats } from "./test-support/test-codecs.js";

/** The cache with the real @kvpack/codecs codecs (createCodec is the default factory). */
const layers = 2;
const kvHeads = 2;
const heads = 4;
const headDim = 64;
const stride = kvHeads * headDim;

function roundToHalf(values: Float32Array): Float32Array {
  return values.map((value) => fromHalfBits(toHalfBits(value)));
}

function cosine(a: Float32Array, b: Float32Array): number {
  let dot = 0;
  let normA = 0;
  let normB = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i] * b[i];
    normA += a[i] * a[i];
    normB += b[i] * b[i];
  }
  return dot / Math.sqrt(normA * normB);
}

function run(
  cache: CompressedKVCache,
  dense: DenseKVCache,
  tokens: number,
  transform: (values: Float32Array) => Float32Array = (values) => values,
): { worst: number; cosines: number[] } {
  const out = new Float32Array(heads * headDim);
  const denseOut = new Float32Array(heads * headDim);
  let worst = 0;
  const cosines: number[] = [];
  for (let position = 0; position < tokens; position++) {
    for (let layer = 0; layer < layers; layer++) {
      const keys = seededFloats(stride, 11 + layer * 7919 + position * 31);
      const values = seededFloats(stride, 23 + layer * 7919 + position * 31);
      cache.append(layer, keys, values);
      dense.append(layer, transform(keys), transform(values));
      const queries = seededFloats(heads * headDim, 97 + layer * 104729 + position * 17).map((value) => value * 3);
      cache.attend(layer, queries, out, { heads });
      dense.attend(layer, queries, denseOut, { heads });
      for (let i = 0; i < out.length; i++) worst = Math.max(worst, Math.abs(out[i] - denseOut[i]));
      cosines.push(cosine(out, denseOut));
    }
  }
  return { worst, cosines };
}

describe("CompressedKVCache with @kvpack/codecs", () => {
  it("fp32 codec: attention equals DenseKVCache within 1e-4", () => {
    const spec = { kind: "fp32", dimension: headDim } as const;
    const cache = new CompressedKVCache({ layers, kvHeads, headDim, keys: spec, values: spec });
    const { worst } = run(cache, new DenseKVCache({ layers, kvHeads, headDim, capacity: 100 }), 80);
    expect(worst).toBeLessThan(1e-4);
  });

  it("fp16 codec: equals a dense cache of the same rows, fp16-rounded where paged, within 1e-4", () => {
    const spec = { kind: "fp16", dimension: headDim } as const;
    // Default pages (32) and window (32): after 80 tokens rows 0–63 are fp16 pages, 64–79 the fp32 window.
    const cache = new CompressedKVCache({ layers, kvHeads, headDim, keys: spec, values: spec });
    const dense = new DenseKVCache({ layers, kvHeads, headDim, capacity: 100 });
    for (let position = 0; position < 80; position++) {
      for (let layer = 0; layer < layers; layer++) {
        const keys = seededFloats(stride, 11 + layer * 7919 + position * 31);
        const values = seededFloats(stride, 23 + layer * 7919 + position * 31);
        cache.append(layer, keys, values);
        const paged = position < 64;
        dense.append(layer, paged ? roundToHalf(keys) : keys, paged ? roundToHalf(values) : values);
      }
    }
    expect(cache.residualRange(0)).toEqual({ start: 64, end: 80 });
    const out = new Float32Array(heads * headDim);
    const denseOut = new Float32Array(heads * headDim);
    for (let layer = 0; layer < layers; layer++) {
      const queries = seededFloats(heads * headDim, 5 + layer).map((value) => value * 3);
      cache.attend(layer, queries, out, { heads });
      dense.attend(layer, queries, denseOut, { heads });
      for (let i = 0; i < out.length; i++) expect(Math.abs(out[i] - denseOut[i])).toBeLessThan(1e-4);
    }
    // pageSize 1, no window: every row is fp16 at once, exactly what the rounded dense cache holds.
    const exact = new CompressedKVCache({ layers, kvHeads, headDim, keys: spec, values: spec, residualWindow: 0, pageSize: 1 });
    const exactRun = run(exact, new DenseKVCache({ layers, kvHeads, headDim, capacity: 100 }), 40, roundToHalf);
    expect(exactRun.worst).toBeLessThan(1e-4);
  });

  it("KIVI-2 keys and values with the default 32-token pages and window: exact byte accounting and close attention", () => {
    const keys = { kind: "kivi", dimension: headDim, bits: 2, role: "key", groupSize: 32 } as const;
    const values = { kind: "kivi", dimension: headDim, bits: 2, role: "value", groupSize: 32 } as const;
    const cache = new CompressedKVCache({ layers, kvHeads, headDim, keys, values });
    const { cosines } = run(cache, new DenseKVCache({ layers, kvHeads, headDim, capacity: 100 }), 96);
    const report = cache.memoryReport();
    const keyCodec = createCodec(keys);
    const valueCodec = createCodec(values);
    // 96 tokens, flush at 32: 3 pages of 32 per layer × head, empty residual window.
    expect(report.totals.pages).toBe(layers * kvHeads * 3);
    expect(report.totals.keyBytes).toBe(layers * kvHeads * 3 * keyCodec.encodedByteLength(32));
    expect(report.totals.valueBytes).toBe(layers * kvHeads * 3 * valueCodec.encodedByteLength(32));
    expect(report.totals.residualBytes).toBe(0);
    expect(report.totals.compressionRatio).toBeCloseTo(report.totals.fp16Bytes / report.totals.totalBytes, 12);
    expect(report.totals.compressionRatio).toBeGreaterThan(3);
    // 2-bit uniform noise on random data: loose sanity bound on the output direction.
    const mean = cosines.reduce((a, b) => a + b, 0) / cosines.length;
    expect(mean).toBeGreaterThan(0.8);
  });
});
