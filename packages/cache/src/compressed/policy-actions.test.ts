import { describe, expect, it } from "vitest";
import { CacheConfigurationError, PageStateError } from "../errors.js";
import { MemoryPageStore } from "../page-store.js";
import type { PolicyAction } from "../policy.js";
import { buildParts, headSlice, tokenRows } from "../test-support/cache-parts.js";
import { createTestCodec } from "../test-support/test-codecs.js";
import { positionAt } from "./page.js";

// buildParts defaults: 1 layer, 2 KV heads, headDim 4, pages of 4, window 4; fp32 codecs (exact).
const headDim = 4;
const stride = 2 * headDim;
const int8Spec = { kind: "int8", dimension: headDim } as const;
const int8 = createTestCodec({ kind: "int8", dimension: headDim });

function key(layer: number, kvHead: number, position: number): number[] {
  return Array.from(headSlice(tokenRows(layer, position, stride).keys, kvHead, headDim));
}

function value(layer: number, kvHead: number, position: number): number[] {
  return Array.from(headSlice(tokenRows(layer, position, stride).values, kvHead, headDim));
}

/** int8 test codec round trip of one row (what a re-encode to int8 must hold). */
function int8RoundTrip(row: number[]): number[] {
  return Array.from(int8.decode(int8.encode(Float32Array.from(row), 1, headDim)));
}

function segmentsOf(page: { segments: readonly { count: number; keyCodec: { kind: string } }[] }): string[] {
  return page.segments.map((segment) => {
    const positions = Array.from({ length: segment.count }, (_, row) => positionAt(segment as never, row));
    return `${segment.keyCodec.kind}:${positions.join(",")}`;
  });
}

describe("PolicyActions.reencodePage", () => {
  it("whole page: every live row in the new codecs, bytes shrink, rows are the int8 round trip, dropped rows compacted", () => {
    const parts = buildParts();
    parts.fill(5);
    const page = parts.storage.layer(0).pages[0][0];
    parts.actions.drop(0, [1], 0);
    const { version, revision } = page;
    parts.actions.reencodePage(0, 0, page.id, int8Spec, int8Spec);
    expect(segmentsOf(page)).toEqual(["int8:0,2,3"]);
    expect(page.segments[0].keyByteLength).toBe(3 * (4 + headDim)); // was 4 rows × 16 bytes fp32
    expect(page.segments[0].liveShared).toBe(true);
    for (const position of [0, 2, 3]) {
      const row = parts.storage.readToken(0, 0, position);
      expect(Array.from(row?.key ?? [])).toEqual(int8RoundTrip(key(0, 0, position)));
      expect(Array.from(row?.value ?? [])).toEqual(int8RoundTrip(value(0, 0, position)));
    }
    expect([page.version, page.revision]).toEqual([version + 1, revision + 1]);
    expect(page.pristine).toBe(false);
  });

  it("some positions: only those move to a new segment; a segment that kept all its rows is the same object", () => {
    const parts = buildParts();
    parts.fill(4);
    const page = parts.storage.layer(0).pages[1][0];
    parts.actions.reencodePage(0, 1, page.id, int8Spec, undefined, [3, 1]);
    expect(segmentsOf(page)).toEqual(["fp32:0,2", "int8:1,3"]);
    expect(page.segments[1].valueCodec.kind).toBe("fp32"); // no new value codec: the segment's own
    expect(Array.from(parts.storage.readToken(0, 1, 0)?.key ?? [])).toEqual(key(0, 1, 0));
    expect(Array.from(parts.storage.readToken(0, 1, 3)?.key ?? [])).toEqual(int8RoundTrip(key(0, 1, 3)));
    expect(Array.from(parts.storage.readToken(0, 1, 3)?.value ?? [])).toEqual(value(0, 1, 3));
    const untouched = page.segments[1];
    parts.actions.reencodePage(0, 1, page.id, undefined, int8Spec, [0, 2]);
    expect(page.segments[0]).toBe(untouched);
    expect(segmentsOf(page)).toEqual(["int8:1,3", "fp32:0,2"]);
    expect(page.segments[1].valueCodec.kind).toBe("int8");
  });

  it("mixed segments: selected rows of both segments that land in the same codec pair join one segment", () => {
    const parts = buildParts({ planFlush: () => [{ positions: [1, 2], keys: int8Spec }] });
    parts.fill(4);
    const page = parts.storage.layer(0).pages[0][0];
    expect(segmentsOf(page)).toEqual(["fp32:0,3", "int8:1,2"]);
    parts.actions.reencodePage(0, 0, page.id, int8Spec, undefined, [0, 2]);
    // Segment fp32 keeps 3, int8 keeps 1; 0 (fp32 → int8) and 2 (already int8) meet in one int8 segment.
    expect(segmentsOf(page)).toEqual(["fp32:3", "int8:1", "int8:0,2"]);
    expect(Array.from(parts.storage.readToken(0, 0, 2)?.key ?? [])).toEqual(int8RoundTrip(key(0, 0, 2)));
    expect(page.pristine).toBe(false);
  });

  it("refuses an offloaded page, and a page id that does not exist", async () => {
    const parts = buildParts({ tiers: [{ name: "memory", store: new MemoryPageStore() }] });
    parts.fill(4);
    const page = parts.storage.layer(0).pages[0][0];
    await parts.tiering.offloadPage(0, 0, page.id);
    expect(() => parts.actions.reencodePage(0, 0, page.id, int8Spec)).toThrow(PageStateError);
    expect(() => parts.actions.reencodePage(0, 0, page.id, int8Spec)).toThrow(`page ${page.id} is offloaded; only resident pages can be re-encoded`);
    expect(() => parts.actions.reencodePage(0, 0, 12345, int8Spec)).toThrow("page 12345 does not exist in layer 0 KV head 0");
  });
});

describe("PolicyActions.merge, drop, dropPage", () => {
  it("merge in the window: into = (1 − w)·into + w·from exactly (float32 of the float64 blend), from dropped, row tainted", () => {
    const parts = buildParts({ residualWindow: 8 });
    parts.fill(3);
    parts.actions.merge(0, 1, 0, 2, 0.25);
    const merged = parts.storage.readToken(0, 1, 2);
    const expected = key(0, 1, 2).map((into, i) => Math.fround(0.75 * into + 0.25 * key(0, 1, 0)[i]));
    expect(Array.from(merged?.key ?? [])).toEqual(expected);
    expect(parts.storage.isLive(0, 1, 0)).toBe(false);
    expect(parts.storage.isLive(0, 0, 0)).toBe(true);
    const state = parts.storage.layer(0);
    expect(state.residualTainted[parts.storage.residualIndex(1, 2)]).toBe(1);
    expect(Array.from(parts.storage.readToken(0, 0, 2)?.key ?? [])).toEqual(key(0, 0, 2)); // the other KV head is untouched
  });

  it("merge in a page: the segment is re-encoded with its codecs, keeps its live mask, the page changes version", () => {
    const parts = buildParts();
    parts.fill(6);
    const page = parts.storage.layer(0).pages[0][0];
    parts.actions.drop(0, [3], 0);
    const { version } = page;
    parts.actions.merge(0, 0, 5, 1); // from the window into the page, default weight 0.5
    const expected = key(0, 0, 1).map((into, i) => Math.fround(0.5 * into + 0.5 * key(0, 0, 5)[i]));
    expect(Array.from(parts.storage.readToken(0, 0, 1)?.key ?? [])).toEqual(expected);
    expect(Array.from(page.segments[0].live)).toEqual([1, 1, 1, 0]);
    expect(page.segments[0].liveCount).toBe(3);
    expect(page.version).toBe(version + 1);
    expect(page.pristine).toBe(false);
    expect(parts.storage.isLive(0, 0, 5)).toBe(false);
  });

  it("merge rejects weights outside [0, 1], dead rows and offloaded pages", async () => {
    const parts = buildParts({ tiers: [{ name: "memory", store: new MemoryPageStore() }] });
    parts.fill(6);
    for (const weight of [-0.1, 1.5, Number.NaN]) {
      expect(() => parts.actions.merge(0, 0, 4, 5, weight)).toThrow(CacheConfigurationError);
      expect(() => parts.actions.merge(0, 0, 4, 5, weight)).toThrow(`merge: weight must be in [0, 1], got ${weight}`);
    }
    parts.actions.drop(0, [4], 0);
    expect(() => parts.actions.merge(0, 0, 4, 5)).toThrow("merge: position 4 is not live");
    expect(() => parts.actions.merge(0, 0, 5, 9)).toThrow("merge: position 9 is not live");
    const page = parts.storage.layer(0).pages[1][0];
    const offloading = parts.tiering.offloadPage(0, 1, page.id);
    // While the write is in flight the page is "offloading": rows readable, but a merge must not rewrite its blocks.
    expect(() => parts.actions.merge(0, 1, 5, 1)).toThrow(`merge: page ${page.id} is offloading`);
    await offloading;
    expect(() => parts.actions.merge(0, 1, 5, 1)).toThrow(PageStateError);
  });

  it("drop masks positions in all KV heads (or one), ignores unknown positions, and frees a page left with no live row", () => {
    const parts = buildParts();
    parts.fill(6);
    const [first] = parts.storage.layer(0).pages[1];
    parts.actions.drop(0, [1, 5, -3, 99, 2.5]);
    expect([0, 1].map((kvHead) => [parts.storage.isLive(0, kvHead, 1), parts.storage.isLive(0, kvHead, 5)])).toEqual([
      [false, false],
      [false, false],
    ]);
    expect(parts.released).toEqual([]);
    parts.actions.drop(0, [0, 2, 3], 1);
    expect(parts.released).toEqual([first]);
    expect(parts.storage.layer(0).pages.map((pages) => pages.length)).toEqual([1, 0]);
    expect(() => parts.actions.drop(0, [0], 2)).toThrow("kvHead 2 out of range [0, 2)");
  });

  it("dropPage removes exactly that page and releases it", () => {
    const parts = buildParts();
    parts.fill(12);
    const pages = parts.storage.layer(0).pages[0];
    const middle = pages[1];
    parts.actions.dropPage(0, 0, middle.id);
    expect(parts.storage.layer(0).pages[0].map((page) => page.firstPosition)).toEqual([0, 8]);
    expect(parts.released).toEqual([middle]);
    expect(parts.storage.isLive(0, 0, 5)).toBe(false);
    expect(parts.storage.isLive(0, 1, 5)).toBe(true);
    expect(() => parts.actions.dropPage(0, 0, middle.id)).toThrow(PageStateError);
  });
});

describe("PolicyActions.apply", () => {
  it("applies in order, reports failures without throwing, and waits for offload and recall", async () => {
    const store = new MemoryPageStore();
    const parts = buildParts({ tiers: [{ name: "memory", store }] });
    parts.fill(9);
    const [a, b] = parts.storage.layer(0).pages[0];
    const actions: PolicyAction[] = [
      { kind: "keep", layer: 0, kvHead: 0, pageId: a.id },
      { kind: "keep", layer: 0, kvHead: 0, pageId: 999 },
      { kind: "drop", layer: 0, positions: [8] },
      { kind: "offload", layer: 0, kvHead: 0, pageId: b.id },
      { kind: "offload", layer: 0, kvHead: 0, pageId: a.id, tier: "nowhere" },
      { kind: "recall", layer: 0, kvHead: 0, pageId: a.id },
      { kind: "reencode", layer: 0, kvHead: 1, pageId: parts.storage.layer(0).pages[1][0].id, keys: int8Spec },
      { kind: "merge", layer: 0, kvHead: 1, from: 8, into: 7 },
      { kind: "bogus" } as unknown as PolicyAction,
    ];
    const pending = parts.actions.apply(actions);
    // Synchronous kinds took effect before the promise settles.
    expect(parts.storage.isLive(0, 1, 8)).toBe(false);
    expect(parts.storage.layer(0).pages[1][0].segments[0].keyCodec.kind).toBe("int8");
    const report = await pending;
    expect(report.applied).toBe(4); // keep a, drop, reencode, offload b
    expect(report.failed.map((failure) => [failure.action.kind, (failure.error as Error).message])).toEqual([
      ["keep", "page 999 does not exist in layer 0 KV head 0"],
      ["merge", "merge: position 8 is not live"],
      ["bogus", 'unknown policy action {"kind":"bogus"}'],
      ["offload", 'unknown tier "nowhere"'],
      ["recall", `page ${a.id} is memory, not offloaded`],
    ]);
    expect(b.location).toBe("offloaded");
    expect(store.size).toBe(1);
    const back = await parts.actions.apply([{ kind: "recall", layer: 0, kvHead: 0, pageId: b.id }]);
    expect(back).toEqual({ applied: 1, failed: [] });
    expect(b.location).toBe("memory");
    expect(Array.from(parts.storage.readToken(0, 0, 6)?.key ?? [])).toEqual(key(0, 0, 6));
  });
});
