import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { CorruptPageError, MemoryPageStore, type PageStore } from "@kvpack/cache";
import { DiskPageStore } from "@kvpack/cache/node";
import { describe, expect, it } from "vitest";
import { KvMemoryBudget } from "../scheduling/kv-memory-budget.js";
import { TieredPageStore } from "./tiered-page-store.js";

function bytes(length: number, seed: number): Uint8Array {
  return Uint8Array.from({ length }, (_, i) => (seed * 31 + i) & 0xff);
}

/** A store that is down: every call rejects, and it may say so up front. */
class DownStore implements PageStore {
  calls = 0;
  constructor(private readonly saysUnavailable: boolean) {}
  isAvailable(): boolean {
    return !this.saysUnavailable;
  }
  private fail(): Promise<never> {
    this.calls++;
    return Promise.reject(new Error("connection refused"));
  }
  put(): Promise<void> {
    return this.fail();
  }
  get(): Promise<Uint8Array | undefined> {
    return this.fail();
  }
  has(): Promise<boolean> {
    return this.fail();
  }
  delete(): Promise<boolean> {
    return this.fail();
  }
}

describe("TieredPageStore", () => {
  it("keeps memory within its limit and the KV budget, writes through, and promotes lower-tier hits", async () => {
    const budget = new KvMemoryBudget(1000);
    const disk = new MemoryPageStore();
    const store = new TieredPageStore({ budget, memoryLimitBytes: 300, lowerTiers: [{ name: "disk", store: disk }] });
    store.put("a", bytes(200, 1));
    store.put("b", bytes(200, 2)); // 400 > 300: "a" leaves memory (least recently used)
    await store.flush();
    expect(store.residentBytes).toBe(200);
    expect(budget.used).toBe(200);
    expect(disk.size).toBe(2);
    const hit = await store.get("a");
    expect(hit?.tier).toBe("disk");
    expect(hit?.bytes).toEqual(bytes(200, 1));
    expect((await store.get("a"))?.tier).toBe("memory"); // promoted, "b" pushed out
    expect(store.reclaim(1)).toBe(200);
    expect(budget.used).toBe(0);
  });

  it("a corrupt disk page is rejected by its CRC, reported, deleted, and read as a miss", async () => {
    const directory = mkdtempSync(path.join(os.tmpdir(), "kvpack-tiered-"));
    const disk = new DiskPageStore(directory, { durable: false });
    const errors: unknown[] = [];
    const store = new TieredPageStore({
      budget: new KvMemoryBudget(10_000),
      memoryLimitBytes: 0, // nothing stays in memory: every read goes to disk
      lowerTiers: [{ name: "disk", store: disk }],
      onError: (_tier, error) => errors.push(error),
    });
    store.put("page-1", bytes(500, 3));
    await store.flush();
    expect((await store.get("page-1"))?.bytes).toEqual(bytes(500, 3));
    const [file] = readdirSync(directory);
    const onDisk = readFileSync(path.join(directory, file));
    onDisk[300] ^= 0x04;
    writeFileSync(path.join(directory, file), onDisk);
    expect(await store.get("page-1")).toBeUndefined();
    expect(errors).toHaveLength(1);
    expect(CorruptPageError.isInstance(errors[0])).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 50)); // the delete runs in the background
    expect(await disk.has("page-1")).toBe(false);
  });

  it("degraded mode: a failing tier is reported and skipped; an unavailable one is not even called", async () => {
    const failing = new DownStore(false);
    const unavailable = new DownStore(true);
    const disk = new MemoryPageStore();
    const errors: string[] = [];
    const store = new TieredPageStore({
      budget: new KvMemoryBudget(10_000),
      memoryLimitBytes: 0,
      lowerTiers: [
        { name: "redis", store: unavailable },
        { name: "redis", store: failing },
        { name: "disk", store: disk },
      ],
      onError: (tier) => errors.push(tier),
    });
    await store.offload("k", bytes(10, 4));
    expect(disk.size).toBe(1);
    expect((await store.get("k"))?.tier).toBe("disk");
    expect(failing.calls).toBe(2); // one put, one get
    expect(unavailable.calls).toBe(0);
    expect(errors).toEqual(["redis", "redis"]);
  });
});
