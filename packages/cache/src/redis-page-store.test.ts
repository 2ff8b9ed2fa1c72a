import { type ChildProcess, spawn } from "node:child_process";
import { createServer } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CacheEvent } from "./cache-event.js";
import { CompressedKVCache } from "./compressed/compressed-kv-cache.js";
import { CorruptPageError } from "./errors.js";
import { RedisPageStore } from "./redis-page-store.js";
import { seededFloats } from "./test-support/test-codecs.js";

/**
 * Against a real redis-server: REDIS_URL when set (CI), otherwise a private one started here
 * (`redis-server --port <free> --save '' --appendonly no`) and killed by pid afterwards.
 */
let server: ChildProcess | undefined;
let url: string;
let store: RedisPageStore;
const keyPrefix = `kvpack-test:${process.pid}:${Date.now()}:`;

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const address = probe.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      probe.close(() => resolve(port));
    });
  });
}

async function connectWithRetry(target: string): Promise<RedisPageStore> {
  let lastError: unknown;
  for (let attempt = 0; attempt < 50; attempt++) {
    try {
      return await RedisPageStore.connect(target, { keyPrefix });
    } catch (error) {
      lastError = error;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  throw lastError;
}

beforeAll(async () => {
  if (process.env.REDIS_URL) {
    url = process.env.REDIS_URL;
  } else {
    const port = await freePort();
    server = spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], {
      stdio: "ignore",
    });
    url = `redis://127.0.0.1:${port}`;
  }
  store = await connectWithRetry(url);
}, 30_000);

afterAll(async () => {
  await store?.close();
  if (server?.pid !== undefined) process.kill(server.pid, "SIGTERM");
});

// A stand-in "model": each token's keys and values depend only on (layer, token id, position),
// so two caches fed the same tokens hold the same rows, as two replicas of one model would.
const layers = 2;
const kvHeads = 2;
const heads = 4;
const headDim = 32;
const stride = kvHeads * headDim;
const keySpec = { kind: "kivi", dimension: headDim, bits: 4, role: "key", groupSize: 32 } as const;
const valueSpec = { kind: "kivi", dimension: headDim, bits: 4, role: "value", groupSize: 32 } as const;

function newCache(events?: CacheEvent[]): CompressedKVCache {
  return new CompressedKVCache({
    layers,
    kvHeads,
    headDim,
    keys: keySpec,
    values: valueSpec,
    namespace: "test-model",
    tiers: [{ name: "redis", store }],
    onEvent: events ? (event) => events.push(event) : undefined,
  });
}

function feed(cache: CompressedKVCache, tokens: readonly number[], from: number): void {
  for (let position = from; position < tokens.length; position++) {
    for (let layer = 0; layer < layers; layer++) {
      const seed = layer * 1_000_003 + tokens[position] * 7919 + position * 13;
      cache.append(layer, seededFloats(stride, seed), seededFloats(stride, seed + 1));
    }
  }
  cache.recordTokens(tokens.slice(from), from);
}

function attention(cache: CompressedKVCache, layer: number): Float32Array {
  const out = new Float32Array(heads * headDim);
  cache.attend(layer, seededFloats(heads * headDim, 4242 + layer), out, { heads });
  return out;
}

const prompt = Array.from({ length: 100 }, (_, i) => (i * 37) % 251);

describe("RedisPageStore (real redis-server)", () => {
  it("round-trips bytes", async () => {
    const bytes = Uint8Array.from({ length: 300 }, (_, i) => i & 0xff);
    await store.put("raw", bytes);
    expect(await store.get("raw")).toEqual(bytes);
    expect(await store.has("raw")).toBe(true);
    expect(await store.delete("raw")).toBe(true);
    expect(await store.get("raw")).toBeUndefined();
  });

  it("open() connects in the background, reports ready, and applies the TTL", async () => {
    const opened = await RedisPageStore.open(url, { keyPrefix: `${keyPrefix}open:`, ttlSeconds: 1 });
    try {
      await opened.ready(5000);
      expect(opened.isAvailable()).toBe(true);
      await opened.put("short-lived", Uint8Array.from([9, 8, 7]));
      expect(await opened.get("short-lived")).toEqual(Uint8Array.from([9, 8, 7]));
      // Redis expires keys with a 1 s TTL within about a second; 2.2 s leaves room on a busy box.
      await new Promise((resolve) => setTimeout(resolve, 2200));
      expect(await opened.has("short-lived")).toBe(false);
    } finally {
      await opened.close();
    }
  });

  it("open() on an unreachable Redis does not throw: it reports errors and says it is unavailable", async () => {
    const deadPort = await freePort(); // nothing listens there
    const errors: Error[] = [];
    const opened = await RedisPageStore.open(`redis://127.0.0.1:${deadPort}`, { onError: (error) => errors.push(error), connectTimeoutMs: 200 });
    try {
      await expect(opened.ready(300)).rejects.toThrow(/not ready after 300 ms/);
      expect(opened.isAvailable()).toBe(false);
      expect(errors.length).toBeGreaterThan(0);
      expect(errors[0].message).toMatch(/ECONNREFUSED/);
      await expect(opened.put("x", Uint8Array.from([1]))).rejects.toThrow();
    } finally {
      await opened.close();
    }
  });

  it("two caches with the same token prefix share pages through Redis", async () => {
    const first = newCache();
    feed(first, prompt, 0);
    // 100 tokens, page 32, window 32 → 3 flushed pages (96 tokens) per layer × head.
    expect(await first.publishPrefix()).toBe(3 * layers * kvHeads);
    expect(await first.publishPrefix()).toBe(0); // already there: nothing rewritten

    const second = newCache();
    const restored = await second.restorePrefix(prompt);
    expect(restored).toBe(96);
    feed(second, prompt, restored);
    expect(second.length()).toBe(100);
    for (let layer = 0; layer < layers; layer++) expect(attention(second, layer)).toEqual(attention(first, layer));
    expect(second.byteLength()).toBe(first.byteLength());

    // A prompt that differs at position 40 shares only the first page: keys chain over the prefix.
    const other = [...prompt];
    other[40] = 999;
    const third = newCache();
    expect(await third.restorePrefix(other)).toBe(32);
  });

  it("a corrupted page in Redis is reported and not used; restore stops before it", async () => {
    const tokens = prompt.map((token) => (token * 3) % 241);
    const writer = newCache();
    feed(writer, tokens, 0);
    await writer.publishPrefix();
    const victim = writer.prefixKey(1, 0, 1) as string;
    const bytes = (await store.get(victim)) as Uint8Array;
    bytes[bytes.length >> 1] ^= 0x01;
    await store.put(victim, bytes);
    const events: CacheEvent[] = [];
    const reader = newCache(events);
    expect(await reader.restorePrefix(tokens)).toBe(32);
    const corrupt = events.filter((event) => event.type === "corrupt-page");
    expect(corrupt).toHaveLength(1);
    expect(corrupt[0]).toMatchObject({ layer: 1, kvHead: 0, key: victim });
    expect(CorruptPageError.isInstance((corrupt[0] as { error: unknown }).error)).toBe(true);
  });

  it("offloads a page to Redis and recalls it bit for bit", async () => {
    const cache = newCache();
    feed(cache, prompt, 0);
    const before = attention(cache, 0);
    const bytesBefore = cache.byteLength();
    const page = cache.pageDigests(0, 1)[2];
    await cache.offloadPage(0, 1, page.pageId);
    expect(cache.byteLength()).toBe(bytesBefore - page.blockBytes);
    expect(attention(cache, 0)).not.toEqual(before);
    await cache.recallPage(0, 1, page.pageId);
    expect(attention(cache, 0)).toEqual(before);
  });
});
