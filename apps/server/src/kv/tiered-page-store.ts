import { CorruptPageError, type PageStore } from "@kvpack/cache";
import type { KvMemoryBudget } from "../scheduling/kv-memory-budget.js";

export type TierName = "memory" | "disk" | "redis";

/** A lower tier: one of @kvpack/cache's byte stores (DiskPageStore, RedisPageStore) under its name. */
export interface LowerTier {
  readonly name: "disk" | "redis";
  readonly store: PageStore;
}

export interface TieredPageStoreOptions {
  budget: KvMemoryBudget;
  /** Most bytes the memory tier may hold (also bounded by the free KV budget). */
  memoryLimitBytes: number;
  lowerTiers: readonly LowerTier[];
  onOffloadedBytes?: (tier: "disk" | "redis", bytes: number) => void;
  onError?: (tier: string, error: unknown) => void;
}

/**
 * Memory → disk → Redis. `put` keeps a copy in memory (LRU, counted in the KV budget) and writes
 * through to every lower tier in the background; `get` looks tier by tier and promotes hits
 * to memory. A lower tier that fails is reported and skipped: pages are a cache, never required
 * (degraded mode). A tier whose store says it is unavailable (Redis disconnected) is skipped without
 * waiting; a corrupt entry (the disk store's CRC-32) is reported, deleted from that tier and
 * treated as a miss.
 */
export class TieredPageStore {
  private readonly memory = new Map<string, Uint8Array>();
  private memoryBytes = 0;
  private readonly pending = new Set<Promise<void>>();
  private readonly writing = new Map<string, Uint8Array>();

  constructor(private readonly options: TieredPageStoreOptions) {}

  get residentBytes(): number {
    return this.memoryBytes;
  }

  get tierNames(): TierName[] {
    return ["memory", ...this.options.lowerTiers.map((tier) => tier.name)];
  }

  /** Whether any tier holds `key` (memory first, then the lower tiers; a failing tier counts as absent). */
  async has(key: string): Promise<boolean> {
    if (this.memory.has(key) || this.writing.has(key)) return true;
    for (const tier of this.available()) {
      try {
        if (await tier.store.get(key)) return true;
      } catch (error) {
        this.failed(tier, key, error);
      }
    }
    return false;
  }

  /** Whether the memory tier holds `key` (no I/O). */
  hasInMemory(key: string): boolean {
    return this.memory.has(key) || this.writing.has(key);
  }

  /** Looks tier by tier; `promote: false` leaves a lower-tier hit out of the memory tier (sessions). */
  async get(key: string, options: { promote?: boolean } = {}): Promise<{ bytes: Uint8Array; tier: TierName } | undefined> {
    const resident = this.memory.get(key);
    if (resident) {
      // Refresh LRU order.
      this.memory.delete(key);
      this.memory.set(key, resident);
      return { bytes: resident, tier: "memory" };
    }
    const inFlight = this.writing.get(key);
    if (inFlight) return { bytes: inFlight, tier: "memory" };
    for (const tier of this.available()) {
      try {
        const bytes = await tier.store.get(key);
        if (bytes) {
          if (options.promote !== false) this.keepInMemory(key, bytes);
          return { bytes, tier: tier.name };
        }
      } catch (error) {
        this.failed(tier, key, error);
      }
    }
    return undefined;
  }

  /** Stores `bytes` in memory (when it fits) and writes it through to the lower tiers. */
  put(key: string, bytes: Uint8Array, options: { memory?: boolean } = {}): void {
    if (options.memory !== false) this.keepInMemory(key, bytes);
    this.writeThrough(key, bytes);
  }

  /** Writes only to the lower tiers (offloading): resolves when every tier has it or failed. */
  offload(key: string, bytes: Uint8Array): Promise<void> {
    return this.writeThrough(key, bytes);
  }

  async delete(key: string): Promise<void> {
    this.dropFromMemory(key);
    await Promise.all(
      this.available().map(async (tier) => {
        try {
          await tier.store.delete(key);
        } catch (error) {
          this.options.onError?.(tier.name, error);
        }
      }),
    );
  }

  /** Drops least-recently-used memory entries until `bytesNeeded` are freed; returns bytes freed. */
  reclaim(bytesNeeded: number): number {
    let freed = 0;
    for (const key of this.memory.keys()) {
      if (freed >= bytesNeeded) break;
      freed += this.dropFromMemory(key);
    }
    return freed;
  }

  /** Waits for every background write (shutdown flush). */
  async flush(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }

  async close(): Promise<void> {
    await this.flush();
    await Promise.all(this.options.lowerTiers.map((tier) => tier.store.close?.().catch(() => undefined)));
    this.reclaim(Number.POSITIVE_INFINITY);
  }

  private keepInMemory(key: string, bytes: Uint8Array): void {
    if (this.memory.has(key)) return;
    if (bytes.length > this.options.memoryLimitBytes) return;
    while (this.memoryBytes + bytes.length > this.options.memoryLimitBytes && this.memory.size > 0) {
      this.dropFromMemory(this.memory.keys().next().value as string);
    }
    // Prefix pages never push out sessions or live requests: no reclaim for them.
    if (!this.options.budget.tryReserve(bytes.length, { reclaim: false })) return;
    this.memory.set(key, bytes);
    this.memoryBytes += bytes.length;
  }

  private dropFromMemory(key: string): number {
    const bytes = this.memory.get(key);
    if (!bytes) return 0;
    this.memory.delete(key);
    this.memoryBytes -= bytes.length;
    this.options.budget.release(bytes.length);
    return bytes.length;
  }

  /** Lower tiers that are not known to be down. */
  private available(): LowerTier[] {
    return this.options.lowerTiers.filter((tier) => tier.store.isAvailable?.() !== false);
  }

  private failed(tier: LowerTier, key: string, error: unknown): void {
    this.options.onError?.(tier.name, error);
    // A torn or corrupted entry would fail again on every read: remove it.
    if (CorruptPageError.isInstance(error)) void tier.store.delete(key).catch(() => undefined);
  }

  private writeThrough(key: string, bytes: Uint8Array): Promise<void> {
    const tiers = this.available();
    if (tiers.length === 0) return Promise.resolve();
    this.writing.set(key, bytes);
    const write = Promise.all(
      tiers.map(async (tier) => {
        try {
          await tier.store.put(key, bytes);
          this.options.onOffloadedBytes?.(tier.name, bytes.length);
        } catch (error) {
          this.options.onError?.(tier.name, error);
        }
      }),
    ).then(() => {
      if (this.writing.get(key) === bytes) this.writing.delete(key);
    });
    this.pending.add(write);
    void write.finally(() => this.pending.delete(write));
    return write;
  }
}
