import { describe, expect, it } from "vitest";
import { CompressedKVCache } from "./compressed-kv-cache.js";
import { CodecRegistry } from "../codec-registry.js";
import { DenseKVCache } from "../dense-kv-cache.js";
import { CacheConfigurationError } from "../errors.js";
import type { AttentionStatistics, Policy, PolicyAction, PolicyCacheView } from "../policy.js";
import { createTestCodec, seededFloats, testCodecFactory } from "../test-support/test-codecs.js";

const layers = 2;
const kvHeads = 2;
const heads = 4; // GQA: two query heads per KV head
const headDim = 16;
const stride = kvHeads * headDim;

function token(layer: number, position: number): { keys: Float32Array; values: Float32Array } {
  return {
    keys: seededFloats(stride, 1000 + layer * 7919 + position * 31),
    values: seededFloats(stride, 5000 + layer * 7919 + position * 31),
  };
}

function query(layer: number, step: number): Float32Array {
  return seededFloats(heads * headDim, 9000 + layer * 104729 + step * 17);
}

function maxAbsDifference(a: Float32Array, b: Float32Array): number {
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  return worst;
}

/** Softmax attention of one query head over the given (position → key/value) rows, in float64. */
function referenceAttention(queryHead: Float32Array, rows: { key: Float32Array; value: Float32Array }[]): Float32Array {
  const scale = 1 / Math.sqrt(headDim);
  const scores = rows.map(({ key }) => key.reduce((sum, k, i) => sum + k * queryHead[i], 0) * scale);
  const maximum = Math.max(...scores);
  const weights = scores.map((score) => Math.exp(score - maximum));
  const total = weights.reduce((a, b) => a + b, 0);
  const out = new Float32Array(headDim);
  rows.forEach(({ value }, row) => {
    for (let i = 0; i < headDim; i++) out[i] += (weights[row] / total) * value[i];
  });
  return out;
}

function fp32Cache(extra: Partial<ConstructorParameters<typeof CompressedKVCache>[0]> = {}): CompressedKVCache {
  // `flip` keeps codes in a sign-flipped domain, so a missing finishAccumulator shows.
  return new CompressedKVCache({
    layers,
    kvHeads,
    headDim,
    keys: createTestCodec({ kind: "fp32", dimension: headDim, flip: true }),
    values: createTestCodec({ kind: "fp32", dimension: headDim, flip: true }),
    pageSize: 8,
    residualWindow: 16,
    codecFactory: testCodecFactory,
    ...extra,
  });
}

describe("CompressedKVCache, dense-equivalent configuration", () => {
  it("matches DenseKVCache attention (outputs and weights) within 1e-4 at every step, GQA 4:2", () => {
    const cache = fp32Cache();
    const dense = new DenseKVCache({ layers, kvHeads, headDim, capacity: 128 });
    const out = new Float32Array(heads * headDim);
    const denseOut = new Float32Array(heads * headDim);
    let worst = 0;
    let worstWeights = 0;
    for (let position = 0; position < 75; position++) {
      for (let layer = 0; layer < layers; layer++) {
        const { keys, values } = token(layer, position);
        cache.append(layer, keys, values);
        dense.append(layer, keys, values);
        const weights = new Float32Array(heads * (position + 1));
        const denseWeights = new Float32Array(heads * (position + 1));
        cache.attend(layer, query(layer, position), out, { heads, weightsOut: weights });
        dense.attend(layer, query(layer, position), denseOut, { heads, weightsOut: denseWeights });
        worst = Math.max(worst, maxAbsDifference(out, denseOut));
        worstWeights = Math.max(worstWeights, maxAbsDifference(weights, denseWeights));
      }
    }
    // fp32 codes are exact; only the summation order differs (pages first, then the residual window).
    expect(worst).toBeLessThan(1e-4);
    expect(worstWeights).toBeLessThan(1e-5);
    // 75 tokens, page 8, window 16: flushes at 16, 32, 48, 64 → 8 pages per head, 11 residual rows.
    expect(cache.length()).toBe(75);
    expect(cache.residualRange(0)).toEqual({ start: 64, end: 75 });
    expect(cache.pageDigests(0, 0).length).toBe(8);
  });

  it("readLayer and readToken give back the appended rows bit for bit (fp32)", () => {
    const cache = fp32Cache();
    const dense = new DenseKVCache({ layers, kvHeads, headDim, capacity: 64 });
    for (let position = 0; position < 37; position++) {
      for (let layer = 0; layer < layers; layer++) {
        const { keys, values } = token(layer, position);
        cache.append(layer, keys, values);
        dense.append(layer, keys, values);
      }
    }
    const need = kvHeads * 37 * headDim;
    const [keys, values, denseKeys, denseValues] = [0, 1, 2, 3].map(() => new Float32Array(need));
    cache.readLayer(1, keys, values);
    dense.readLayer(1, denseKeys, denseValues);
    expect(keys).toEqual(denseKeys);
    expect(values).toEqual(denseValues);
    const row = cache.readToken(1, 1, 5);
    expect(row?.key).toEqual(token(1, 5).keys.subarray(headDim, 2 * headDim));
    expect(row?.value).toEqual(token(1, 5).values.subarray(headDim, 2 * headDim));
    expect(cache.readToken(1, 1, 37)).toBeUndefined();
  });

  it("truncate inside a page, then append again, still matches the dense cache", () => {
    const cache = fp32Cache();
    const dense = new DenseKVCache({ layers, kvHeads, headDim, capacity: 128 });
    const feed = (from: number, to: number, salt: number): void => {
      for (let position = from; position < to; position++) {
        for (let layer = 0; layer < layers; layer++) {
          const { keys, values } = token(layer, position + salt);
          cache.append(layer, keys, values);
          dense.append(layer, keys, values);
        }
      }
    };
    feed(0, 50, 0);
    cache.truncate(21); // inside page [16, 24)
    dense.truncate(21);
    expect(cache.length(0)).toBe(21);
    expect(cache.residualRange(0)).toEqual({ start: 16, end: 21 });
    feed(21, 60, 1000);
    const out = new Float32Array(heads * headDim);
    const denseOut = new Float32Array(heads * headDim);
    for (let layer = 0; layer < layers; layer++) {
      cache.attend(layer, query(layer, 3), out, { heads });
      dense.attend(layer, query(layer, 3), denseOut, { heads });
      expect(maxAbsDifference(out, denseOut)).toBeLessThan(1e-4);
    }
  });

  it("rejects NaN, wrong lengths and bad configurations with typed errors", () => {
    const cache = fp32Cache();
    const bad = new Float32Array(stride);
    bad[3] = Number.NaN;
    expect(() => cache.append(0, bad, new Float32Array(stride))).toThrow(CacheConfigurationError);
    expect(() => cache.append(0, new Float32Array(3), new Float32Array(3))).toThrow(/expected 32 floats/);
    expect(() => fp32Cache({ residualWindow: 12 })).toThrow(/multiple of pageSize/);
    expect(() => cache.attend(0, new Float32Array(3 * headDim), new Float32Array(3 * headDim), { heads: 3 })).toThrow(/multiple of kvHeads/);
  });
});

describe("CompressedKVCache, byte accounting", () => {
  it("memoryReport parts add up to byteLength, and the fp16 ratio follows from the counts", () => {
    const int8 = createTestCodec({ kind: "int8", dimension: headDim });
    const cache = new CompressedKVCache({ layers, kvHeads, headDim, keys: int8, values: int8, pageSize: 8, residualWindow: 8, keyDigests: true });
    for (let position = 0; position < 29; position++) {
      for (let layer = 0; layer < layers; layer++) cache.append(layer, token(layer, position).keys, token(layer, position).values);
    }
    const report = cache.memoryReport();
    let pageBytes = 0;
    let residualBytes = 0;
    for (const layer of report.layers) {
      for (const head of layer.heads) {
        for (const page of head.pages) {
          // Block bytes are exactly the codec's encodedByteLength; contiguous rows with no drops
          // share one position range and one all-live mask, so they hold no per-row metadata.
          expect(page.keyBytes).toBe(int8.encodedByteLength(page.tokens));
          // The test int8 codec's byteLayout: headDim code bytes and a 4-byte scale per row, keys and values.
          expect(page.codeBytes).toBe(2 * page.tokens * headDim);
          expect(page.sideBytes).toBe(2 * page.tokens * 4);
          expect(page.blockHeaderBytes).toBe(0);
          expect(page.metadataBytes).toBe(0);
          // Default digest format fp16: headDim float16 minima and maxima (key-digest.ts).
          expect(page.digestBytes).toBe(headDim * 2 * 2);
          pageBytes += page.keyBytes + page.valueBytes + page.digestBytes + page.metadataBytes;
        }
        residualBytes += head.residualBytes;
      }
    }
    expect(pageBytes + residualBytes).toBe(report.totals.totalBytes);
    expect(cache.byteLength()).toBe(report.totals.totalBytes);
    // Closed form: 29 tokens, page 8, flush at 8 → 3 pages + 5 residual rows per layer × head.
    const pagesPerHead = 3;
    // int8 rows: 4-byte scale + headDim codes, keys and values; fp16 digest: 4 · headDim.
    const perPage = 2 * 8 * (4 + headDim) + headDim * 4;
    const residualPerHead = 5 * headDim * 4 * 2;
    const expectedTotal = layers * kvHeads * (pagesPerHead * perPage + residualPerHead);
    expect(report.totals.totalBytes).toBe(expectedTotal);
    const fp16 = layers * kvHeads * 29 * headDim * 2 * 2;
    expect(report.totals.fp16Bytes).toBe(fp16);
    expect(report.totals.compressionRatio).toBeCloseTo(fp16 / expectedTotal, 12);
    expect(report.totals.liveTokens).toBe(layers * kvHeads * 29);
    expect(report.totals.codeBytes + report.totals.sideBytes + report.totals.blockHeaderBytes).toBe(report.totals.keyBytes + report.totals.valueBytes);
    expect(report.totals.sideBytes).toBe(layers * kvHeads * pagesPerHead * 2 * 8 * 4);

    // A codec without byteLayout (optional in the Codec interface): its block bytes count as codes.
    const opaque = Object.assign(Object.create(Object.getPrototypeOf(int8)), int8, { byteLayout: undefined }) as typeof int8;
    const opaqueCache = new CompressedKVCache({ layers, kvHeads, headDim, keys: opaque, values: opaque, pageSize: 8, residualWindow: 8 });
    for (let position = 0; position < 16; position++) {
      for (let layer = 0; layer < layers; layer++) opaqueCache.append(layer, token(layer, position).keys, token(layer, position).values);
    }
    const opaqueTotals = opaqueCache.memoryReport().totals;
    expect(opaqueTotals.codeBytes).toBe(opaqueTotals.keyBytes + opaqueTotals.valueBytes);
    expect(opaqueTotals.codeBytes).toBeGreaterThan(0);
    expect(opaqueTotals.sideBytes + opaqueTotals.blockHeaderBytes).toBe(0);

    // A drop gives the page a private live mask (1 byte per row); re-encoding a subset of rows
    // splits it into segments whose non-contiguous positions cost 4 bytes per row.
    cache.drop(0, [9], 0);
    const afterDrop = cache.memoryReport().layers[0].heads[0].pages[1];
    expect(afterDrop.metadataBytes).toBe(8);
    cache.reencodePage(0, 0, afterDrop.pageId, undefined, undefined, [10, 12]);
    const split = cache.memoryReport().layers[0].heads[0].pages[1];
    // Rows 8, 11, 13, 14, 15 stay (non-contiguous: 5 × 4 bytes); rows 10 and 12 move (2 × 4 bytes).
    expect(split.metadataBytes).toBe(5 * 4 + 2 * 4);
    expect(split.tokens).toBe(7);
    expect(cache.byteLength()).toBe(cache.memoryReport().totals.totalBytes);
  });
});

describe("CompressedKVCache, policy plumbing", () => {
  function filled(extra: Partial<ConstructorParameters<typeof CompressedKVCache>[0]> = {}, tokens = 40): CompressedKVCache {
    const cache = fp32Cache(extra);
    for (let position = 0; position < tokens; position++) {
      for (let layer = 0; layer < layers; layer++) cache.append(layer, token(layer, position).keys, token(layer, position).values);
    }
    return cache;
  }

  function liveRows(layer: number, kvHead: number, positions: number[]): { key: Float32Array; value: Float32Array }[] {
    return positions.map((position) => ({
      key: token(layer, position).keys.subarray(kvHead * headDim, (kvHead + 1) * headDim),
      value: token(layer, position).values.subarray(kvHead * headDim, (kvHead + 1) * headDim),
    }));
  }

  it("dropped positions are masked out of attention (pages and residual window), emptied pages freed", () => {
    const cache = filled();
    const dropped = [0, 1, 2, 3, 4, 5, 6, 7, 9, 33]; // page [0, 8) entirely, one row of [8, 16), one residual row
    cache.drop(0, dropped, 1);
    expect(cache.pageDigests(0, 1).length).toBe(3);
    expect(cache.pageDigests(0, 0).length).toBe(4);
    expect(cache.liveCount(0, 1)).toBe(40 - dropped.length);
    expect(cache.isLive(0, 1, 9)).toBe(false);
    expect(cache.isLive(0, 0, 9)).toBe(true);
    const q = query(0, 1);
    const out = new Float32Array(heads * headDim);
    const weights = new Float32Array(heads * 40);
    cache.attend(0, q, out, { heads, weightsOut: weights });
    const kept = Array.from({ length: 40 }, (_, i) => i).filter((i) => !dropped.includes(i));
    // Query heads 2 and 3 read KV head 1.
    for (const head of [2, 3]) {
      const expected = referenceAttention(q.subarray(head * headDim, (head + 1) * headDim), liveRows(0, 1, kept));
      expect(maxAbsDifference(out.subarray(head * headDim, (head + 1) * headDim), expected)).toBeLessThan(1e-5);
      for (const position of dropped) expect(weights[head * 40 + position]).toBe(0);
    }
    const all = Array.from({ length: 40 }, (_, i) => i);
    const expectedHead0 = referenceAttention(q.subarray(0, headDim), liveRows(0, 0, all));
    expect(maxAbsDifference(out.subarray(0, headDim), expectedHead0)).toBeLessThan(1e-5);
  });

  it("re-encoding a page at a lower rate shrinks it, keeps attention close and the key digest bound valid", async () => {
    const cache = filled({ keyDigests: true });
    const before = cache.byteLength();
    const page = cache.pageDigests(1, 0)[1];
    const report = await cache.applyActions([
      { kind: "reencode", layer: 1, kvHead: 0, pageId: page.pageId, keys: { kind: "int8", dimension: headDim }, values: { kind: "int8", dimension: headDim } },
    ]);
    expect(report).toEqual({ applied: 1, failed: [] });
    const after = cache.pageDigests(1, 0)[1];
    expect(after.keyCodecIds).toEqual(["test-int8-d16"]);
    // 8 rows × (64 − 20) bytes saved per side.
    expect(before - cache.byteLength()).toBe(2 * 8 * (headDim * 4 - (4 + headDim)));
    // ArkVale bound: q·k ≤ Σ max(q·min, q·max) for every decoded key of the page.
    const q = seededFloats(headDim, 77);
    let bound = 0;
    for (let i = 0; i < headDim; i++) bound += Math.max(q[i] * after.keyMin[i], q[i] * after.keyMax[i]);
    for (let position = 8; position < 16; position++) {
      const row = cache.readToken(1, 0, position);
      const dot = (row?.key ?? new Float32Array(headDim)).reduce((sum, k, i) => sum + k * q[i], 0);
      expect(dot).toBeLessThanOrEqual(bound + 1e-6);
      // int8 absmax error ≤ scale/2 = max|x|/254 ≤ 1/254 per element (inputs in [−1, 1)).
      expect(maxAbsDifference(row?.key ?? new Float32Array(0), token(1, position).keys.subarray(0, headDim))).toBeLessThanOrEqual(1 / 254 + 1e-7);
    }
  });

  it("planFlush puts chosen rows into a second segment with their own codec (mixed precision)", () => {
    const policy: Policy = {
      name: "even-rows-int8",
      decide: () => [],
      planFlush: (context) => [
        {
          positions: Array.from(context.positions).filter((position) => position % 2 === 0),
          keys: { kind: "int8", dimension: headDim },
          values: { kind: "int8", dimension: headDim },
        },
      ],
    };
    const cache = filled({ policy }, 16);
    const digest = cache.pageDigests(0, 0)[0];
    expect(digest.keyCodecIds.slice().sort()).toEqual(["test-fp32-d16-flip", "test-int8-d16"]);
    expect(digest.tokenCount).toBe(8);
    const row = cache.readToken(0, 0, 3);
    expect(row?.key).toEqual(token(0, 3).keys.subarray(0, headDim)); // odd rows stayed fp32
    const out = new Float32Array(heads * headDim);
    const q = query(0, 0);
    cache.attend(0, q, out, { heads });
    const decoded = Array.from({ length: 16 }, (_, position) => cache.readToken(0, 0, position) as { key: Float32Array; value: Float32Array });
    const expected = referenceAttention(q.subarray(0, headDim), decoded);
    // Two codec domains (flip fp32 and plain int8) must each be finished once: exact up to fp32 rounding.
    expect(maxAbsDifference(out.subarray(0, headDim), expected)).toBeLessThan(1e-5);
  });

  it("merge averages two rows into one and drops the other", () => {
    const cache = filled();
    const a = token(0, 10).keys.subarray(0, headDim);
    const b = token(0, 12).keys.subarray(0, headDim);
    cache.merge(0, 0, 12, 10, 0.25);
    const merged = cache.readToken(0, 0, 10);
    const expected = a.map((value, i) => 0.75 * value + 0.25 * b[i]);
    expect(maxAbsDifference(merged?.key ?? new Float32Array(0), expected)).toBeLessThan(1e-6);
    expect(cache.isLive(0, 0, 12)).toBe(false);
  });

  it("observe sees each layer's weights; decide runs after the last layer and its drops apply", () => {
    const seen: number[] = [];
    let weightSum = 0;
    // Sink + window (StreamingLLM shape) as a stand-in policy: keep positions < 2 and the last 8.
    const policy: Policy = {
      name: "sink-window",
      observe(statistics: AttentionStatistics) {
        seen.push(statistics.layer);
        weightSum = statistics.weights.subarray(0, statistics.length).reduce((a, b) => a + b, 0);
      },
      decide(view: PolicyCacheView): PolicyAction[] {
        const actions: PolicyAction[] = [];
        for (let layer = 0; layer < view.layers; layer++) {
          const length = view.length(layer);
          const positions: number[] = [];
          for (let position = 2; position < length - 8; position++) positions.push(position);
          if (positions.length > 0) actions.push({ kind: "drop", layer, positions });
        }
        return actions;
      },
    };
    const cache = fp32Cache({ policy });
    const out = new Float32Array(heads * headDim);
    for (let position = 0; position < 30; position++) {
      for (let layer = 0; layer < layers; layer++) {
        cache.append(layer, token(layer, position).keys, token(layer, position).values);
        cache.attend(layer, query(layer, position), out, { heads });
      }
    }
    expect(seen.slice(0, 4)).toEqual([0, 1, 0, 1]);
    expect(weightSum).toBeCloseTo(1, 5); // softmax weights of head 0 sum to 1
    for (let layer = 0; layer < layers; layer++) for (let kvHead = 0; kvHead < kvHeads; kvHead++) expect(cache.liveCount(layer, kvHead)).toBe(10);
    expect(cache.step).toBe(30);
  });

  it("shares codec instances through a CodecRegistry", () => {
    const registry = new CodecRegistry(testCodecFactory);
    const spec = { kind: "int8", dimension: headDim } as const;
    const first = new CompressedKVCache({ layers, kvHeads, headDim, keys: spec, values: spec, codecs: registry });
    const second = new CompressedKVCache({ layers, kvHeads, headDim, keys: { dimension: headDim, kind: "int8" }, values: spec, codecs: registry });
    expect(first.layerCodecs(0).keys).toBe(second.layerCodecs(1).keys);
    expect(first.layerCodecs(0).keys).toBe(first.layerCodecs(0).values);
  });
});

describe("CompressedKVCache, offload and recall through policy actions", () => {
  it("an offloaded page leaves attention (weights 0) and comes back bit for bit; bytes follow", async () => {
    const { MemoryPageStore } = await import("../page-store.js");
    const store = new MemoryPageStore();
    const events: string[] = [];
    const cache = fp32Cache({ tiers: [{ name: "ram", store }], onEvent: (event) => events.push(event.type) });
    for (let position = 0; position < 40; position++) {
      for (let layer = 0; layer < layers; layer++) cache.append(layer, token(layer, position).keys, token(layer, position).values);
    }
    const q = query(1, 0);
    const before = new Float32Array(heads * headDim);
    cache.attend(1, q, before, { heads });
    const bytesBefore = cache.byteLength();
    const page = cache.pageDigests(1, 1)[0];
    const report = await cache.applyActions([{ kind: "offload", layer: 1, kvHead: 1, pageId: page.pageId }]);
    expect(report).toEqual({ applied: 1, failed: [] });
    expect(store.size).toBe(1);
    expect(cache.memoryReport().totals.offloadedBytes).toBe(page.blockBytes);
    // Test fp32 codec: 8 rows × 16 floats × 4 bytes per side, no block header.
    expect(bytesBefore - cache.byteLength()).toBe(page.blockBytes);
    expect(page.blockBytes).toBe(2 * 8 * headDim * 4);
    const out = new Float32Array(heads * headDim);
    const weights = new Float32Array(heads * 40);
    cache.attend(1, q, out, { heads, weightsOut: weights });
    for (const head of [2, 3]) {
      for (let position = 0; position < 8; position++) expect(weights[head * 40 + position]).toBe(0);
      const expected = referenceAttention(
        q.subarray(head * headDim, (head + 1) * headDim),
        Array.from({ length: 32 }, (_, i) => i + 8).map((position) => ({
          key: token(1, position).keys.subarray(headDim, 2 * headDim),
          value: token(1, position).values.subarray(headDim, 2 * headDim),
        })),
      );
      expect(maxAbsDifference(out.subarray(head * headDim, (head + 1) * headDim), expected)).toBeLessThan(1e-5);
    }
    expect(() => cache.readToken(1, 1, 3)).toThrow(/offloaded/);
    // Double offload and recall of a resident page fail without changing anything.
    const failures = await cache.applyActions([
      { kind: "offload", layer: 1, kvHead: 1, pageId: page.pageId },
      { kind: "recall", layer: 1, kvHead: 0, pageId: cache.pageDigests(1, 0)[0].pageId },
    ]);
    expect(failures.applied).toBe(0);
    expect(failures.failed).toHaveLength(2);
    await cache.applyActions([{ kind: "recall", layer: 1, kvHead: 1, pageId: page.pageId }]);
    cache.attend(1, q, out, { heads });
    expect(out).toEqual(before);
    expect(cache.byteLength()).toBe(bytesBefore);
    expect(events).toEqual(["page-offloaded", "page-recalled"]);
  });
});
