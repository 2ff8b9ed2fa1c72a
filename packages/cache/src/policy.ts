import type { CodecSpec } from "@kvpack/codecs";
import type { MemoryReport } from "./memory-report.js";

/**
 * The contract between a compressed cache and a retention policy (StreamingLLM, H2O, SnapKV,
 * ArkVale, MiKV …, implemented in @kvpack/policies).
 *
 * Flow per decoding step: the runtime appends a token and calls `attend` for each layer; after
 * each layer's attention the cache calls `observe` with that layer's attention weights; after the
 * last layer (or when the caller runs `cache.applyPolicy()`), the cache calls `decide` and applies
 * the returned actions. At every page flush the cache may ask `planFlush` which codec each row of
 * the new page gets (mixed precision per token). Policies never touch bytes: they only see
 * statistics and digests, and answer with actions.
 */
export type PageLocation = "memory" | "offloading" | "offloaded";

/** What a policy sees about one page of one layer × KV head. */
export interface PageDigest {
  /** Stable id for actions (unique within a cache; never reused). */
  readonly pageId: number;
  readonly layer: number;
  readonly kvHead: number;
  /** The page covers positions [firstPosition, firstPosition + pageSize). */
  readonly firstPosition: number;
  /** Rows stored (live or masked). */
  readonly tokenCount: number;
  /** Rows still attended. */
  readonly liveCount: number;
  /** "offloading": bytes still in memory and attended while the store write completes. */
  readonly location: PageLocation;
  /** Codec ids of the page's segments (one segment unless re-encoded per token). */
  readonly keyCodecIds: readonly string[];
  readonly valueCodecIds: readonly string[];
  /** Block bytes when resident (keys + values), independent of location. */
  readonly blockBytes: number;
  /**
   * Per-channel bounding box of the page's live keys as attention sees them (decoded), headDim
   * each: q·k ≤ Σᵢ max(qᵢ·keyMin[i], qᵢ·keyMax[i]) for every key of the page (ArkVale bound).
   * Empty (length 0) unless the cache was built with `keyDigests: true` (see
   * `PolicyCacheView.keyDigests`). Decoded from the cache's stored format (`keyDigestFormat`,
   * rounded outward, so the box may be wider than the keys); after drops the box may also be wider
   * than the live keys. Both keep the bound valid.
   */
  readonly keyMin: Float32Array;
  readonly keyMax: Float32Array;
  /** Key in the tier store once the page was offloaded. */
  readonly storeKey: string | undefined;
  /** Tier that holds the offloaded copy. */
  readonly tier: string | undefined;
}

/** Attention of one layer at one step, reported right after the cache computed it. */
export interface AttentionStatistics {
  readonly layer: number;
  /** Decoding step (number of `attend` calls on layer 0 so far, minus one). */
  readonly step: number;
  /** Query heads; query head h reads KV head floor(h / (heads / kvHeads)). */
  readonly heads: number;
  readonly kvHeads: number;
  /** Positions 0 … length−1 of the layer. */
  readonly length: number;
  /**
   * Softmax weights, heads × length, 0 at dropped or offloaded positions. Valid only during the
   * call (the buffer is reused): copy what you keep.
   */
  readonly weights: Float32Array;
  /** The step's queries, heads × headDim (valid only during the call). */
  readonly queries: Float32Array;
}

/** Read-only view of the cache a policy decides from. */
export interface PolicyCacheView {
  readonly layers: number;
  readonly kvHeads: number;
  readonly headDim: number;
  readonly pageSize: number;
  readonly residualWindow: number;
  /** Whether pages carry key digests (`keyMin`/`keyMax`); ArkVale-style policies need it. */
  readonly keyDigests: boolean;
  /** Completed decoding steps (attend calls on layer 0). */
  readonly step: number;
  length(layer?: number): number;
  /** Pages of one layer × KV head, in position order. */
  pageDigests(layer: number, kvHead: number): readonly PageDigest[];
  /** Positions held in the full-precision residual window: [start, end). */
  residualRange(layer: number): { readonly start: number; readonly end: number };
  /** Whether `position` is still attended for this KV head (not dropped; offloaded counts as live). */
  isLive(layer: number, kvHead: number, position: number): boolean;
  /** Attended positions of one layer × KV head (pages in any location plus residual). */
  liveCount(layer: number, kvHead: number): number;
  /** The cache's codec specs for new pages of `layer`. */
  codecSpecs(layer: number): { readonly keys: CodecSpec; readonly values: CodecSpec };
  /** Tier names the cache can offload to, first is the default. */
  tierNames(): readonly string[];
  byteLength(): number;
  memoryReport(): MemoryReport;
}

/** Handed to `planFlush` when the residual window turns into a page. */
export interface FlushContext {
  readonly layer: number;
  readonly kvHead: number;
  /** Positions of the live rows about to be encoded, ascending. */
  readonly positions: Int32Array;
  /**
   * Full-precision rows, positions.length × headDim (valid only during the call). The page is
   * encoded from these arrays after planFlush returns, so a policy may rewrite rows in place
   * (MiniCache writes merged rows here).
   */
  readonly keys: Float32Array;
  readonly values: Float32Array;
}

/** Rows of a new page that go into one segment with the given codecs (default: the layer's). */
export interface FlushSegmentPlan {
  readonly positions: ArrayLike<number>;
  readonly keys?: CodecSpec;
  readonly values?: CodecSpec;
}

export type PolicyAction =
  /** Leave the page as it is (explicit no-op, useful in logs). */
  | { readonly kind: "keep"; readonly layer: number; readonly kvHead: number; readonly pageId: number }
  /**
   * Keep the page at another rate: decode its live rows (only `positions` when given) and
   * re-encode them with these codecs; dropped rows are compacted away.
   */
  | {
      readonly kind: "reencode";
      readonly layer: number;
      readonly kvHead: number;
      readonly pageId: number;
      readonly keys?: CodecSpec;
      readonly values?: CodecSpec;
      readonly positions?: ArrayLike<number>;
    }
  /** Write the page to a tier and free its blocks; attention skips it until recalled. */
  | { readonly kind: "offload"; readonly layer: number; readonly kvHead: number; readonly pageId: number; readonly tier?: string }
  /** Read an offloaded page back (verified) so attention uses it again. */
  | { readonly kind: "recall"; readonly layer: number; readonly kvHead: number; readonly pageId: number }
  /** Mask positions out of attention for one KV head (or all when kvHead is omitted); frees emptied pages. */
  | { readonly kind: "drop"; readonly layer: number; readonly kvHead?: number; readonly positions: ArrayLike<number> }
  /** Drop a whole page (all its rows). */
  | { readonly kind: "drop-page"; readonly layer: number; readonly kvHead: number; readonly pageId: number }
  /**
   * Merge token `from` into token `into` (CaM/D2O style): both rows become
   * (1 − weight)·row_into + weight·row_from (default weight 0.5) at `into`, then `from` is dropped.
   */
  | {
      readonly kind: "merge";
      readonly layer: number;
      readonly kvHead: number;
      readonly from: number;
      readonly into: number;
      readonly weight?: number;
    };

export type PolicyActionKind = PolicyAction["kind"];

export interface Policy {
  readonly name: string;
  /** Called after each layer's attention when defined (the cache computes weights only then). */
  observe?(statistics: AttentionStatistics, cache: PolicyCacheView): void;
  /** Called once per step after the last layer's attention, or by `cache.applyPolicy()`. */
  decide(cache: PolicyCacheView): readonly PolicyAction[];
  /** Mixed precision per token: rows not covered by any plan use the layer's codecs. */
  planFlush?(context: FlushContext, cache: PolicyCacheView): readonly FlushSegmentPlan[] | undefined;
  /** Forget per-session state (the cache was truncated to 0 or restored). */
  reset?(): void;
}
