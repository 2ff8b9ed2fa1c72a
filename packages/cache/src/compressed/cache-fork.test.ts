import { describe, expect, it } from "vitest";
import { PageStateError } from "../errors.js";
import { MemoryPageStore } from "../page-store.js";
import { seededFloats, testCodecFactory } from "../test-support/test-codecs.js";
import { CompressedKVCache } from "./compressed-kv-cache.js";

const layers = 2;
const kvHeads = 2;
const heads = 4;
const headDim = 8;

function cache(kind: "fp32" | "int8", store?: MemoryPageStore): CompressedKVCache {
  const codec = kind === "fp32" ? ({ kind: "fp32", dimension: headDim } as const) : ({ kind: "int8", dimension: headDim } as const);
  return new CompressedKVCache({
    layers,
    kvHeads,
    headDim,
    keys: codec,
    values: codec,
    pageSize: 4,
    residualWindow: 4,
    codecFactory: testCodecFactory,
    tiers: store ? [{ name: "memory", store }] : [],
  });
}

function append(target: CompressedKVCache, from: number, to: number, salt = 0): void {
  for (let position = from; position < to; position++) {
    for (let layer = 0; layer < layers; layer++) {
      target.append(layer, seededFloats(kvHeads * headDim, 1 + position * 13 + layer + salt), seededFloats(kvHeads * headDim, 9001 + position * 13 + layer + salt));
    }
    target.recordTokens([position % 7]);
  }
}

function attend(target: CompressedKVCache, layer: number): number[] {
  const out = new Float32Array(heads * headDim);
  target.attend(layer, seededFloats(heads * headDim, 4242 + layer), out, { heads });
  return Array.from(out);
}

/** Encoded block bytes of a cache (keys + values of resident pages). */
function blockBytes(target: CompressedKVCache): number {
  const { totals } = target.memoryReport();
  return totals.keyBytes + totals.valueBytes;
}

describe("CompressedKVCache.fork", () => {
  it("gives a cache that attends exactly like its parent and diverges without touching it", () => {
    const parent = cache("int8");
    append(parent, 0, 19);
    const before = [attend(parent, 0), attend(parent, 1)];
    const child = parent.fork();
    expect(child.length()).toBe(19);
    expect(child.recordedTokens()).toEqual(parent.recordedTokens());
    // Same blocks, same window: identical outputs (not merely close).
    expect([attend(child, 0), attend(child, 1)]).toEqual(before);
    // The child decodes its own tail, drops, merges and truncates: the parent must not notice.
    append(child, 19, 30, 777);
    child.drop(0, [1, 2, 5]);
    child.merge(1, 0, 3, 4, 0.5);
    child.truncate(10);
    append(child, 10, 26, 555);
    expect(parent.length()).toBe(19);
    expect([attend(parent, 0), attend(parent, 1)]).toEqual(before);
    expect(attend(child, 0)).not.toEqual(before[0]);
  });

  it("holds the parent's codes once: shared bytes = parent + child − the shared blocks", () => {
    const parent = cache("int8");
    append(parent, 0, 19);
    const child = parent.fork();
    // int8 test codec: 4 + headDim bytes per row; 16 flushed rows × 2 layers × 2 KV heads × (K, V).
    const shared = 16 * layers * kvHeads * 2 * (4 + headDim);
    expect(blockBytes(parent)).toBe(shared);
    expect(CompressedKVCache.sharedByteLength([parent, child])).toBe(parent.byteLength() + child.byteLength() - shared);
    // New pages of the child are its own: positions 16…23 flush at 20 and 24, 8 rows, blocks added once.
    append(child, 19, 24, 3);
    const childOnly = blockBytes(child) - shared;
    expect(childOnly).toBe(8 * layers * kvHeads * 2 * (4 + headDim));
    expect(CompressedKVCache.sharedByteLength([parent, child])).toBe(parent.byteLength() + child.byteLength() - shared);
    expect(CompressedKVCache.sharedByteLength([parent])).toBe(parent.byteLength());
  });

  it("gives every page of every cache its own id", () => {
    const parent = cache("fp32");
    append(parent, 0, 12);
    const child = parent.fork();
    const ids = (target: CompressedKVCache) => [0, 1].flatMap((layer) => [0, 1].flatMap((kvHead) => target.pageDigests(layer, kvHead).map((page) => page.pageId)));
    const all = [...ids(parent), ...ids(child)];
    expect(new Set(all).size).toBe(all.length);
  });

  it("refuses pages being offloaded or offloaded under a session-private key, shares prefix-keyed ones", async () => {
    const store = new MemoryPageStore();
    const parent = cache("fp32", store);
    append(parent, 0, 12);
    const [first] = parent.pageDigests(0, 0);
    const offloading = parent.offloadPage(0, 0, first.pageId);
    expect(() => parent.fork()).toThrow(PageStateError);
    await offloading;
    // A pristine page with recorded tokens goes out under its prefix key: shareable.
    const child = parent.fork();
    await child.recallPage(0, 0, child.pageDigests(0, 0)[0].pageId);
    expect(attend(child, 0)).toEqual((await parent.recallAll(), attend(parent, 0)));
    // A dropped row makes the page private: its offload key names the parent's session.
    parent.drop(0, [5], 0);
    const [, second] = parent.pageDigests(0, 0);
    await parent.offloadPage(0, 0, second.pageId);
    expect(() => parent.fork()).toThrow(/session-private/);
  });

  it("a fork freeing a shared offloaded page leaves the parent's stored copy in place", async () => {
    const store = new MemoryPageStore();
    const parent = cache("fp32", store);
    append(parent, 0, 12);
    parent.drop(0, [1], 0);
    const child = parent.fork();
    const [page] = child.pageDigests(0, 0);
    await child.offloadPage(0, 0, page.pageId);
    const childKey = child.pageDigests(0, 0)[0].storeKey as string;
    expect(childKey).toContain(child.sessionId);
    const stored = store.size;
    child.dropPage(0, 0, page.pageId);
    await child.settled();
    // Its own private copy is deleted, nothing else.
    expect(store.size).toBe(stored - 1);
    expect(await store.has(childKey)).toBe(false);
  });
});
