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

/** Connection events RedisPageStore.open listens to (an ioredis `Redis` has them). */
interface RedisConnectionEvents {
  readonly status: string;
  on(event: "ready" | "close" | "end" | "error", listener: (error?: Error) => void): unknown;
}

export interface RedisOpenOptions extends RedisPageStoreOptions {
  /** Called on every client error (connection refused, reset…); the store stays usable and reconnects. */
  readonly onError?: (error: Error) => void;
  /** Per connection attempt (default 2000 ms). */
  readonly connectTimeoutMs?: number;
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
  private connected = true;
  private readyWaiters: (() => void)[] = [];

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

  /**
   * Returns at once with a client that connects (and reconnects) in the background, for callers
   * that treat Redis as an optional tier: while it is down `isAvailable()` is false, commands fail
   * fast (one retry) and `onError` hears about it; nothing throws at start-up.
   */
  static async open(url: string, options: RedisOpenOptions = {}): Promise<RedisPageStore> {
    const { Redis } = await import("ioredis");
    const client = new Redis(url, { lazyConnect: false, maxRetriesPerRequest: 1, connectTimeout: options.connectTimeoutMs ?? 2000, enableReadyCheck: true });
    const store = new RedisPageStore(client as unknown as RedisPageClient, options, true);
    store.watch(client as unknown as RedisConnectionEvents, options.onError);
    return store;
  }

  private watch(client: RedisConnectionEvents, onError: ((error: Error) => void) | undefined): void {
    this.connected = client.status === "ready";
    client.on("ready", () => {
      this.connected = true;
      for (const resolve of this.readyWaiters.splice(0)) resolve();
    });
    client.on("close", () => {
      this.connected = false;
    });
    client.on("end", () => {
      this.connected = false;
    });
    client.on("error", (error) => {
      this.connected = false;
      if (error) onError?.(error);
    });
  }

  /** False while a client made by `open` is not connected (a caller-supplied client counts as connected). */
  isAvailable(): boolean {
    return this.connected;
  }

  /** Resolves once connected; rejects after `timeoutMs` (the store keeps trying in the background). */
  ready(timeoutMs = 3000): Promise<void> {
    if (this.connected) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.readyWaiters = this.readyWaiters.filter((waiter) => waiter !== done);
        reject(new Error(`Redis not ready after ${timeoutMs} ms`));
      }, timeoutMs);
      const done = (): void => {
        clearTimeout(timer);
        resolve();
      };
      this.readyWaiters.push(done);
    });
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
    if (!this.ownsClient) return;
    try {
      await this.client.quit();
    } catch {
      // Never connected: quit rejects; disconnect stops the reconnect loop.
      (this.client as unknown as { disconnect?: () => void }).disconnect?.();
    }
  }
}
