import { createHash } from "node:crypto";
import type { KVCache } from "@kvpack/cache";
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

/**
 * Shares prompt KV between requests, page by page. Page i's key chains a hash over the scope
 * (API key id, model fingerprint, KV configuration) and every token up to the end of page i, so a
 * page is only found by a request with the same tenant, model, codec and exact prefix.
 */
export class PrefixCache {
  constructor(
    private readonly store: TieredPageStore,
    readonly pageTokens: number,
  ) {}

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
