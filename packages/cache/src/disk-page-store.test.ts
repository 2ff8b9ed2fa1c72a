import { fork } from "node:child_process";
import { mkdtemp, readdir, readFile, rm, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CompressedKVCache } from "./compressed/compressed-kv-cache.js";
import { DiskPageStore } from "./disk-page-store.js";
import { CorruptPageError } from "./errors.js";
import type { CacheEvent } from "./cache-event.js";
import { createTestCodec, seededFloats } from "./test-support/test-codecs.js";
import { transpileForChild } from "./test-support/transpile-for-child.js";

const here = dirname(fileURLToPath(import.meta.url));
let scratch: string;

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), "kvpack-disk-"));
});

afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

/** Same bytes the child writes for a sequence number (see disk-writer-child.mjs). */
function pagePayload(sequence: number, length: number): Uint8Array {
  const bytes = new Uint8Array(length);
  new DataView(bytes.buffer).setUint32(0, sequence, true);
  for (let i = 4; i < length; i++) bytes[i] = (sequence * 131 + i * 7) & 0xff;
  return bytes;
}

/** Plain loop: vitest's deep equality is far too slow on 512 KiB arrays. */
function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

describe("DiskPageStore", () => {
  it("round-trips pages, lists keys, deletes", async () => {
    const store = await DiskPageStore.open(join(scratch, "basic"));
    const bytes = pagePayload(7, 1000);
    await store.put("kvpack:page:ab/cd é", bytes);
    expect(await store.get("kvpack:page:ab/cd é")).toEqual(bytes);
    expect(await store.has("kvpack:page:ab/cd é")).toBe(true);
    expect(await store.keys()).toEqual(["kvpack:page:ab/cd é"]);
    expect(await store.get("absent")).toBeUndefined();
    expect(await store.delete("kvpack:page:ab/cd é")).toBe(true);
    expect(await store.has("kvpack:page:ab/cd é")).toBe(false);
  });

  it("sweep removes pages and temp files older than the age limit, and keeps newer ones", async () => {
    const directory = join(scratch, "sweep");
    const store = await DiskPageStore.open(directory);
    await store.put("page-old", pagePayload(1, 64));
    await store.put("page-new", pagePayload(2, 64));
    await writeFile(join(directory, "page-old.page.999.0.tmp"), "stray");
    // Age one page and the stray temp file by two hours; a one-hour limit removes both.
    const twoHoursAgo = (Date.now() - 2 * 3600_000) / 1000;
    await utimes(join(directory, "page-old.page"), twoHoursAgo, twoHoursAgo);
    await utimes(join(directory, "page-old.page.999.0.tmp"), twoHoursAgo, twoHoursAgo);
    expect(await store.sweep(3600_000)).toBe(2);
    expect(await store.get("page-old")).toBeUndefined();
    expect(await store.get("page-new")).toEqual(pagePayload(2, 64));
    expect(await store.keys()).toEqual(["page-new"]);
    expect(await new DiskPageStore(join(scratch, "never-created")).sweep(0)).toBe(0);
    await expect(store.sweep(-1)).rejects.toThrow(/maxAgeMs/);
    // clear() removes the rest and the then empty directory.
    expect(await store.clear()).toBe(1);
    await expect(readdir(directory)).rejects.toMatchObject({ code: "ENOENT" });
  });

  it("keys that look like paths stay inside the directory", async () => {
    const directory = join(scratch, "escape");
    const store = await DiskPageStore.open(directory);
    await store.put("../escape", pagePayload(3, 16));
    expect(await readdir(directory)).toEqual(["%2E%2E%2Fescape.page"]);
    expect(await store.get("../escape")).toEqual(pagePayload(3, 16));
  });

  it("detects a flipped byte and a truncated file (CorruptPageError, never the bytes)", async () => {
    const directory = join(scratch, "corrupt");
    const store = await DiskPageStore.open(directory);
    await store.put("a", pagePayload(1, 4096));
    await store.put("b", pagePayload(2, 4096));
    const [fileA, fileB] = (await readdir(directory)).sort();
    const a = await readFile(join(directory, fileA));
    a[2000] ^= 0x10; // one bit in the payload
    await writeFile(join(directory, fileA), a);
    await expect(store.get("a")).rejects.toBeInstanceOf(CorruptPageError);
    const b = await readFile(join(directory, fileB));
    await writeFile(join(directory, fileB), b.subarray(0, b.length - 100)); // torn tail
    await expect(store.get("b")).rejects.toThrow(/does not match its header/);
  });

  it("a writer SIGKILLed mid-write loses no completed page and never serves a torn one", async () => {
    const modules = join(scratch, "modules");
    await transpileForChild(["disk-page-store.ts", "crc32.ts", "errors.ts"], modules);
    const directory = join(scratch, "crash");
    const pageBytes = 512 * 1024; // large enough that a kill often lands inside a write
    const distinctKeys = 12; // keys are overwritten, so a kill can also hit a replace
    const kills = [40, 95, 170, 260, 380]; // ms after the first completed put of each round
    let totalCompleted = 0;
    for (const delay of kills) {
      const child = fork(join(here, "test-support", "disk-writer-child.mjs"), [modules, directory, String(pageBytes), String(distinctKeys)], {
        stdio: ["ignore", "ignore", "inherit", "ipc"],
      });
      let lastCompleted = -1;
      const exited = new Promise<void>((resolve) => child.on("exit", () => resolve()));
      await new Promise<void>((resolve, reject) => {
        child.on("error", reject);
        child.on("message", (message: { completed: number }) => {
          if (lastCompleted < 0) setTimeout(resolve, delay);
          lastCompleted = message.completed;
        });
      });
      child.kill("SIGKILL");
      await exited;
      expect(lastCompleted).toBeGreaterThanOrEqual(0);
      totalCompleted += lastCompleted + 1;
      // Reopen after the crash: every key holds a complete, verified page of its own key, and the
      // newest completed write of each key is never lost (a later one may have finished too).
      const store = await DiskPageStore.open(directory);
      for (let key = 0; key < distinctKeys; key++) {
        const bytes = await store.get(`page-${key}`);
        const newestCompleted = lastCompleted - ((((lastCompleted - key) % distinctKeys) + distinctKeys) % distinctKeys);
        if (bytes === undefined) {
          expect(newestCompleted).toBeLessThan(0);
          continue;
        }
        const sequence = new DataView(bytes.buffer, bytes.byteOffset).getUint32(0, true);
        expect(sequence % distinctKeys).toBe(key);
        expect(sameBytes(bytes, pagePayload(sequence, pageBytes))).toBe(true);
        // Within a round the child writes sequences upward from 0, so a stored page of this round
        // is at least the newest completed one; pages of earlier rounds had their own sequences.
        if (newestCompleted >= 0) expect(sequence).toBeGreaterThanOrEqual(newestCompleted);
      }
      expect((await readdir(directory)).filter((name) => name.endsWith(".tmp"))).toEqual([]);
    }
    expect(totalCompleted).toBeGreaterThan(3);
  });

  it("the cache reports a corrupt offloaded page and never attends it", async () => {
    const directory = join(scratch, "cache-tier");
    const store = await DiskPageStore.open(directory);
    const fp32 = createTestCodec({ kind: "fp32", dimension: 8 });
    const events: CacheEvent[] = [];
    const cache = new CompressedKVCache({
      layers: 1,
      kvHeads: 1,
      headDim: 8,
      keys: fp32,
      values: fp32,
      pageSize: 4,
      residualWindow: 4,
      tiers: [{ name: "disk", store }],
      onEvent: (event) => events.push(event),
    });
    for (let position = 0; position < 9; position++) cache.append(0, seededFloats(8, position), seededFloats(8, 100 + position));
    const [first] = cache.pageDigests(0, 0);
    await cache.offloadPage(0, 0, first.pageId);
    expect(cache.pageDigests(0, 0)[0].location).toBe("offloaded");
    const [file] = await readdir(directory);
    const bytes = await readFile(join(directory, file));
    bytes[bytes.length - 10] ^= 0xff;
    await writeFile(join(directory, file), bytes);
    await expect(cache.recallPage(0, 0, first.pageId)).rejects.toBeInstanceOf(CorruptPageError);
    expect(events.map((event) => event.type)).toEqual(["page-offloaded", "corrupt-page"]);
    expect(cache.pageDigests(0, 0)[0].location).toBe("offloaded");
    // The caller recomputes: drop the page; attention now covers positions 4–8 only.
    cache.dropPage(0, 0, first.pageId);
    const weights = new Float32Array(9);
    cache.attend(0, seededFloats(8, 55), new Float32Array(8), { heads: 1, weightsOut: weights });
    expect(Array.from(weights.subarray(0, 4))).toEqual([0, 0, 0, 0]);
    expect(weights.subarray(4).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 6);
  });
});
