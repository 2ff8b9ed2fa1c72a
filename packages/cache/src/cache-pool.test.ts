import { describe, expect, it } from "vitest";
import { CachePool } from "./cache-pool.js";
import { MemoryPageStore } from "./page-store.js";
import { seededFloats } from "./test-support/test-codecs.js";

const headDim = 16;
const defaults = {
  layers: 1,
  kvHeads: 1,
  headDim,
  keys: { kind: "int8", dimension: headDim },
  values: { kind: "int8", dimension: headDim },
  pageSize: 8,
  residualWindow: 8,
} as const;

function fill(pool: CachePool, id: string, tokens: number): void {
  const cache = pool.get(id) ?? pool.create(id);
  for (let position = 0; position < tokens; position++) cache.append(0, seededFloats(headDim, position), seededFloats(headDim, position + 500));
}

describe("CachePool", () => {
  it("shares codec instances across sessions", () => {
    const pool = new CachePool({ byteBudget: 1e9, defaults });
    const a = pool.create("a");
    const b = pool.create("b");
    expect(a.layerCodecs(0).keys).toBe(b.layerCodecs(0).keys);
    expect(pool.sessionIds()).toEqual(["a", "b"]);
  });

  it("offloads least recently used sessions' pages to meet the budget, and resume recalls them", async () => {
    const store = new MemoryPageStore();
    const pool = new CachePool({ byteBudget: 1, defaults, tier: { name: "spill", store } });
    fill(pool, "old", 40);
    fill(pool, "new", 40);
    pool.get("new"); // "new" is now the most recently used
    const report = await pool.enforceBudget("new");
    // Budget 1 byte: every resident page of "old" goes first, then "old" is evicted whole; "new" is protected.
    expect(report.offloadedPages).toBe(5);
    expect(report.evictedSessions).toEqual(["old"]);
    expect(pool.sessionIds()).toEqual(["new"]);
    expect(store.size).toBe(0); // eviction deleted the session's private pages
  });

  it("with a roomy budget, offloading alone suffices and resume brings the pages back", async () => {
    const store = new MemoryPageStore();
    const probe = new CachePool({ byteBudget: 1e9, defaults });
    fill(probe, "x", 40);
    const sessionBytes = probe.byteLength();
    const page = probe.get("x")?.memoryReport().layers[0].heads[0].pages[0];
    const pageBlockBytes = (page?.keyBytes ?? 0) + (page?.valueBytes ?? 0);
    // Two sessions; the budget lacks exactly two pages' blocks.
    const pool = new CachePool({ byteBudget: 2 * sessionBytes - 2 * pageBlockBytes, defaults, tier: { name: "spill", store } });
    fill(pool, "a", 40);
    fill(pool, "b", 40);
    const before = new Float32Array(headDim);
    pool.get("a")?.attend(0, seededFloats(headDim, 1), before, { heads: 1 });
    const report = await pool.enforceBudget("a");
    expect(report.evictedSessions).toEqual([]);
    expect(report.offloadedPages).toBe(2);
    expect(report.bytesAfter).toBeLessThanOrEqual(pool.byteBudget);
    expect(store.size).toBe(2);
    const b = await pool.resume("b");
    expect(b?.memoryReport().totals.offloadedPages).toBe(0);
    await pool.release("a");
    expect(pool.sessionIds()).toEqual(["b"]);
  });
});
