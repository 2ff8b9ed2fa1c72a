import type { CacheEvent } from "../cache-event.js";
import { CacheConfigurationError, CorruptPageError } from "../errors.js";
import { decodePageRecord, encodePageRecord, type PageRecord } from "../page-record.js";
import type { PageTier } from "../page-store.js";
import { nextPrefixKey, prefixRoot, prefixStoreKey } from "../prefix-key.js";
import type { CacheLayout } from "./cache-layout.js";
import type { LayerStorage } from "./layer-storage.js";
import { type Page, sharedAllLive } from "./page.js";
import type { PageDigests } from "./page-digests.js";
import type { PageEncoder } from "./page-encoder.js";
import { pageToRecord } from "./page-records.js";
import type { PageTiering } from "./page-tiering.js";

/**
 * Prefix sharing across caches (as LMCache does): page i of a layer × KV head is stored under
 * key_i = SHA-256(key_{i−1} ‖ tokens of page i ‖ codec ids ‖ layer ‖ KV head), chained from a
 * root that names the model. Records the token ids, memoizes each chain, publishes pristine pages
 * and restores the longest run of verified pages into an empty cache.
 */
export class PrefixSharing {
  private tokenIds = new Int32Array(0);
  private tokenCount = 0;
  /** Memoized key chain per layer × KV head over the recorded tokens. */
  private readonly chains: Uint8Array[][];
  private readonly root: Uint8Array;

  constructor(
    private readonly layout: CacheLayout,
    namespace: string,
    private readonly storage: LayerStorage,
    private readonly encoder: PageEncoder,
    private readonly digests: PageDigests,
    private readonly tiering: PageTiering,
    private readonly emit: (event: CacheEvent) => void,
  ) {
    this.root = prefixRoot(namespace);
    this.chains = Array.from({ length: layout.layers * layout.kvHeads }, () => []);
  }

  get recordedCount(): number {
    return this.tokenCount;
  }

  recordTokens(tokenIds: ArrayLike<number>, startPosition = this.tokenCount): void {
    if (!(Number.isInteger(startPosition) && startPosition >= 0 && startPosition <= this.tokenCount)) {
      throw new CacheConfigurationError(`recordTokens: startPosition ${startPosition} must be in [0, ${this.tokenCount}]`);
    }
    const end = startPosition + tokenIds.length;
    if (end > this.tokenIds.length) {
      const grown = new Int32Array(Math.max(end, this.tokenIds.length * 2, 256));
      grown.set(this.tokenIds.subarray(0, this.tokenCount));
      this.tokenIds = grown;
    }
    for (let i = 0; i < tokenIds.length; i++) {
      const id = tokenIds[i];
      if (!Number.isInteger(id)) throw new CacheConfigurationError(`recordTokens: token id ${id} is not an integer`);
      this.tokenIds[startPosition + i] = id;
    }
    if (startPosition < this.tokenCount) this.forgetChainsFrom(startPosition);
    this.tokenCount = end;
  }

  /** Forgets recorded tokens from `length` on (truncation). */
  truncate(length: number): void {
    if (length < this.tokenCount) this.tokenCount = length;
    this.forgetChainsFrom(length);
  }

  /** Empties the recorded tokens (before a restore or an import). */
  reset(): void {
    this.tokenCount = 0;
  }

  private forgetChainsFrom(position: number): void {
    const keptPages = Math.floor(position / this.layout.pageSize);
    for (const chain of this.chains) if (chain.length > keptPages) chain.length = keptPages;
  }

  recordedTokens(): Int32Array {
    return this.tokenIds.slice(0, this.tokenCount);
  }

  /** Store key of page `pageIndex` for the recorded tokens (or `tokenIds`); undefined when its tokens are unknown. */
  prefixKey(layer: number, kvHead: number, pageIndex: number, tokenIds?: ArrayLike<number>): string | undefined {
    const state = this.storage.layer(layer);
    this.storage.checkKvHead(kvHead);
    const { pageSize } = this.layout;
    const tokens = tokenIds ?? this.tokenIds.subarray(0, this.tokenCount);
    if (!(Number.isInteger(pageIndex) && pageIndex >= 0) || (pageIndex + 1) * pageSize > tokens.length) return undefined;
    // The chain over the recorded tokens is memoized; keys for other tokens are computed afresh.
    const chain = tokenIds === undefined ? this.chains[layer * this.layout.kvHeads + kvHead] : [];
    let previous = chain.length > 0 ? chain[chain.length - 1] : this.root;
    for (let index = chain.length; index <= pageIndex; index++) {
      const start = index * pageSize;
      const slice = Array.prototype.slice.call(tokens, start, start + pageSize) as number[];
      previous = nextPrefixKey(previous, slice, state.keyCodec.codecId, state.valueCodec.codecId, layer, kvHead);
      chain.push(previous);
    }
    return prefixStoreKey(chain[pageIndex]);
  }

  /** Writes every pristine resident page whose tokens are recorded (keys already present are skipped). */
  async publishPrefix(tierName?: string): Promise<number> {
    const tier = this.tiering.tier(tierName);
    const writes: Promise<boolean>[] = [];
    for (const page of this.storage.allPages()) {
      if (!page.pristine || page.location === "offloaded") continue;
      const key = this.prefixKey(page.layer, page.kvHead, page.firstPosition / this.layout.pageSize);
      if (key === undefined) continue;
      const bytes = encodePageRecord(pageToRecord(page, this.layout.headDim, this.digests, true));
      writes.push(
        tier.store.has(key).then(async (present) => {
          if (present) return false;
          await tier.store.put(key, bytes);
          return true;
        }),
      );
    }
    const results = await Promise.all(writes);
    return results.filter(Boolean).length;
  }

  /**
   * Fills an empty cache with the longest run of prefix pages found for `tokenIds` (every layer ×
   * KV head of a page present and verified). Returns the positions restored; by default at least
   * one token is left to compute, so the caller gets logits for the last prompt token.
   */
  async restorePrefix(tokenIds: ArrayLike<number>, options: { tier?: string; leaveLast?: boolean } = {}): Promise<number> {
    for (const state of this.storage.layers) {
      if (state.length !== 0) throw new CacheConfigurationError("restorePrefix needs an empty cache (truncate(0) first)");
    }
    const { pageSize } = this.layout;
    const tier = this.tiering.tier(options.tier);
    const usable = (options.leaveLast ?? true) ? tokenIds.length - 1 : tokenIds.length;
    const maxPages = Math.max(0, Math.floor(usable / pageSize));
    this.tokenCount = 0;
    this.recordTokens(Array.prototype.slice.call(tokenIds, 0, maxPages * pageSize) as number[], 0);
    let restoredPages: number;
    try {
      await this.restorePages(tier, maxPages);
    } finally {
      // Whatever was installed before an error stays, consistent across layers.
      restoredPages = this.storage.layers[0].length / pageSize;
      this.tokenCount = restoredPages * pageSize;
      this.forgetChainsFrom(this.tokenCount);
    }
    return restoredPages * pageSize;
  }

  private async restorePages(tier: PageTier, maxPages: number): Promise<void> {
    const { layers, kvHeads, pageSize } = this.layout;
    for (let pageIndex = 0; pageIndex < maxPages; pageIndex++) {
      const lookups: Promise<{ layer: number; kvHead: number; key: string; bytes: Uint8Array | undefined | CorruptPageError }>[] = [];
      for (let layer = 0; layer < layers; layer++) {
        for (let kvHead = 0; kvHead < kvHeads; kvHead++) {
          const key = this.prefixKey(layer, kvHead, pageIndex) as string;
          const bytes = tier.store.get(key).catch((error: unknown) => {
            if (CorruptPageError.isInstance(error)) return error;
            throw error;
          });
          lookups.push(bytes.then((result) => ({ layer, kvHead, key, bytes: result })));
        }
      }
      const found = await Promise.all(lookups);
      const pages: Page[] = [];
      for (const { layer, kvHead, key, bytes } of found) {
        if (bytes === undefined) return;
        try {
          if (CorruptPageError.isInstance(bytes)) throw bytes;
          pages.push(this.pageFromRecord(decodePageRecord(bytes, key), key, layer, kvHead, pageIndex));
        } catch (error) {
          if (!CorruptPageError.isInstance(error)) throw error;
          this.emit({ type: "corrupt-page", layer, kvHead, pageId: undefined, tier: tier.name, key, error });
          return;
        }
      }
      // Install page by page, so a tier error on a later page leaves a consistent cache.
      for (const page of pages) this.storage.layers[page.layer].pages[page.kvHead].push(page);
      for (const state of this.storage.layers) {
        state.length = (pageIndex + 1) * pageSize;
        state.residualStart = state.length;
      }
    }
  }

  /** A resident pristine page from a verified prefix record. */
  private pageFromRecord(record: PageRecord, key: string, layer: number, kvHead: number, pageIndex: number): Page {
    const { pageSize, headDim } = this.layout;
    const state = this.storage.layers[layer];
    const expectFirst = pageIndex * pageSize;
    const segment = record.segments[0];
    if (
      record.layer !== layer ||
      record.kvHead !== kvHead ||
      record.firstPosition !== expectFirst ||
      record.headDim !== headDim ||
      record.segments.length !== 1 ||
      segment.keyData === undefined ||
      segment.valueData === undefined ||
      segment.keyCodecId !== state.keyCodec.codecId ||
      segment.valueCodecId !== state.valueCodec.codecId ||
      segment.positions.length !== pageSize ||
      segment.positions.some((position, i) => position !== expectFirst + i) ||
      segment.live.some((flag) => flag !== 1)
    ) {
      throw new CorruptPageError("prefix record does not match the expected page", key);
    }
    const page: Page = {
      id: this.encoder.nextId(),
      layer,
      kvHead,
      firstPosition: expectFirst,
      segments: [
        {
          count: pageSize,
          start: expectFirst,
          explicitPositions: undefined,
          live: sharedAllLive(pageSize),
          liveShared: true,
          liveCount: pageSize,
          keyCodec: state.keyCodec,
          valueCodec: state.valueCodec,
          keys: { codecId: segment.keyCodecId, count: pageSize, dimension: headDim, data: segment.keyData },
          values: { codecId: segment.valueCodecId, count: pageSize, dimension: headDim, data: segment.valueData },
          keyByteLength: segment.keyData.length,
          valueByteLength: segment.valueData.length,
        },
      ],
      digest: this.digests.create(),
      location: "memory",
      storeKey: key,
      tier: undefined,
      pristine: true,
      version: 0,
      revision: 0,
    };
    // The writer may have kept no digest (or this cache wants one): take it or compute it.
    this.digests.adopt(page, record.keyMin, record.keyMax);
    return page;
  }
}
