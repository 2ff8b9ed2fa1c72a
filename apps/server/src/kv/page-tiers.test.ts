import { mkdtempSync, utimesSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { DiskByteStore } from "./page-tiers.js";

describe("DiskByteStore", () => {
  it("stores, reads back, deletes, and sweeps entries older than the TTL", async () => {
    const directory = mkdtempSync(path.join(os.tmpdir(), "kvpack-disk-tier-"));
    const store = new DiskByteStore(directory);
    await store.put("page-old", Uint8Array.from([1, 2, 3]));
    await store.put("page-new", Uint8Array.from([4]));
    expect(Array.from((await store.get("page-old"))!)).toEqual([1, 2, 3]);
    expect(await store.get("page-missing")).toBeUndefined();
    // Age one entry by two hours; a one-hour TTL removes it and keeps the other.
    const old = path.join(directory, "ld", "page-old.bin");
    const twoHoursAgo = (Date.now() - 2 * 3600_000) / 1000;
    utimesSync(old, twoHoursAgo, twoHoursAgo);
    expect(await store.sweep(3600_000)).toBe(1);
    expect(await store.get("page-old")).toBeUndefined();
    expect(await store.delete("page-new")).toBe(true);
    await expect(store.put("../escape", Uint8Array.from([0]))).rejects.toThrow(RangeError);
  });
});
