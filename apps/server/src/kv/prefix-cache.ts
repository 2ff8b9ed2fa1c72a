import { createHash } from "node:crypto";
import type { CompressedKVCache, KVCache, PageStore, PageTier } from "@kvpack/cache";
import { decodePrefixPage, encodePrefixPage, type PrefixPage } from "./prefix-page.js";
import { replayRows, type RecordingKVCache } from "./recording-kv-cache.js";
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
 * Shares prompt KV between requests, page by page.
 *
 * Compressed caches share their own compressed page records: @kvpack/cache chains SHA-256 keys
 * over the cache namespace (API key id, model fingerprint, KV configuration), the codec ids, the
 * layer, the KV head and every token up to the page's end. The dense fp32 cache, which has no
 * pages, shares the exact rows it appended (below). Page i's key chains a hash over the scope
 * (API key id, model fingerprint, KV configuration) and every token up to the end of page i, so a
 * page is only found by a request with the same tenant, model, codec and exact prefix.
 */
export class PrefixCache {
  private readonly adapters = new WeakMap<CompressedKVCache, PrefixPageStoreAdapter>();

  constructor(
    private readonly store: TieredPageStore,
    readonly pageTokens: number,
  ) {}

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
  async restoreCompressed(tokens: readonly number[], cache: CompressedKVCache): Promise<PrefixRestore> {
    const adapter = this.adapterFor(cache);
    adapter.slowest = null;
    const reusedTokens = await cache.restorePrefix(tokens, { tier: prefixTierName });
    return { reusedTokens, source: reusedTokens > 0 ? adapter.slowest : null };
  }

  /** Publishes the compressed cache's complete pages whose tokens it recorded (write-behind, errors ignored). */
  publishCompressed(cache: CompressedKVCache): void {
    this.adapterFor(cache);
    cache.publishPrefix(prefixTierName).catch(() => undefined);
  }

  /** Store keys of the first `pages` pages of `tokens`. */
  pageKeys(scope: string, tokens: readonly number[], pages: number): string[] {
    const keys: string[] = [];
    let previous = createHash("sha256").update(`kvpack-server-prefix-v1\u0000${scope}`).digest();
    const buffer = Buffer.alloc(this.pageTokens * 4);
    for (let page = 0; page < pages; page++) {
      for (let i = 0; i < this.pageTokens; i++) buffer.writeInt32LE(tokens[page * this.pageTokens + i], i * 4);
      previous = createHash("sha256").update(previous).update(buffer).digest();
      keys.push(`prefix-${previous.toString("hex")}`);
    }
    return keys;
  }

  /**
   * Appends the longest stored page-aligned prefix of `tokens` to the empty `cache`. At least one
   * prompt token is always left to compute, since its logits start generation.
   */
  async restore(scope: string, tokens: readonly number[], cache: KVCache): Promise<PrefixRestore> {
    const pages = Math.floor((tokens.length - 1) / this.pageTokens);
    if (pages <= 0) return { reusedTokens: 0, source: null };
    const keys = this.pageKeys(scope, tokens, pages);
    const expected = { layers: cache.layers, rowFloats: cache.kvHeads * cache.headDim };
    const found: PrefixPage[] = [];
    let source: TierName | null = null;
    for (let page = 0; page < pages; page++) {
      const hit = await this.store.get(keys[page]);
      if (!hit) break;
      let decoded: PrefixPage;
      try {
        decoded = decodePrefixPage(hit.bytes, expected);
      } catch {
        await this.store.delete(keys[page]);
        break;
      }
      // The hash already binds the tokens; checking them again guards against a poisoned store.
      const start = page * this.pageTokens;
      let same = decoded.tokenIds.length === this.pageTokens;
      for (let i = 0; same && i < this.pageTokens; i++) same = decoded.tokenIds[i] === tokens[start + i];
      if (!same) break;
      found.push(decoded);
      if (source === null || tierOrder[hit.tier] > tierOrder[source]) source = hit.tier;
    }
    for (const page of found) replayRows(cache, page.keys, page.values, this.pageTokens);
    return { reusedTokens: found.length * this.pageTokens, source };
  }

  /** Stores every complete prompt page the recording covers (pages already in memory are skipped). */
  publish(scope: string, promptTokens: readonly number[], recording: RecordingKVCache): number {
    const from = recording.recordedFrom;
    const recordedEnd = from + recording.recordedTokens;
    const firstPage = Math.ceil(from / this.pageTokens);
    const endPage = Math.floor(Math.min(recordedEnd, promptTokens.length) / this.pageTokens);
    if (endPage <= firstPage) return 0;
    const keys = this.pageKeys(scope, promptTokens, endPage);
    const rowFloats = recording.kvHeads * recording.headDim;
    let published = 0;
    for (let page = firstPage; page < endPage; page++) {
      if (this.store.hasInMemory(keys[page])) continue;
      const start = page * this.pageTokens;
      const rows = recording.recordedRange(start - from, start - from + this.pageTokens);
      const bytes = encodePrefixPage(promptTokens.slice(start, start + this.pageTokens), recording.layers, rowFloats, rows.keys, rows.values);
      this.store.put(keys[page], bytes);
      published++;
    }
    return published;
  }
}
