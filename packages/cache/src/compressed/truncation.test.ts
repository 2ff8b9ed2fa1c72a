import { describe, expect, it } from "vitest";
import { MemoryPageStore } from "../page-store.js";
import { buildParts, type CacheParts, headSlice, tokenRows } from "../test-support/cache-parts.js";
import { createTestCodec } from "../test-support/test-codecs.js";
import type { Page } from "./page.js";
import { truncateLayer } from "./truncation.js";

// buildParts defaults: 2 KV heads, headDim 4, pages of 4; window R = 8 here (flush at 8).
const headDim = 4;
const stride = 2 * headDim;

function truncate(parts: CacheParts, target: number): Page[] {
  const forgotten: Page[] = [];
  truncateLayer(parts.layout, parts.storage.layer(0), target, parts.decoder, (page) => forgotten.push(page));
  return forgotten;
}

function window(parts: CacheParts): [number, number, number] {
  const state = parts.storage.layer(0);
  return [state.residualStart, state.residualCount, state.length];
}

describe("truncateLayer", () => {
  it("a target at or past the length changes nothing", () => {
    const parts = buildParts({ residualWindow: 8 });
    parts.fill(10);
    expect(truncate(parts, 10)).toEqual([]);
    expect(truncate(parts, 99)).toEqual([]);
    expect(window(parts)).toEqual([8, 2, 10]);
  });

  it("inside the window: shortens it, pages untouched, appending resumes at the target", () => {
    const parts = buildParts({ residualWindow: 8 });
    parts.fill(13); // pages 0–7, window 8–12
    const pagesBefore = parts.storage.layer(0).pages.map((pages) => pages.slice());
    expect(truncate(parts, 10)).toEqual([]);
    expect(window(parts)).toEqual([8, 2, 10]);
    expect(parts.storage.layer(0).pages).toEqual(pagesBefore);
    expect(parts.storage.readToken(0, 0, 10)).toBeUndefined();
    expect(parts.storage.residualLiveCount(parts.storage.layer(0), 1)).toBe(2);
    parts.fill(1);
    expect(Array.from(parts.storage.readToken(0, 1, 10)?.key ?? [])).toEqual(Array.from(headSlice(tokenRows(0, 10, stride).keys, 1, headDim)));
  });

  it("at a page boundary: later pages are forgotten, the window is empty and starts at the target", () => {
    const parts = buildParts({ residualWindow: 8 });
    parts.fill(18); // pages at 0, 4, 8, 12; window 16–17
    const forgotten = truncate(parts, 8);
    expect(forgotten.map((page) => [page.kvHead, page.firstPosition])).toEqual([
      [0, 8],
      [0, 12],
      [1, 8],
      [1, 12],
    ]);
    expect(window(parts)).toEqual([8, 0, 8]);
    expect(parts.storage.layer(0).pages.map((pages) => pages.map((page) => page.firstPosition))).toEqual([
      [0, 4],
      [0, 4],
    ]);
  });

  it("inside a page: the survivors of the cut page come back into the window decoded (lossy int8: the decoded rows)", () => {
    const int8 = createTestCodec({ kind: "int8", dimension: headDim });
    const parts = buildParts({ residualWindow: 8, keys: int8, values: int8 });
    parts.fill(17); // pages 0–15, window 16
    const cut = parts.storage.layer(0).pages[1][1]; // positions 4–7 of KV head 1
    const decodedKeys = int8.decode(cut.segments[0].keys as never);
    parts.actions.drop(0, [5], 1);
    const forgotten = truncate(parts, 7);
    expect(forgotten.length).toBe(2 * 3); // pages at 4, 8 and 12 of both heads
    expect(window(parts)).toEqual([4, 3, 7]);
    const state = parts.storage.layer(0);
    expect(Array.from(state.residualLive.subarray(8, 16))).toEqual([1, 0, 1, 0, 0, 0, 0, 0]); // KV head 1: 4 and 6 live, 5 dropped
    expect(parts.storage.readToken(0, 1, 5)).toBeUndefined();
    expect(Array.from(parts.storage.readToken(0, 1, 6)?.key ?? [])).toEqual(Array.from(decodedKeys.subarray(2 * headDim, 3 * headDim)));
    // The cut page was pristine before the drop marked it: survivors of a changed page are tainted.
    expect(Array.from(state.residualTainted.subarray(0, 3))).toEqual([0, 0, 0]);
    expect(Array.from(state.residualTainted.subarray(8, 11))).toEqual([1, 0, 1]);
    // Appending resumes at 7; the next flush rebuilds the pages at 4 from the window.
    parts.fill(5);
    expect(parts.storage.layer(0).pages[1].map((page) => page.firstPosition)).toEqual([0, 4, 8]);
    expect(parts.storage.isLive(0, 1, 5)).toBe(false);
  });

  it("below an offloaded cut page: its survivors cannot be read synchronously and count as dropped", async () => {
    const parts = buildParts({ residualWindow: 8, tiers: [{ name: "memory", store: new MemoryPageStore() }] });
    parts.fill(16);
    const cut = parts.storage.layer(0).pages[0][1];
    await parts.tiering.offloadPage(0, 0, cut.id);
    const forgotten = truncate(parts, 6);
    expect(forgotten).toContain(cut);
    expect(window(parts)).toEqual([4, 2, 6]);
    expect([4, 5].map((position) => parts.storage.isLive(0, 0, position))).toEqual([false, false]);
    expect([4, 5].map((position) => parts.storage.isLive(0, 1, position))).toEqual([true, true]);
    expect(parts.storage.liveCount(0, 0)).toBe(4);
  });

  it("to 0 forgets every page and empties the window", () => {
    const parts = buildParts({ residualWindow: 8 });
    parts.fill(11);
    expect(truncate(parts, 0).length).toBe(2 * 2); // pages at 0 and 4, both KV heads
    expect(window(parts)).toEqual([0, 0, 0]);
    expect(parts.storage.layer(0).pages).toEqual([[], []]);
    expect(Array.from(parts.storage.layer(0).residualLive)).toEqual(new Array(16).fill(0));
  });
});
