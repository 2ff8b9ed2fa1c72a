import { describe, expect, it } from "vitest";
import type { FlushContext, FlushSegmentPlan } from "../policy.js";
import { buildParts, type CachePartsOptions, headSlice, tokenRows } from "../test-support/cache-parts.js";
import { createTestCodec } from "../test-support/test-codecs.js";
import { type Page, positionAt } from "./page.js";

const headDim = 4;
const stride = 2 * headDim;
const int8Spec = { kind: "int8", dimension: headDim } as const;
const fp32Spec = { kind: "fp32", dimension: headDim } as const;

function describePages(pages: readonly Page[]): { first: number; positions: number[][]; codecs: string[] }[] {
  return pages.map((page) => ({
    first: page.firstPosition,
    positions: page.segments.map((segment) => Array.from({ length: segment.count }, (_, row) => positionAt(segment, row))),
    codecs: page.segments.map((segment) => `${segment.keyCodec.kind}/${segment.valueCodec.kind}`),
  }));
}

/** One flush of 4 rows under `plan`; returns KV head 0's page. */
function flushWith(plan: readonly FlushSegmentPlan[] | undefined, options: CachePartsOptions = {}): Page {
  const parts = buildParts({ kvHeads: 1, planFlush: () => plan, ...options });
  parts.fill(4);
  return parts.storage.layer(0).pages[0][0];
}

describe("PageEncoder.flush boundaries", () => {
  it("R = 0: every pageSize tokens become a page and the window is left empty", () => {
    const parts = buildParts({ residualWindow: 0 });
    parts.fill(3);
    expect(parts.storage.layer(0).pages[0]).toEqual([]);
    parts.fill(1);
    const state = parts.storage.layer(0);
    expect(state.pages.map((pages) => pages.length)).toEqual([1, 1]);
    expect([state.residualStart, state.residualCount, state.length]).toEqual([4, 0, 4]);
    expect(Array.from(state.residualLive)).toEqual(new Array(8).fill(0));
  });

  it("R = pageSize flushes like R = 0 (flushAt = max(R, pageSize)); the page holds the rows bit for bit", () => {
    const parts = buildParts({ residualWindow: 4 });
    parts.fill(5);
    const state = parts.storage.layer(0);
    expect([state.residualStart, state.residualCount]).toEqual([4, 1]);
    const page = state.pages[1][0];
    const decoded = page.segments[0].keyCodec.decode(page.segments[0].keys as never);
    for (let row = 0; row < 4; row++) {
      expect(Array.from(decoded.subarray(row * headDim, (row + 1) * headDim))).toEqual(Array.from(headSlice(tokenRows(0, row, stride).keys, 1, headDim)));
    }
    expect(page.pristine).toBe(true);
  });

  it("R = 2·pageSize: nothing until 2·pageSize rows, then two pages per KV head at once", () => {
    const parts = buildParts({ residualWindow: 8 });
    parts.fill(7);
    expect(parts.storage.layer(0).pages[0]).toEqual([]);
    parts.fill(1);
    const state = parts.storage.layer(0);
    for (const pages of state.pages) expect(describePages(pages).map((page) => page.first)).toEqual([0, 4]);
    expect([state.residualStart, state.residualCount]).toEqual([8, 0]);
    parts.fill(9);
    expect(describePages(state.pages[0]).map((page) => page.first)).toEqual([0, 4, 8, 12]);
    expect([state.residualStart, state.residualCount, state.length]).toEqual([16, 1, 17]);
  });

  it("rows dropped before the flush leave a partial page with explicit positions; an all-dropped page is not written", () => {
    const parts = buildParts();
    parts.fill(3);
    parts.actions.drop(0, [1], 0); // KV head 0 loses position 1 of the page
    parts.actions.drop(0, [0, 1, 2], 1); // KV head 1 loses three of its four rows
    const state = parts.storage.layer(0);
    const { keys, values } = tokenRows(0, 3, stride);
    parts.storage.appendRow(state, keys, values);
    state.residualLive[parts.storage.residualIndex(1, 3)] = 0; // … and the fourth, before the flush
    parts.encoder.flush(0, state, () => undefined);
    const [page] = state.pages[0];
    expect(describePages([page])).toEqual([{ first: 0, positions: [[0, 2, 3]], codecs: ["fp32/fp32"] }]);
    expect(Array.from(page.segments[0].explicitPositions ?? [])).toEqual([0, 2, 3]);
    expect(page.pristine).toBe(false); // fewer than pageSize rows: no prefix key names it
    expect(state.pages[1]).toEqual([]);
    expect([state.residualStart, state.residualCount, state.length]).toEqual([4, 0, 4]);
  });

  it("page ids are unique and increasing across layers and KV heads", () => {
    const parts = buildParts({ layers: 2 });
    parts.fill(8);
    const ids = Array.from(parts.storage.allPages(), (page) => page.id).sort((a, b) => a - b);
    expect(new Set(ids).size).toBe(8);
    expect(ids[0]).toBeGreaterThanOrEqual(1);
    expect(parts.encoder.nextId()).toBe(ids[ids.length - 1] + 1);
  });
});

describe("PageEncoder.planFlush segment grouping", () => {
  it("hands planFlush the live positions and rows; rows rewritten in place are what gets encoded", () => {
    const seen: FlushContext[] = [];
    const parts = buildParts({
      planFlush: (context) => {
        seen.push({ ...context, keys: context.keys.slice(), values: context.values.slice() });
        if (context.kvHead === 0) context.values.fill(0.5, 0, headDim);
        return undefined;
      },
    });
    parts.fill(2);
    parts.actions.drop(0, [0], 1);
    parts.fill(2);
    expect(seen.map((context) => [context.layer, context.kvHead, Array.from(context.positions)])).toEqual([
      [0, 0, [0, 1, 2, 3]],
      [0, 1, [1, 2, 3]],
    ]);
    expect(Array.from(seen[1].keys.subarray(0, headDim))).toEqual(Array.from(headSlice(tokenRows(0, 1, stride).keys, 1, headDim)));
    expect(Array.from(parts.storage.readToken(0, 0, 0)?.value ?? [])).toEqual([0.5, 0.5, 0.5, 0.5]);
  });

  it("planned codecs equal to the defaults merge into the default segment, and the page stays pristine", () => {
    const page = flushWith([{ positions: [1, 2], keys: fp32Spec, values: fp32Spec }, { positions: [3] }]);
    expect(describePages([page])).toEqual([{ first: 0, positions: [[0, 1, 2, 3]], codecs: ["fp32/fp32"] }]);
    expect(page.segments[0].explicitPositions).toBeUndefined();
    expect(page.pristine).toBe(true);
  });

  it("other codecs get their own segment (rows sorted, explicit positions); the page is no longer pristine", () => {
    const page = flushWith([{ positions: [3, 1], keys: int8Spec }]);
    expect(describePages([page])).toEqual([{ first: 0, positions: [[0, 2], [1, 3]], codecs: ["fp32/fp32", "int8/fp32"] }]);
    expect(page.pristine).toBe(false);
    expect(page.segments[1].keys?.data.length).toBe(2 * (4 + headDim)); // int8 test codec: 4-byte scale + 1 byte per element
  });

  it("ignores planned positions outside the page; the first plan entry naming a row wins; equal plans share a segment", () => {
    const outside = flushWith([{ positions: [-1, 4, 100], keys: int8Spec }]);
    expect(describePages([outside])).toEqual([{ first: 0, positions: [[0, 1, 2, 3]], codecs: ["fp32/fp32"] }]);
    expect(outside.pristine).toBe(true);
    const overlapping = flushWith([
      { positions: [0, 1], values: int8Spec },
      { positions: [1, 2], keys: int8Spec, values: int8Spec },
      { positions: [3], values: int8Spec },
    ]);
    expect(describePages([overlapping])).toEqual([{ first: 0, positions: [[0, 1, 3], [2]], codecs: ["fp32/int8", "int8/int8"] }]);
  });

  it("a planned codec of the wrong dimension fails the flush with its name", () => {
    expect(() => flushWith([{ positions: [0], keys: { kind: "int8", dimension: 8 } }])).toThrow(
      "planFlush keys codec has dimension 8, expected headDim 4",
    );
  });

  it("buildPage marks a page pristine only with one full live segment in the layer's own codecs", () => {
    const parts = buildParts({ kvHeads: 1 });
    const state = parts.storage.layer(0);
    const keys = tokenRows(0, 0, 4 * headDim).keys;
    const positions = Int32Array.of(0, 1, 2, 3);
    expect(parts.encoder.buildPage(0, 0, 0, positions, keys, keys, state, undefined).pristine).toBe(true);
    const other = createTestCodec({ kind: "fp32", dimension: headDim, flip: true });
    const foreign = parts.encoder.buildPage(0, 0, 0, positions, keys, keys, state, [{ positions: [0, 1, 2, 3], keys: other.spec as never }]);
    expect(foreign.segments.length).toBe(1);
    expect(foreign.pristine).toBe(true); // {kind: fp32} spec resolves to the layer's own instance
    const flipped = parts.encoder.buildPage(0, 0, 0, positions, keys, keys, { ...state, keyCodec: other }, undefined);
    expect(flipped.pristine).toBe(true);
    expect(parts.encoder.isPristine(flipped.segments, state)).toBe(false);
  });
});
