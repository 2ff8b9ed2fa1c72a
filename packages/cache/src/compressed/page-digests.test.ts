import { describe, expect, it } from "vitest";
import { CacheConfigurationError } from "../errors.js";
import type { KeyDigestFormat } from "../key-digest.js";
import { buildParts } from "../test-support/cache-parts.js";
import { createTestCodec } from "../test-support/test-codecs.js";
import type { Page } from "./page.js";
import { PageDigests } from "./page-digests.js";
import { RowDecoder } from "./row-decoder.js";

const headDim = 4;
// Lossy int8 keys: the digest must bound the keys attention scores (decoded), not the appended ones.
const int8 = createTestCodec({ kind: "int8", dimension: headDim });

/** Exact per-channel min/max of the page's decoded live keys, in float64. */
function decodedBox(page: Page): { min: number[]; max: number[] } {
  const min = new Array(headDim).fill(Infinity);
  const max = new Array(headDim).fill(-Infinity);
  for (const segment of page.segments) {
    const keys = segment.keyCodec.decode(segment.keys as never);
    for (let row = 0; row < segment.count; row++) {
      if (!segment.live[row]) continue;
      for (let i = 0; i < headDim; i++) {
        min[i] = Math.min(min[i], keys[row * headDim + i]);
        max[i] = Math.max(max[i], keys[row * headDim + i]);
      }
    }
  }
  return { min, max };
}

function digestedParts(format: KeyDigestFormat) {
  const parts = buildParts({ keys: int8, keyDigests: true, keyDigestFormat: format });
  parts.fill(12); // pages at 0 and 4 per KV head (window 8–11)
  return parts;
}

describe("PageDigests", () => {
  it("without digests: empty digest bytes, recompute does nothing, bounds are empty", () => {
    const parts = buildParts({ keys: int8 });
    parts.fill(4);
    const [page] = parts.storage.layer(0).pages[0];
    expect(page.digest.length).toBe(0);
    parts.digests.recompute(page);
    expect(parts.digests.bounds(page)).toEqual({ keyMin: new Float32Array(0), keyMax: new Float32Array(0) });
  });

  it("rejects an unknown format", () => {
    expect(() => new PageDigests(true, "fp8" as KeyDigestFormat, headDim, new RowDecoder(headDim))).toThrow(CacheConfigurationError);
  });

  it("fp32: exactly the per-channel min/max of the decoded live keys (8·headDim bytes)", () => {
    const parts = digestedParts("fp32");
    for (const page of parts.storage.allPages()) {
      expect(page.digest.length).toBe(8 * headDim);
      const { keyMin, keyMax } = parts.digests.bounds(page);
      const box = decodedBox(page);
      expect(Array.from(keyMin)).toEqual(box.min);
      expect(Array.from(keyMax)).toEqual(box.max);
    }
  });

  it.each([
    // fp16: min rounded down, max rounded up to float16: wider by < 2^-10 relative (+ 2^-24 near 0).
    ["fp16" as const, 4 * headDim, (value: number, _span: number) => Math.abs(value) * 2 ** -10 + 2 ** -24],
    // int8: one grid of 256 points over [min, max] of the page: wider by at most one step (span / 255, grown ≤ 1 %).
    ["int8" as const, 2 * headDim + 8, (_value: number, span: number) => (span / 255) * 1.01],
  ])("%s rounds outward: bounds every decoded live key, wider by at most one rounding step", (format, bytes, slack) => {
    const parts = digestedParts(format);
    for (const page of parts.storage.allPages()) {
      expect(page.digest.length).toBe(bytes);
      const { keyMin, keyMax } = parts.digests.bounds(page);
      const box = decodedBox(page);
      const span = Math.max(...box.max) - Math.min(...box.min);
      for (let i = 0; i < headDim; i++) {
        expect(keyMin[i]).toBeLessThanOrEqual(box.min[i]);
        expect(keyMax[i]).toBeGreaterThanOrEqual(box.max[i]);
        expect(box.min[i] - keyMin[i]).toBeLessThanOrEqual(slack(box.min[i], span));
        expect(keyMax[i] - box.max[i]).toBeLessThanOrEqual(slack(box.max[i], span));
      }
    }
  });

  it("recompute after drops narrows the box to the remaining live rows", () => {
    const parts = digestedParts("fp32");
    const page = parts.storage.layer(0).pages[1][0];
    const before = parts.digests.bounds(page);
    // Drop the row holding channel 0's minimum.
    const keys = page.segments[0].keyCodec.decode(page.segments[0].keys as never);
    let argmin = 0;
    for (let row = 1; row < 4; row++) if (keys[row * headDim] < keys[argmin * headDim]) argmin = row;
    parts.actions.drop(0, [argmin], 1);
    parts.digests.recompute(page);
    const after = parts.digests.bounds(page);
    expect(after.keyMin[0]).toBeGreaterThan(before.keyMin[0]);
    expect(Array.from(after.keyMin)).toEqual(decodedBox(page).min);
  });

  it("adopt re-stores given bounds outward, and recomputes a resident page when none are given", () => {
    const parts = digestedParts("fp16");
    const [page] = parts.storage.layer(0).pages[0];
    const wide = { keyMin: Float32Array.of(-3.3, -3.3, -3.3, -3.3), keyMax: Float32Array.of(2.2, 2.2, 2.2, 2.2) };
    parts.digests.adopt(page, wide.keyMin, wide.keyMax);
    const adopted = parts.digests.bounds(page);
    for (let i = 0; i < headDim; i++) {
      expect(adopted.keyMin[i]).toBeLessThanOrEqual(-3.3);
      expect(adopted.keyMin[i]).toBeGreaterThan(-3.31); // float16 step near 3.3 is 2^-9
      expect(adopted.keyMax[i]).toBeGreaterThanOrEqual(Math.fround(2.2));
    }
    parts.digests.adopt(page, new Float32Array(0), new Float32Array(0));
    const box = decodedBox(page);
    const { keyMin } = parts.digests.bounds(page);
    for (let i = 0; i < headDim; i++) expect(keyMin[i]).toBeLessThanOrEqual(box.min[i]);
    expect(keyMin[0]).toBeGreaterThan(-3.3);
  });

  it("describe reports place, counts, codecs, bytes and bounds the way policies see them", () => {
    const parts = digestedParts("fp32");
    const [page] = parts.storage.layer(0).pages[1];
    parts.actions.drop(0, [2], 1);
    const digest = parts.digests.describe(page);
    expect(digest).toMatchObject({
      pageId: page.id,
      layer: 0,
      kvHead: 1,
      firstPosition: 0,
      tokenCount: 4,
      liveCount: 3,
      location: "memory",
      keyCodecIds: [int8.codecId],
      valueCodecIds: ["test-fp32-d4"],
      blockBytes: 4 * (4 + headDim) + 4 * 4 * headDim, // int8 rows: scale + codes; fp32 rows: 4 bytes each
      storeKey: undefined,
      tier: undefined,
    });
    expect(digest.keyMin.length).toBe(headDim);
  });
});
