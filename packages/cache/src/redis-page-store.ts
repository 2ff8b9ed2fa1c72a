import type { PageStore } from "./page-store.js";

/**
 * The commands RedisPageStore needs; an ioredis `Redis` instance satisfies it. Taking an interface
 * keeps ioredis out of the browser bundle and lets callers share one connection.
 */
export interface RedisPageClient {
  set(key: string, value: Buffer): Promise<unknown>;
  set(key: string, value: Buffer, mode: "EX", seconds: number): Promise<unknown>;
  getBuffer(key: string): Promise<Buffer | null>;
  exists(key: string): Promise<number>;
  del(key: string): Promise<number>;
  quit(): Promise<unknown>;
}

export interface RedisPageStoreOptions {
  /** Prepended to every key (default "" — prefix keys are already namespaced "kvpack:page:…"). */
  readonly keyPrefix?: string;
  /** Expire pages after this many seconds (default: never). */
  readonly ttlSeconds?: number;
}

/**
 * Redis tier (Node; import from "@kvpack/cache/redis"). Pages are plain string values; SET is
 * atomic, and every page record carries its CRC-32, which the cache verifies on read. With
 * prefix keys (`CompressedKVCache.publishPrefix` / `restorePrefix`) replicas share pages.
 */
export class RedisPageStore implements PageStore {
  private readonly client: RedisPageClient;
  private readonly ownsClient: boolean;
  private readonly keyPrefix: string;
  private readonly ttlSeconds: number | undefined;

  constructor(client: RedisPageClient, options: RedisPageStoreOptions = {}, ownsClient = false) {
    this.client = client;
    this.ownsClient = ownsClient;
    this.keyPrefix = options.keyPrefix ?? "";
    this.ttlSeconds = options.ttlSeconds;
  }

  /** Connects with ioredis to `url` (e.g. redis://127.0.0.1:6379); `close()` disconnects it. */
  static async connect(url: string, options: RedisPageStoreOptions = {}): Promise<RedisPageStore> {
    const { Redis } = await import("ioredis");
    const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 2 });
    await client.connect();
    return new RedisPageStore(client as unknown as RedisPageClient, options, true);
  }

  async put(key: string, bytes: Uint8Array): Promise<void> {
    const value = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    if (this.ttlSeconds === undefined) await this.client.set(this.keyPrefix + key, value);
    else await this.client.set(this.keyPrefix + key, value, "EX", this.ttlSeconds);
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    const value = await this.client.getBuffer(this.keyPrefix + key);
    return value === null ? undefined : new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  }

  async has(key: string): Promise<boolean> {
    return (await this.client.exists(this.keyPrefix + key)) === 1;
  }

  async delete(key: string): Promise<boolean> {
    return (await this.client.del(this.keyPrefix + key)) === 1;
  }

  /** Disconnects the client if this store created it. */
  async close(): Promise<void> {
    if (this.ownsClient) await this.client.quit();
  }
}
