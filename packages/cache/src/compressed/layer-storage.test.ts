import { describe, expect, it } from "vitest";
import { CacheConfigurationError, PageStateError } from "../errors.js";
import { MemoryPageStore } from "../page-store.js";
import { buildParts, headSlice, tokenRows } from "../test-support/cache-parts.js";
import { createTestCodec } from "../test-support/test-codecs.js";
import { cacheLayout } from "./cache-layout.js";
import { LayerStorage } from "./layer-storage.js";

// Defaults of buildParts: 1 layer, 2 KV heads, headDim 4, pages of 4, window 4 (flush at 4).
const headDim = 4;
const stride = 2 * headDim;

describe("LayerStorage", () => {
  it("starts empty: one page list per KV head, a window of kvHeads × flushAt rows", () => {
    const layout = cacheLayout({ layers: 2, kvHeads: 3, headDim, pageSize: 2, residualWindow: 4 });
    const codec = createTestCodec({ kind: "fp32", dimension: headDim });
    const storage = new LayerStorage(layout, [codec, codec], [codec, codec]);
    const state = storage.layer(1);
    expect(state.pages).toEqual([[], [], []]);
    expect(state.residualKeys.length).toBe(3 * 4 * headDim);
    expect(state.residualLive.length).toBe(3 * 4);
    expect([state.length, state.residualStart, state.residualCount]).toEqual([0, 0, 0]);
    expect(storage.residualIndex(2, 1)).toBe(2 * 4 + 1);
  });

  it("rejects layers and KV heads out of range with their bounds", () => {
    const { storage } = buildParts();
    expect(() => storage.layer(1)).toThrow(CacheConfigurationError);
    expect(() => storage.layer(-1)).toThrow("layer -1 out of range [0, 1)");
    for (const kvHead of [-1, 2, 0.5]) expect(() => storage.checkKvHead(kvHead)).toThrow(`kvHead ${kvHead} out of range [0, 2)`);
    expect(() => storage.requirePage(0, 0, 99)).toThrow(PageStateError);
    expect(() => storage.requirePage(0, 0, 99)).toThrow("page 99 does not exist in layer 0 KV head 0");
  });

  it("appendRow scatters a token's KV heads into their window rows and says when the window is full", () => {
    const { storage } = buildParts();
    const state = storage.layer(0);
    const full: boolean[] = [];
    for (let t = 0; t < 4; t++) {
      const { keys, values } = tokenRows(0, t, stride);
      full.push(storage.appendRow(state, keys, values));
    }
    expect(full).toEqual([false, false, false, true]);
    expect(state.length).toBe(4);
    const { keys, values } = tokenRows(0, 2, stride);
    const row = storage.residualIndex(1, 2);
    expect(Array.from(state.residualKeys.subarray(row * headDim, (row + 1) * headDim))).toEqual(Array.from(headSlice(keys, 1, headDim)));
    expect(Array.from(state.residualValues.subarray(row * headDim, (row + 1) * headDim))).toEqual(Array.from(headSlice(values, 1, headDim)));
    expect(state.residualLive[row]).toBe(1);
  });

  it("readToken reads window and page rows back exactly (fp32), undefined for dropped or unknown positions", () => {
    const parts = buildParts();
    parts.fill(6); // positions 0–3 in a page, 4–5 in the window
    const { storage } = parts;
    for (const position of [1, 5]) {
      const { keys, values } = tokenRows(0, position, stride);
      const row = storage.readToken(0, 1, position);
      expect(Array.from(row?.key ?? [])).toEqual(Array.from(headSlice(keys, 1, headDim)));
      expect(Array.from(row?.value ?? [])).toEqual(Array.from(headSlice(values, 1, headDim)));
    }
    parts.actions.drop(0, [1, 5], 0);
    expect(storage.readToken(0, 0, 1)).toBeUndefined();
    expect(storage.readToken(0, 0, 5)).toBeUndefined();
    expect(storage.readToken(0, 1, 1)).toBeDefined();
    for (const position of [-1, 6, 2.5]) expect(storage.readToken(0, 0, position)).toBeUndefined();
    const keyOut = new Float32Array(headDim);
    expect(storage.readToken(0, 1, 0, keyOut)?.key).toBe(keyOut);
  });

  it("readToken of an offloaded page throws PageStateError naming the page", async () => {
    const parts = buildParts({ tiers: [{ name: "memory", store: new MemoryPageStore() }] });
    parts.fill(4);
    const [page] = parts.storage.layer(0).pages[0];
    await parts.tiering.offloadPage(0, 0, page.id);
    expect(() => parts.storage.readToken(0, 0, 2)).toThrow(PageStateError);
    expect(() => parts.storage.readToken(0, 0, 2)).toThrow(`position 2 of layer 0 KV head 0 is in offloaded page ${page.id}; recall it first`);
    expect(parts.storage.readToken(0, 1, 2)).toBeDefined(); // the other KV head's page is resident
  });

  it("readLayer writes [kvHead][position][headDim], zeros for dropped and offloaded rows, and checks the output size", async () => {
    const parts = buildParts({ tiers: [{ name: "memory", store: new MemoryPageStore() }] });
    parts.fill(10); // pages at 0 and 4, window 8–9
    const length = 10;
    await parts.tiering.offloadPage(0, 1, parts.storage.layer(0).pages[1][1].id); // KV head 1, positions 4–7
    parts.actions.drop(0, [2, 9], 0);
    const keys = new Float32Array(2 * length * headDim).fill(7);
    const values = new Float32Array(2 * length * headDim).fill(7);
    parts.storage.readLayer(0, keys, values, parts.decoder);
    for (let kvHead = 0; kvHead < 2; kvHead++) {
      for (let position = 0; position < length; position++) {
        const zero = (kvHead === 0 && (position === 2 || position === 9)) || (kvHead === 1 && position >= 4 && position < 8);
        const expected = zero ? new Float32Array(headDim) : headSlice(tokenRows(0, position, stride).keys, kvHead, headDim);
        const at = (kvHead * length + position) * headDim;
        expect(Array.from(keys.subarray(at, at + headDim))).toEqual(Array.from(expected));
      }
    }
    expect(() => parts.storage.readLayer(0, new Float32Array(79), values, parts.decoder)).toThrow(
      "readLayer: outputs need kvHeads × length × headDim = 80 floats",
    );
  });

  it("isLive and liveCount follow drops; offloaded rows count as live", async () => {
    const parts = buildParts({ tiers: [{ name: "memory", store: new MemoryPageStore() }] });
    parts.fill(6);
    parts.actions.drop(0, [0, 4], 1);
    await parts.tiering.offloadPage(0, 0, parts.storage.layer(0).pages[0][0].id);
    expect([0, 1, 4, 5, 6, -1].map((position) => parts.storage.isLive(0, 1, position))).toEqual([false, true, false, true, false, false]);
    expect(parts.storage.isLive(0, 0, 0)).toBe(true);
    expect(parts.storage.liveCount(0, 0)).toBe(6);
    expect(parts.storage.liveCount(0, 1)).toBe(4);
    expect(parts.storage.residualLiveCount(parts.storage.layer(0), 1)).toBe(1);
  });

  it("allPages yields every page, layer by layer and KV head by KV head, in position order", () => {
    const parts = buildParts({ layers: 2 });
    parts.fill(8);
    expect(Array.from(parts.storage.allPages(), (page) => [page.layer, page.kvHead, page.firstPosition])).toEqual([
      [0, 0, 0],
      [0, 0, 4],
      [0, 1, 0],
      [0, 1, 4],
      [1, 0, 0],
      [1, 0, 4],
      [1, 1, 0],
      [1, 1, 4],
    ]);
  });
});
