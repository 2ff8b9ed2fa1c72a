import { describe, expect, it } from "vitest";
import { CompressedKVCache } from "./compressed/compressed-kv-cache.js";
import { SessionFormatError } from "./errors.js";
import { MemoryPageStore } from "./page-store.js";
import { restoreSession, saveSession, sessionFormatVersion } from "./session-format.js";
import { seededFloats } from "./test-support/test-codecs.js";

const layers = 2;
const kvHeads = 2;
const heads = 4;
const headDim = 32;

function buildCache(store: MemoryPageStore): CompressedKVCache {
  // Layer 0 fp16 keys, layer 1 KIVI keys: per-layer specs must survive the round trip.
  const cache = new CompressedKVCache({
    layers,
    kvHeads,
    headDim,
    keys: [
      { kind: "fp16", dimension: headDim },
      { kind: "kivi", dimension: headDim, bits: 4, role: "key" },
    ],
    values: { kind: "int8", dimension: headDim },
    pageSize: 16,
    residualWindow: 16,
    keyDigests: true,
    tiers: [{ name: "memory", store }],
  });
  for (let position = 0; position < 75; position++) {
    for (let layer = 0; layer < layers; layer++) {
      cache.append(layer, seededFloats(kvHeads * headDim, position * 3 + layer), seededFloats(kvHeads * headDim, 9999 + position * 3 + layer));
    }
  }
  cache.recordTokens(Array.from({ length: 75 }, (_, i) => i + 1000));
  return cache;
}

function attendAll(cache: CompressedKVCache): Float32Array[] {
  return Array.from({ length: layers }, (_, layer) => {
    const out = new Float32Array(heads * headDim);
    const weights = new Float32Array(heads * cache.length(layer));
    cache.attend(layer, seededFloats(heads * headDim, 31 + layer), out, { heads, weightsOut: weights });
    return Float32Array.from([...out, ...weights]);
  });
}

describe("session save/restore", () => {
  it("restores an identical cache: attention, weights, bytes, drops, re-encoded and offloaded pages", async () => {
    const store = new MemoryPageStore();
    const cache = buildCache(store);
    cache.drop(0, [3, 17, 70], 1); // masks in pages and in the residual window
    const layerOnePages = cache.pageDigests(1, 0);
    cache.reencodePage(1, 0, layerOnePages[0].pageId, { kind: "int8", dimension: headDim }, undefined, [0, 1, 2, 3]);
    await cache.offloadPage(1, 1, cache.pageDigests(1, 1)[1].pageId);
    const bytes = saveSession(cache);
    const restored = restoreSession(bytes, { tiers: [{ name: "memory", store }] });
    expect(attendAll(restored)).toEqual(attendAll(cache));
    expect(restored.byteLength()).toBe(cache.byteLength());
    expect(restored.memoryReport().totals).toEqual(cache.memoryReport().totals);
    expect(restored.recordedTokens()).toEqual(cache.recordedTokens());
    expect(restored.isLive(0, 1, 17)).toBe(false);
    expect(restored.pageDigests(1, 0)[0].keyCodecIds).toEqual(cache.pageDigests(1, 0)[0].keyCodecIds);
    expect(restored.keyDigests).toBe(true);
    expect(restored.pageDigests(0, 1)[2].keyMax).toEqual(cache.pageDigests(0, 1)[2].keyMax);
    expect(restored.pageDigests(0, 1)[2].keyMax.length).toBe(headDim);
    // The offloaded page comes back from the tier in the restored session.
    await restored.recallAll();
    await cache.recallAll();
    expect(attendAll(restored)).toEqual(attendAll(cache));
    // Both continue identically.
    for (const target of [cache, restored]) {
      for (let layer = 0; layer < layers; layer++) target.append(layer, seededFloats(kvHeads * headDim, 5), seededFloats(kvHeads * headDim, 6));
    }
    expect(attendAll(restored)).toEqual(attendAll(cache));
  });

  it("rejects a flipped byte, a truncated buffer, another magic, a future and an older version", () => {
    const bytes = saveSession(buildCache(new MemoryPageStore()));
    const flipped = bytes.slice();
    flipped[bytes.length >> 1] ^= 0x04;
    expect(() => restoreSession(flipped)).toThrow(/CRC-32 mismatch/);
    expect(() => restoreSession(bytes.subarray(0, bytes.length - 9))).toThrow(SessionFormatError);
    const magic = bytes.slice();
    magic[0] = 0;
    expect(() => restoreSession(magic)).toThrow(/bad magic/);
    const future = bytes.slice();
    future[4] = sessionFormatVersion + 1;
    expect(() => restoreSession(future)).toThrow(new RegExp(`version ${sessionFormatVersion + 1}`));
    // Version 1 sessions hold codec blocks of the older metadata layout: refused, not misread.
    const older = bytes.slice();
    older[4] = 1;
    expect(() => restoreSession(older)).toThrow(/unsupported session format version 1/);
  });
});
