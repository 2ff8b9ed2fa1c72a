import { describe, expect, it } from "vitest";
import { createTestCodec } from "../test-support/test-codecs.js";
import {
  findPage,
  findPosition,
  liveLayout,
  markDropped,
  type Page,
  pageBlockBytes,
  pageLiveCount,
  pageTokenCount,
  positionAt,
  positionLayout,
  rowOf,
  type Segment,
  segmentMetadataBytes,
  segmentPositions,
  sharedAllLive,
  updateKeyBounds,
} from "./page.js";

const codec = createTestCodec({ kind: "fp32", dimension: 2 });

function segment(positions: number[], live?: number[]): Segment {
  const mask = liveLayout(Uint8Array.from(live ?? positions.map(() => 1)));
  return {
    count: positions.length,
    ...positionLayout(positions),
    ...mask,
    keyCodec: codec,
    valueCodec: codec,
    keys: undefined,
    values: undefined,
    keyByteLength: positions.length * 8,
    valueByteLength: positions.length * 8,
  };
}

function page(firstPosition: number, segments: Segment[]): Page {
  return {
    id: firstPosition + 1,
    layer: 0,
    kvHead: 0,
    firstPosition,
    segments,
    digest: new Uint8Array(0),
    location: "memory",
    storeKey: undefined,
    tier: undefined,
    pristine: false,
    version: 0,
    revision: 0,
  };
}

describe("page layout helpers", () => {
  it("positionLayout keeps a contiguous run implicit and anything else explicit", () => {
    expect(positionLayout([8, 9, 10, 11])).toEqual({ start: 8, explicitPositions: undefined });
    const gapped = positionLayout([8, 10, 11]);
    expect(gapped.start).toBe(8);
    expect(Array.from(gapped.explicitPositions ?? [])).toEqual([8, 10, 11]);
    expect(positionLayout([])).toEqual({ start: 0, explicitPositions: undefined });
    expect(positionLayout([5])).toEqual({ start: 5, explicitPositions: undefined });
  });

  it("liveLayout shares one all-ones mask per count, and copies (as 0/1) a mask with drops", () => {
    const all = liveLayout(Uint8Array.of(1, 1, 1));
    expect(all).toEqual({ live: sharedAllLive(3), liveShared: true, liveCount: 3 });
    expect(all.live).toBe(sharedAllLive(3));
    const input = Uint8Array.of(1, 0, 7);
    const some = liveLayout(input);
    expect(some.liveShared).toBe(false);
    expect(some.liveCount).toBe(2);
    expect(Array.from(some.live)).toEqual([1, 0, 1]);
    expect(some.live).not.toBe(input);
  });

  it("markDropped copies a shared mask before writing, counts once, and reports a second drop", () => {
    const shared = sharedAllLive(4);
    const s = segment([0, 1, 2, 3]);
    expect(s.live).toBe(shared);
    expect(markDropped(s, 2)).toBe(true);
    expect(Array.from(shared)).toEqual([1, 1, 1, 1]); // other segments still see all rows live
    expect(Array.from(s.live)).toEqual([1, 1, 0, 1]);
    expect(s.liveShared).toBe(false);
    expect(s.liveCount).toBe(3);
    expect(markDropped(s, 2)).toBe(false);
    expect(s.liveCount).toBe(3);
  });

  it("positionAt, rowOf and segmentPositions agree for implicit and explicit positions", () => {
    const implicit = segment([4, 5, 6]);
    expect([0, 1, 2].map((row) => positionAt(implicit, row))).toEqual([4, 5, 6]);
    expect([3, 4, 6, 7].map((position) => rowOf(implicit, position))).toEqual([-1, 0, 2, -1]);
    expect(Array.from(segmentPositions(implicit))).toEqual([4, 5, 6]);
    const explicit = segment([4, 6, 7]);
    expect([0, 1, 2].map((row) => positionAt(explicit, row))).toEqual([4, 6, 7]);
    expect([4, 5, 6, 7, 8].map((position) => rowOf(explicit, position))).toEqual([0, -1, 1, 2, -1]);
    expect(segmentPositions(explicit)).toBe(explicit.explicitPositions);
  });

  it("segmentMetadataBytes counts only private arrays: 4 bytes per explicit position, 1 per private mask row", () => {
    expect(segmentMetadataBytes(segment([0, 1, 2, 3]))).toBe(0);
    expect(segmentMetadataBytes(segment([0, 2, 3]))).toBe(3 * 4);
    const dropped = segment([0, 1, 2, 3]);
    markDropped(dropped, 0);
    expect(segmentMetadataBytes(dropped)).toBe(4);
    expect(segmentMetadataBytes(segment([0, 2, 3], [1, 0, 1]))).toBe(3 * 4 + 3);
  });

  it("page counts sum their segments: tokens, live rows, block bytes", () => {
    const p = page(0, [segment([0, 1, 3]), segment([2], [0])]);
    expect(pageTokenCount(p)).toBe(4);
    expect(pageLiveCount(p)).toBe(3);
    expect(pageBlockBytes(p)).toBe(4 * 16); // fake blocks: 8 key + 8 value bytes per row
  });

  it("findPosition and findPage binary-search, −1 for gaps and ends", () => {
    const positions = Int32Array.of(1, 3, 5, 9);
    expect([0, 1, 3, 4, 9, 10].map((position) => findPosition(positions, position))).toEqual([-1, 0, 1, -1, 3, -1]);
    expect(findPosition(new Int32Array(0), 0)).toBe(-1);
    // Pages of 4 at 0, 8 and 12 (the page at 4 was dropped).
    const pages = [page(0, []), page(8, []), page(12, [])];
    expect([0, 3, 4, 7, 8, 11, 12, 15, 16, -1].map((position) => findPage(pages, position, 4))).toEqual([0, 0, -1, -1, 1, 1, 2, 2, -1, -1]);
    expect(findPage([], 0, 4)).toBe(-1);
  });

  it("updateKeyBounds widens the box with live rows only", () => {
    const keys = Float32Array.of(1, -2, 5, 5, -3, 0.5);
    const keyMin = new Float32Array(2).fill(Infinity);
    const keyMax = new Float32Array(2).fill(-Infinity);
    updateKeyBounds(keys, Uint8Array.of(1, 0, 1), 2, keyMin, keyMax);
    expect(Array.from(keyMin)).toEqual([-3, -2]);
    expect(Array.from(keyMax)).toEqual([1, 0.5]);
  });
});
