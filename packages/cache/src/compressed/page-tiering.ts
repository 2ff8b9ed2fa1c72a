import type { CacheEvent } from "../cache-event.js";
import { CacheConfigurationError, CorruptPageError, PageStateError } from "../errors.js";
import { decodePageRecord, encodePageRecord, type PageRecord } from "../page-record.js";
import type { PageTier } from "../page-store.js";
import type { LayerStorage } from "./layer-storage.js";
import type { Page } from "./page.js";
import type { PageDigests } from "./page-digests.js";
import { checkRecordMatchesPage, pageToRecord } from "./page-records.js";

/** Store keys of pages private to one session start so; prefix keys are shared between caches. */
const sessionKeyPrefix = "kvpack:session:";

/**
 * Moves pages between memory and the tiers (memory / disk / Redis page stores): offload writes a
 * page's record and frees its blocks, recall reads it back and verifies it before attention may
 * use it. Tracks every write and read in flight, so `settled()` can wait for them.
 */
export class PageTiering {
  private readonly tiers: PageTier[];
  private readonly pending = new Set<Promise<unknown>>();

  constructor(
    tiers: readonly PageTier[],
    private readonly storage: LayerStorage,
    private readonly headDim: number,
    private readonly digests: PageDigests,
    private readonly sessionId: string,
    /** The prefix store key of a pristine page, when its tokens are known. */
    private readonly prefixKeyOf: (page: Page) => string | undefined,
    private readonly emit: (event: CacheEvent) => void,
  ) {
    this.tiers = [...tiers];
  }

  allTiers(): readonly PageTier[] {
    return [...this.tiers];
  }

  tierNames(): readonly string[] {
    return this.tiers.map((tier) => tier.name);
  }

  addTier(tier: PageTier): void {
    if (this.tiers.some((existing) => existing.name === tier.name)) throw new CacheConfigurationError(`tier "${tier.name}" exists already`);
    this.tiers.push(tier);
  }

  /** The named tier, or the first one. */
  tier(name: string | undefined): PageTier {
    const tier = name === undefined ? this.tiers[0] : this.tiers.find((candidate) => candidate.name === name);
    if (tier === undefined) {
      throw new CacheConfigurationError(name === undefined ? "no tier configured: pass `tiers` or call addTier" : `unknown tier "${name}"`);
    }
    return tier;
  }

  track<T>(promise: Promise<T>): Promise<T> {
    this.pending.add(promise);
    const remove = (): void => {
      this.pending.delete(promise);
    };
    promise.then(remove, remove);
    return promise;
  }

  /** Resolves when every offload, recall and delete started so far has finished. */
  async settled(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }

  /** Deletes a freed page's offloaded copy when this session wrote it privately (prefix copies are shared). */
  deletePrivateCopy(page: Page): void {
    if (page.storeKey === undefined || page.tier === undefined || !this.ownsKey(page.storeKey)) return;
    const tier = this.tiers.find((candidate) => candidate.name === page.tier);
    if (tier) this.track(tier.store.delete(page.storeKey).catch(() => false));
  }

  /** A session-private store key written by this cache (not a prefix key, not another session's). */
  ownsKey(key: string): boolean {
    return key.startsWith(`${sessionKeyPrefix}${this.sessionId}:`);
  }

  private storeKeyFor(page: Page): string {
    if (page.pristine) {
      const key = this.prefixKeyOf(page);
      if (key !== undefined) return key;
    }
    return `${sessionKeyPrefix}${this.sessionId}:${page.layer}:${page.kvHead}:${page.id}`;
  }

  /**
   * Writes the page to a tier, then frees its blocks. Until the write completes the page stays
   * resident ("offloading") and attention keeps using it; a failed write leaves it resident.
   */
  offloadPage(layer: number, kvHead: number, pageId: number, tierName?: string): Promise<void> {
    let page: Page;
    let tier: PageTier;
    try {
      page = this.storage.requirePage(layer, kvHead, pageId).page;
      tier = this.tier(tierName);
      if (page.location !== "memory") throw new PageStateError(`page ${pageId} is ${page.location}`);
    } catch (error) {
      return Promise.reject(error);
    }
    const key = this.storeKeyFor(page);
    const bytes = encodePageRecord(pageToRecord(page, this.headDim, this.digests, true));
    const version = page.version;
    page.location = "offloading";
    const work = tier.store.put(key, bytes).then(
      () => {
        if (page.version !== version || page.location !== "offloading") {
          // The page changed or was freed while writing: the stored copy is stale.
          if (page.location === "offloading") page.location = "memory";
          if (key.startsWith(sessionKeyPrefix)) this.track(tier.store.delete(key).catch(() => false));
          return;
        }
        for (const segment of page.segments) {
          segment.keys = undefined;
          segment.values = undefined;
        }
        page.location = "offloaded";
        page.revision += 1;
        page.storeKey = key;
        page.tier = tier.name;
        this.emit({ type: "page-offloaded", layer, kvHead, pageId, tier: tier.name, key });
      },
      (error: unknown) => {
        if (page.location === "offloading") page.location = "memory";
        throw error;
      },
    );
    return this.track(work);
  }

  /**
   * Reads an offloaded page back and verifies it (CRC-32, layout, codec ids, positions). A corrupt
   * or missing page is reported (`corrupt-page` / `page-missing` event) and the promise rejects;
   * the page stays offloaded and is never attended: drop it and recompute its tokens.
   */
  recallPage(layer: number, kvHead: number, pageId: number): Promise<void> {
    let page: Page;
    try {
      page = this.storage.requirePage(layer, kvHead, pageId).page;
      if (page.location !== "offloaded") throw new PageStateError(`page ${pageId} is ${page.location}, not offloaded`);
    } catch (error) {
      return Promise.reject(error);
    }
    const key = page.storeKey as string;
    const tier = this.tier(page.tier);
    const reportCorrupt = (error: unknown): void => {
      if (CorruptPageError.isInstance(error)) this.emit({ type: "corrupt-page", layer, kvHead, pageId, tier: tier.name, key, error });
    };
    // A tier may detect corruption itself (DiskPageStore's file CRC) and reject: same event.
    const fetched = tier.store.get(key).catch((error: unknown) => {
      reportCorrupt(error);
      throw error;
    });
    const work = fetched.then((bytes) => {
      if (bytes === undefined) {
        this.emit({ type: "page-missing", layer, kvHead, pageId, tier: tier.name, key });
        throw new PageStateError(`page ${pageId} is missing from tier "${tier.name}" (key ${key})`);
      }
      let record: PageRecord;
      try {
        record = decodePageRecord(bytes, key);
        checkRecordMatchesPage(record, page, this.headDim, key);
      } catch (error) {
        reportCorrupt(error);
        throw error;
      }
      if (page.location !== "offloaded") return;
      record.segments.forEach((stored, index) => {
        const segment = page.segments[index];
        segment.keys = { codecId: stored.keyCodecId, count: segment.count, dimension: this.headDim, data: stored.keyData as Uint8Array };
        segment.values = { codecId: stored.valueCodecId, count: segment.count, dimension: this.headDim, data: stored.valueData as Uint8Array };
      });
      page.location = "memory";
      page.revision += 1;
      this.emit({ type: "page-recalled", layer, kvHead, pageId, tier: tier.name, key });
    });
    return this.track(work);
  }

  /** Recalls every offloaded page; resolves with how many once all are back. */
  async recallAll(): Promise<number> {
    const recalls: Promise<void>[] = [];
    for (const page of this.storage.allPages()) {
      if (page.location === "offloaded") recalls.push(this.recallPage(page.layer, page.kvHead, page.id));
    }
    await Promise.all(recalls);
    return recalls.length;
  }
}
