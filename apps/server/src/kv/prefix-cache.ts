import type { CompressedKVCache, PageStore, PageTier } from "@kvpack/cache";
import type { TierName, TieredPageStore } from "./tiered-page-store.js";

export interface PrefixRestore {
  /** Prompt tokens whose KV came from stored pages. */
  readonly reusedTokens: number;
  /** Slowest tier a page came from, or null on a miss. */
  readonly source: TierName | null;
}

const tierOrder: Record<TierName, number> = { memory: 0, disk: 1, redis: 2 };

/** Name of the tier compressed caches publish their prefix pages to. */
export const prefixTierName = "kvpack-prefix";

/**
 * The tiered store seen as a @kvpack/cache PageStore, for compressed caches' own prefix pages
 * (publishPrefix / restorePrefix). It remembers the slowest tier that served a read, so a
 * response can say where its prefix came from.
 */
class PrefixPageStoreAdapter implements PageStore {
  slowest: TierName | null = null;

  constructor(private readonly store: TieredPageStore) {}

  /** Cache keys look like "kvpack:page:<hex>"; the tiers take [A-Za-z0-9_.-] only. */
  private key(key: string): string {
    return `page-${key.replace(/^kvpack:page:/, "").replace(/[^A-Za-z0-9_.-]/g, "_")}`;
  }

  async put(key: string, bytes: Uint8Array): Promise<void> {
    // Write-behind: memory now, disk and Redis in the background.
    this.store.put(this.key(key), bytes);
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    const hit = await this.store.get(this.key(key));
    if (!hit) return undefined;
    if (this.slowest === null || tierOrder[hit.tier] > tierOrder[this.slowest]) this.slowest = hit.tier;
    return hit.bytes;
  }

  /**
   * Memory only, answered at once: publishing then completes within the same tick, before the
   * response goes out, so the very next request finds the pages. A page that left memory is
   * simply written again.
   */
  async has(key: string): Promise<boolean> {
    return this.store.hasInMemory(this.key(key));
  }

  async delete(key: string): Promise<boolean> {
    await this.store.delete(this.key(key));
    return true;
  }
}

/**
 * Shares prompt KV between requests, page by page, for every cache (the fp32 "dense" one is a
 * CompressedKVCache too): caches publish and restore their own page records through the tiered
 * store. @kvpack/cache chains SHA-256 keys over the cache namespace (API key id, model
 * fingerprint, KV configuration), the codec ids, the layer, the KV head and every token up to the
 * page's end, so a page is only found by a request with the same tenant, model, KV configuration
 * and exact prefix; every record carries a CRC-32 that the cache checks before attending it.
 */
export class PrefixCache {
  private readonly adapters = new WeakMap<CompressedKVCache, PrefixPageStoreAdapter>();

  constructor(private readonly store: TieredPageStore) {}

  /** Attaches the prefix tier to a compressed cache (once) and returns its adapter. */
  private adapterFor(cache: CompressedKVCache): PrefixPageStoreAdapter {
    let adapter = this.adapters.get(cache);
    if (!adapter) {
      adapter = new PrefixPageStoreAdapter(this.store);
      const tier: PageTier = { name: prefixTierName, store: adapter };
      if (!cache.tierNames().includes(prefixTierName)) cache.addTier(tier);
      this.adapters.set(cache, adapter);
    }
    return adapter;
  }

  /** Fills an empty compressed cache with the longest run of stored prefix pages (leaving the last prompt token). */
  async restore(tokens: readonly number[], cache: CompressedKVCache): Promise<PrefixRestore> {
    const adapter = this.adapterFor(cache);
    adapter.slowest = null;
    const reusedTokens = await cache.restorePrefix(tokens, { tier: prefixTierName });
    return { reusedTokens, source: reusedTokens > 0 ? adapter.slowest : null };
  }

  /** Publishes the compressed cache's complete pages whose tokens it recorded (write-behind, errors ignored). */
  publish(cache: CompressedKVCache): void {
    this.adapterFor(cache);
    cache.publishPrefix(prefixTierName).catch(() => undefined);
  }
}
