import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { TypeScriptAttention } from "../attention/typescript-attention.js";
import { DiskPageStore } from "../disk-page-store.js";
import { CacheConfigurationError, CorruptPageError, PageStateError } from "../errors.js";
import { MemoryPageStore, type PageStore } from "../page-store.js";
import { buildParts, type CacheParts } from "../test-support/cache-parts.js";
import { createTestCodec, seededFloats, testCodecFactory } from "../test-support/test-codecs.js";
import { CompressedKVCache } from "./compressed-kv-cache.js";

const headDim = 4;

/** A store whose puts wait until the test lets them finish (or fail). */
class GatedStore implements PageStore {
  readonly inner = new MemoryPageStore();
  private gates: { resolve: () => void; reject: (error: Error) => void }[] = [];
  deletes: string[] = [];
  put(key: string, bytes: Uint8Array): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.gates.push({ resolve, reject });
    }).then(() => this.inner.put(key, bytes));
  }
  get(key: string): Promise<Uint8Array | undefined> {
    return this.inner.get(key);
  }
  has(key: string): Promise<boolean> {
    return this.inner.has(key);
  }
  delete(key: string): Promise<boolean> {
    this.deletes.push(key);
    return this.inner.delete(key);
  }
  open(): void {
    for (const gate of this.gates.splice(0)) gate.resolve();
  }
  fail(error: Error): void {
    for (const gate of this.gates.splice(0)) gate.reject(error);
  }
}

/** Weight each position of KV head `kvHead` gets from one query head (TypeScript attention over the layer). */
function weightsOf(parts: CacheParts, kvHead: number): Float32Array {
  const state = parts.storage.layer(0);
  const attention = new TypeScriptAttention(headDim);
  const weights = new Float32Array(state.length);
  attention.attendHead(
    state.pages[kvHead],
    { keys: state.residualKeys, values: state.residualValues, live: state.residualLive, count: state.residualCount, stride: parts.layout.flushAt, start: state.residualStart },
    kvHead * parts.layout.flushAt,
    seededFloats(headDim, 3),
    0.5,
    new Float32Array(headDim),
    0,
    weights,
  );
  return weights;
}

function withStore(store: PageStore): CacheParts {
  const parts = buildParts({ tiers: [{ name: "t", store }] });
  parts.fill(9); // pages at 0 and 4 per KV head, window 8
  return parts;
}

describe("PageTiering tiers", () => {
  it("names its tiers, picks the first by default, and rejects unknown, missing and duplicate tiers", () => {
    const parts = buildParts();
    expect(parts.tiering.tierNames()).toEqual([]);
    expect(() => parts.tiering.tier(undefined)).toThrow("no tier configured: pass `tiers` or call addTier");
    const memory = { name: "memory", store: new MemoryPageStore() };
    parts.tiering.addTier(memory);
    parts.tiering.addTier({ name: "disk", store: new MemoryPageStore() });
    expect(parts.tiering.tierNames()).toEqual(["memory", "disk"]);
    expect(parts.tiering.tier(undefined)).toBe(memory);
    expect(() => parts.tiering.tier("redis")).toThrow(CacheConfigurationError);
    expect(() => parts.tiering.tier("redis")).toThrow('unknown tier "redis"');
    expect(() => parts.tiering.addTier({ name: "disk", store: new MemoryPageStore() })).toThrow('tier "disk" exists already');
  });
});

describe("PageTiering.offloadPage", () => {
  it("keeps the page resident and attended until the write completes, then frees its blocks", async () => {
    const store = new GatedStore();
    const parts = withStore(store);
    const page = parts.storage.layer(0).pages[0][0];
    const blockBytes = page.segments[0].keys?.data;
    const before = weightsOf(parts, 0);
    const offload = parts.tiering.offloadPage(0, 0, page.id);
    await Promise.resolve();
    expect(page.location).toBe("offloading");
    expect(page.segments[0].keys?.data).toBe(blockBytes);
    expect(Array.from(weightsOf(parts, 0))).toEqual(Array.from(before)); // still attended, bit for bit
    expect(parts.storage.readToken(0, 0, 1)).toBeDefined();
    const revision = page.revision;
    store.open();
    await offload;
    expect(page.location).toBe("offloaded");
    expect(page.segments[0].keys).toBeUndefined();
    expect(page.revision).toBe(revision + 1);
    const key = `kvpack:session:test-session:0:0:${page.id}`;
    expect([page.storeKey, page.tier]).toEqual([key, "t"]);
    expect(parts.events).toEqual([{ type: "page-offloaded", layer: 0, kvHead: 0, pageId: page.id, tier: "t", key }]);
    expect(Array.from(weightsOf(parts, 0).subarray(0, 4))).toEqual([0, 0, 0, 0]);
  });

  it("a failing store rejects with its error and leaves the page resident; a later offload works", async () => {
    const store = new GatedStore();
    const parts = withStore(store);
    const page = parts.storage.layer(0).pages[1][1];
    const offload = parts.tiering.offloadPage(0, 1, page.id);
    store.fail(new Error("disk full"));
    await expect(offload).rejects.toThrow("disk full");
    expect(page.location).toBe("memory");
    expect(page.segments[0].keys).toBeDefined();
    expect(parts.events).toEqual([]);
    const again = parts.tiering.offloadPage(0, 1, page.id);
    store.open();
    await again;
    expect(page.location).toBe("offloaded");
  });

  it("a page whose blocks changed during the write stays resident, and the stale private copy is deleted", async () => {
    const store = new GatedStore();
    const parts = withStore(store);
    const page = parts.storage.layer(0).pages[0][1];
    const offload = parts.tiering.offloadPage(0, 0, page.id);
    // Every change of the blocks bumps the version (policy-actions.test.ts checks re-encode and
    // merge); the actions refuse both on an "offloading" page, so stand in for one directly.
    page.version += 1;
    store.open();
    await offload;
    await parts.tiering.settled();
    expect(page.location).toBe("memory");
    expect(page.segments[0].keys).toBeDefined();
    expect(page.storeKey).toBeUndefined();
    expect(store.deletes).toEqual([`kvpack:session:test-session:0:0:${page.id}`]);
    expect(store.inner.size).toBe(0);
    expect(parts.events).toEqual([]);
  });

  it("a page dropped during the write is not marked offloaded, and its private copy is deleted", async () => {
    const store = new GatedStore();
    const parts = withStore(store);
    const page = parts.storage.layer(0).pages[1][0];
    const offload = parts.tiering.offloadPage(0, 1, page.id);
    parts.actions.dropPage(0, 1, page.id);
    store.open();
    await offload;
    await parts.tiering.settled();
    expect(page.location).toBe("memory");
    expect(page.storeKey).toBeUndefined();
    expect(store.inner.size).toBe(0);
    expect(parts.events).toEqual([]);
  });

  it("refuses a page that is not resident, naming where it is", async () => {
    const parts = withStore(new MemoryPageStore());
    const page = parts.storage.layer(0).pages[0][0];
    const first = parts.tiering.offloadPage(0, 0, page.id);
    await expect(parts.tiering.offloadPage(0, 0, page.id)).rejects.toThrow(`page ${page.id} is offloading`);
    await first;
    await expect(parts.tiering.offloadPage(0, 0, page.id)).rejects.toThrow(PageStateError);
    await expect(parts.tiering.offloadPage(0, 0, page.id)).rejects.toThrow(`page ${page.id} is offloaded`);
  });

  it("a pristine page whose tokens are recorded goes under its shared prefix key, which freeing it never deletes", async () => {
    const store = new MemoryPageStore();
    const parts = withStore(store);
    parts.prefixes.recordTokens(Array.from({ length: 9 }, (_, i) => 100 + i));
    const [shared, changed] = parts.storage.layer(0).pages[0];
    parts.actions.drop(0, [5], 0);
    await parts.tiering.offloadPage(0, 0, shared.id);
    await parts.tiering.offloadPage(0, 0, changed.id);
    expect(shared.storeKey).toBe(parts.prefixes.prefixKey(0, 0, 0));
    expect(changed.storeKey).toBe(`kvpack:session:test-session:0:0:${changed.id}`);
    parts.actions.dropPage(0, 0, shared.id);
    parts.actions.dropPage(0, 0, changed.id);
    await parts.tiering.settled();
    expect(Array.from(store.keys())).toEqual([shared.storeKey]);
  });
});

describe("PageTiering.recallPage", () => {
  it("brings the exact bytes back and emits page-recalled; recallAll counts the pages and settled waits", async () => {
    const parts = withStore(new MemoryPageStore());
    const pages = [...parts.storage.allPages()];
    const bytes = pages.map((page) => [page.segments[0].keys?.data.slice(), page.segments[0].values?.data.slice()]);
    for (const page of pages) void parts.tiering.offloadPage(page.layer, page.kvHead, page.id);
    await parts.tiering.settled();
    expect(pages.every((page) => page.location === "offloaded")).toBe(true);
    expect(await parts.tiering.recallAll()).toBe(4);
    pages.forEach((page, i) => {
      expect(page.location).toBe("memory");
      expect(Array.from(page.segments[0].keys?.data ?? [])).toEqual(Array.from(bytes[i][0] ?? []));
      expect(Array.from(page.segments[0].values?.data ?? [])).toEqual(Array.from(bytes[i][1] ?? []));
    });
    expect(parts.events.filter((event) => event.type === "page-recalled").length).toBe(4);
    await expect(parts.tiering.recallPage(0, 0, pages[0].id)).rejects.toThrow(`page ${pages[0].id} is memory, not offloaded`);
  });

  it("a missing record emits page-missing and rejects; the page stays offloaded", async () => {
    const store = new MemoryPageStore();
    const parts = withStore(store);
    const page = parts.storage.layer(0).pages[0][0];
    await parts.tiering.offloadPage(0, 0, page.id);
    const key = page.storeKey as string;
    await store.delete(key);
    await expect(parts.tiering.recallPage(0, 0, page.id)).rejects.toThrow(`page ${page.id} is missing from tier "t" (key ${key})`);
    expect(parts.events.at(-1)).toEqual({ type: "page-missing", layer: 0, kvHead: 0, pageId: page.id, tier: "t", key });
    expect(page.location).toBe("offloaded");
  });

  it("another page's valid record under the key is corruption: rejected, reported, never installed", async () => {
    const store = new MemoryPageStore();
    const parts = withStore(store);
    const [a, b] = parts.storage.layer(0).pages[0];
    await parts.tiering.offloadPage(0, 0, a.id);
    await parts.tiering.offloadPage(0, 0, b.id);
    await store.put(a.storeKey as string, (await store.get(b.storeKey as string)) as Uint8Array);
    const recall = parts.tiering.recallPage(0, 0, a.id);
    await expect(recall).rejects.toThrow(CorruptPageError);
    await expect(recall).rejects.toThrow(`record does not match page ${a.id}: layer, KV head or first position differ`);
    expect(parts.events.at(-1)?.type).toBe("corrupt-page");
    expect(a.location).toBe("offloaded");
    expect(a.segments[0].keys).toBeUndefined();
  });

  it("a DiskPageStore file with a flipped byte rejects by the file CRC and emits corrupt-page with the page id", async () => {
    const directory = await mkdtemp(join(tmpdir(), "kvpack-tiering-"));
    try {
      const parts = withStore(await DiskPageStore.open(directory, { durable: false }));
      const page = parts.storage.layer(0).pages[1][0];
      await parts.tiering.offloadPage(0, 1, page.id);
      const [file] = (await readdir(directory)).filter((name) => name.endsWith(".page"));
      const bytes = await readFile(join(directory, file));
      bytes[bytes.length - 10] ^= 0x01;
      await writeFile(join(directory, file), bytes);
      await expect(parts.tiering.recallPage(0, 1, page.id)).rejects.toThrow("file CRC-32 mismatch");
      const event = parts.events.at(-1);
      expect(event).toMatchObject({ type: "corrupt-page", layer: 0, kvHead: 1, pageId: page.id, tier: "t", key: page.storeKey });
      expect(page.location).toBe("offloaded");
    } finally {
      await rm(directory, { recursive: true, force: true });
    }
  });
});

describe("recall of a corrupt page through the facade", () => {
  it("a flipped byte in a MemoryPageStore copy rejects, emits corrupt-page, and attention equals attention with the page dropped", async () => {
    const store = new MemoryPageStore();
    const events: string[] = [];
    const cache = new CompressedKVCache({
      layers: 1,
      kvHeads: 1,
      headDim,
      keys: createTestCodec({ kind: "int8", dimension: headDim, flip: true }),
      values: createTestCodec({ kind: "int8", dimension: headDim, flip: true }),
      pageSize: 4,
      residualWindow: 4,
      codecFactory: testCodecFactory,
      tiers: [{ name: "memory", store }],
      onEvent: (event) => events.push(event.type),
    });
    for (let t = 0; t < 10; t++) cache.append(0, seededFloats(headDim, 40 + t), seededFloats(headDim, 80 + t));
    const [first] = cache.pageDigests(0, 0);
    await cache.offloadPage(0, 0, first.pageId);
    const [key] = Array.from(store.keys());
    const bytes = (await store.get(key)) as Uint8Array;
    bytes[40] ^= 0x10; // inside the header JSON or positions: the record CRC-32 catches it either way
    await store.put(key, bytes);
    await expect(cache.recallPage(0, 0, first.pageId)).rejects.toThrow(CorruptPageError);
    expect(events).toEqual(["page-offloaded", "corrupt-page"]);
    const queries = seededFloats(headDim, 7).map((q) => q * 4);
    const out = new Float32Array(headDim);
    const weights = new Float32Array(10);
    cache.attend(0, queries, out, { heads: 1, weightsOut: weights });
    expect(Array.from(weights.subarray(0, 4))).toEqual([0, 0, 0, 0]);
    cache.dropPage(0, 0, first.pageId);
    const dropped = new Float32Array(headDim);
    cache.attend(0, queries, dropped, { heads: 1 });
    expect(Array.from(out)).toEqual(Array.from(dropped));
  });
});
