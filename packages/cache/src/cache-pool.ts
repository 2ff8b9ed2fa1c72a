import type { CodecFactory } from "./codec-registry.js";
import { CodecRegistry } from "./codec-registry.js";
import { CompressedKVCache, type CompressedKVCacheOptions } from "./compressed/compressed-kv-cache.js";
import { CacheConfigurationError } from "./errors.js";
import type { PageTier } from "./page-store.js";

export interface CachePoolOptions {
  /** Global budget for the bytes all sessions hold in memory (`byteLength()` summed). */
  readonly byteBudget: number;
  /** Options every session starts from (shape, codecs, page size, window, policy factory below). */
  readonly defaults: Omit<CompressedKVCacheOptions, "codecs" | "codecFactory" | "sessionId" | "tiers">;
  readonly codecs?: CodecRegistry;
  readonly codecFactory?: CodecFactory;
  /** Where over-budget pages go. Without a tier, the least recently used sessions are evicted whole. */
  readonly tier?: PageTier;
  /** Called when a session is evicted to meet the budget. */
  readonly onEvict?: (sessionId: string) => void;
}

export interface BudgetReport {
  readonly bytesBefore: number;
  readonly bytesAfter: number;
  readonly offloadedPages: number;
  readonly evictedSessions: readonly string[];
}

/**
 * Many sessions (one compressed cache each, e.g. one per chat) sharing codec instances and one
 * global byte budget. `enforceBudget` frees memory from the least recently used sessions first:
 * offloading their pages to the tier (oldest positions first), else evicting the session.
 */
export class CachePool {
  readonly byteBudget: number;
  readonly codecs: CodecRegistry;
  private readonly defaults: CachePoolOptions["defaults"];
  private readonly tier: PageTier | undefined;
  private readonly onEvict: ((sessionId: string) => void) | undefined;
  /** Insertion order = recency order (least recent first): touched sessions are re-inserted. */
  private readonly sessions = new Map<string, CompressedKVCache>();
  private counter = 0;

  constructor(options: CachePoolOptions) {
    if (!(options.byteBudget > 0)) throw new CacheConfigurationError(`byteBudget must be positive, got ${options.byteBudget}`);
    this.byteBudget = options.byteBudget;
    this.codecs = options.codecs ?? new CodecRegistry(options.codecFactory);
    this.defaults = options.defaults;
    this.tier = options.tier;
    this.onEvict = options.onEvict;
  }

  /** Creates a session; `overrides` replace defaults (a per-session policy, say). */
  create(sessionId?: string, overrides: Partial<CachePoolOptions["defaults"]> = {}): CompressedKVCache {
    const id = sessionId ?? `session-${++this.counter}`;
    if (this.sessions.has(id)) throw new CacheConfigurationError(`session "${id}" exists already`);
    const cache = new CompressedKVCache({
      ...this.defaults,
      ...overrides,
      codecs: this.codecs,
      sessionId: id,
      tiers: this.tier ? [this.tier] : [],
    });
    this.sessions.set(id, cache);
    return cache;
  }

  /** The session's cache (and marks it most recently used). */
  get(sessionId: string): CompressedKVCache | undefined {
    const cache = this.sessions.get(sessionId);
    if (cache) {
      this.sessions.delete(sessionId);
      this.sessions.set(sessionId, cache);
    }
    return cache;
  }

  /** Gets the session and recalls any page the budget offloaded, so attention sees all of it again. */
  async resume(sessionId: string): Promise<CompressedKVCache | undefined> {
    const cache = this.get(sessionId);
    if (cache) await cache.recallAll();
    return cache;
  }

  /** Removes the session and deletes its private offloaded pages from the tier. */
  async release(sessionId: string): Promise<boolean> {
    const cache = this.sessions.get(sessionId);
    if (!cache) return false;
    this.sessions.delete(sessionId);
    await cache.dispose();
    return true;
  }

  sessionIds(): string[] {
    return [...this.sessions.keys()];
  }

  get size(): number {
    return this.sessions.size;
  }

  byteLength(): number {
    let total = 0;
    for (const cache of this.sessions.values()) total += cache.byteLength();
    return total;
  }

  overBudget(): boolean {
    return this.byteLength() > this.byteBudget;
  }

  /**
   * Brings the pool under budget, never touching `protect` (the session about to run).
   * Least recently used sessions go first: with a tier, their pages are offloaded oldest first;
   * a session that still does not fit (or any, without a tier) is evicted whole.
   */
  async enforceBudget(protect?: string): Promise<BudgetReport> {
    const bytesBefore = this.byteLength();
    let bytes = bytesBefore;
    let offloadedPages = 0;
    const evictedSessions: string[] = [];
    for (const [id, cache] of [...this.sessions]) {
      if (bytes <= this.byteBudget) break;
      if (id === protect) continue;
      if (this.tier) {
        const candidates: { layer: number; kvHead: number; pageId: number; firstPosition: number; blockBytes: number }[] = [];
        for (let layer = 0; layer < cache.layers; layer++) {
          for (let kvHead = 0; kvHead < cache.kvHeads; kvHead++) {
            for (const digest of cache.pageDigests(layer, kvHead)) if (digest.location === "memory") candidates.push(digest);
          }
        }
        candidates.sort((a, b) => a.firstPosition - b.firstPosition);
        for (const page of candidates) {
          if (bytes <= this.byteBudget) break;
          await cache.offloadPage(page.layer, page.kvHead, page.pageId, this.tier.name);
          bytes -= page.blockBytes;
          offloadedPages += 1;
        }
      }
      if (bytes > this.byteBudget) {
        bytes -= cache.byteLength();
        this.sessions.delete(id);
        await cache.dispose();
        evictedSessions.push(id);
        this.onEvict?.(id);
      }
    }
    return { bytesBefore, bytesAfter: this.byteLength(), offloadedPages, evictedSessions };
  }
}
