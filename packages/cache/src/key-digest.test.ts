import { describe, expect, it } from "vitest";
import { CompressedKVCache } from "./compressed/compressed-kv-cache.js";
import { CacheConfigurationError } from "./errors.js";
import {
  type KeyDigestFormat,
  decodeKeyDigest,
  encodeKeyDigest,
  keyDigestByteLength,
  keyDigestFormats,
} from "./key-digest.js";
import { restoreSession, saveSession } from "./session-format.js";
import { createTestCodec, seededFloats } from "./test-support/test-codecs.js";

/** Random box from `rows` random keys, scaled by `scale`. */
function randomBox(headDim: number, rows: number, seed: number, scale: number): { keyMin: Float32Array; keyMax: Float32Array } {
  const keys = seededFloats(rows * headDim, seed);
  const keyMin = new Float32Array(headDim).fill(Infinity);
  const keyMax = new Float32Array(headDim).fill(-Infinity);
  for (let r = 0; r < rows; r++) {
    for (let i = 0; i < headDim; i++) {
      const value = Math.fround(keys[r * headDim + i] * scale);
      keyMin[i] = Math.min(keyMin[i], value);
      keyMax[i] = Math.max(keyMax[i], value);
    }
  }
  return { keyMin, keyMax };
}

describe("key digest formats", () => {
  it("decoded boxes contain the exact box, within one grid step (property test, 300 boxes per format)", () => {
    for (const format of keyDigestFormats) {
      for (let trial = 0; trial < 300; trial++) {
        const headDim = [4, 8, 16, 64][trial % 4];
        const scale = [1, 40, 0.001, 3000][trial % 4 === 0 ? 0 : (trial >> 2) % 4];
        const { keyMin, keyMax } = randomBox(headDim, 1 + (trial % 9), 300 + trial, scale);
        const stored = new Uint8Array(keyDigestByteLength(format, headDim));
        encodeKeyDigest(format, keyMin, keyMax, headDim, stored);
        const decodedMin = new Float32Array(headDim);
        const decodedMax = new Float32Array(headDim);
        decodeKeyDigest(format, stored, headDim, decodedMin, decodedMax);
        let low = Infinity;
        let high = -Infinity;
        for (let i = 0; i < headDim; i++) {
          low = Math.min(low, keyMin[i]);
          high = Math.max(high, keyMax[i]);
        }
        for (let i = 0; i < headDim; i++) {
          expect(decodedMin[i]).toBeLessThanOrEqual(keyMin[i]);
          expect(decodedMax[i]).toBeGreaterThanOrEqual(keyMax[i]);
          // Tightness: fp32 exact; fp16 within 2⁻¹⁰ relative (10 mantissa bits) plus the subnormal step
          // 2⁻²⁴; int8 within one step of the page grid, (high − low)/255, plus float32 slack.
          const slack = format === "fp32" ? 0 : format === "fp16" ? Math.max(Math.abs(keyMin[i]), Math.abs(keyMax[i])) * 2 ** -10 + 2 ** -24 : ((high - low) / 255) * (1 + 1e-5) + Math.abs(high) * 2 ** -22;
          expect(keyMin[i] - decodedMin[i]).toBeLessThanOrEqual(slack);
          expect(decodedMax[i] - keyMax[i]).toBeLessThanOrEqual(slack);
        }
      }
    }
  });

  it("an empty box (no live keys) decodes empty in every format", () => {
    for (const format of keyDigestFormats) {
      const stored = new Uint8Array(keyDigestByteLength(format, 4));
      encodeKeyDigest(format, new Float32Array(4).fill(Infinity), new Float32Array(4).fill(-Infinity), 4, stored);
      const keyMin = new Float32Array(4);
      const keyMax = new Float32Array(4);
      decodeKeyDigest(format, stored, 4, keyMin, keyMax);
      for (let i = 0; i < 4; i++) expect(keyMin[i]).toBeGreaterThan(keyMax[i]);
    }
  });

  it("the cache stores and counts digests in its format, and sessions keep the format", () => {
    const headDim = 8;
    const bytes: Record<string, number> = {};
    for (const format of keyDigestFormats) {
      const codec = createTestCodec({ kind: "fp32", dimension: headDim });
      const cache = new CompressedKVCache({ layers: 1, kvHeads: 2, headDim, keys: codec, values: codec, pageSize: 4, residualWindow: 0, keyDigests: true, keyDigestFormat: format });
      for (let position = 0; position < 12; position++) {
        cache.append(0, seededFloats(2 * headDim, 40 + position), seededFloats(2 * headDim, 90 + position));
      }
      for (let kvHead = 0; kvHead < 2; kvHead++) {
        for (const digest of cache.pageDigests(0, kvHead)) {
          for (let position = digest.firstPosition; position < digest.firstPosition + digest.tokenCount; position++) {
            const key = cache.readToken(0, kvHead, position)?.key as Float32Array;
            for (let i = 0; i < headDim; i++) {
              expect(digest.keyMin[i]).toBeLessThanOrEqual(key[i]);
              expect(digest.keyMax[i]).toBeGreaterThanOrEqual(key[i]);
            }
          }
        }
      }
      const report = cache.memoryReport();
      // 3 pages × 2 KV heads, each keyDigestByteLength bytes: fp32 8·d, fp16 4·d, int8 2·d + 8.
      expect(report.totals.digestBytes).toBe(6 * keyDigestByteLength(format, headDim));
      bytes[format] = report.totals.digestBytes;
      const restored = restoreSession(saveSession(cache), { codecFactory: () => codec });
      expect(restored.keyDigestFormat).toBe(format);
      // fp32 and fp16 values re-round to themselves; int8 re-fits its grid to the decoded box, which may only widen it.
      const saved = cache.pageDigests(0, 1)[2];
      const back = restored.pageDigests(0, 1)[2];
      if (format === "int8") {
        for (let i = 0; i < headDim; i++) {
          expect(back.keyMin[i]).toBeLessThanOrEqual(saved.keyMin[i]);
          expect(back.keyMax[i]).toBeGreaterThanOrEqual(saved.keyMax[i]);
        }
      } else {
        expect(back.keyMin).toEqual(saved.keyMin);
        expect(back.keyMax).toEqual(saved.keyMax);
      }
      expect(restored.memoryReport().totals.digestBytes).toBe(report.totals.digestBytes);
    }
    expect(bytes).toEqual({ fp32: 6 * 64, fp16: 6 * 32, int8: 6 * 24 });
  });

  it("rejects an unknown format", () => {
    const codec = createTestCodec({ kind: "fp32", dimension: 4 });
    expect(
      () => new CompressedKVCache({ layers: 1, kvHeads: 1, headDim: 4, keys: codec, values: codec, keyDigests: true, keyDigestFormat: "int4" as KeyDigestFormat }),
    ).toThrow(CacheConfigurationError);
  });
});
