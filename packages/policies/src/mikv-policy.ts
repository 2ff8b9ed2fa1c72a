import type { FlushContext, FlushSegmentPlan, PolicyAction, PolicyCacheView, AttentionStatistics } from "@kvpack/cache";
import { type CodecSpecFor, twoBitKiviKeys, twoBitKiviValues } from "./low-precision.js";
import { PolicyConfigurationError } from "./policy-errors.js";
import { TokenEvictionPolicy } from "./token-eviction-policy.js";
import type { TokenBudget } from "./token-budget.js";
import { type TokenTrack, addGroupAttention } from "./token-track.js";

export interface MiKvOptions {
  /** Tokens kept at the cache's own (high) precision per layer × KV head: heavy hitters + recent window. */
  readonly budget: TokenBudget;
  /** Newest tokens always at high precision (default 16). */
  readonly recentTokens?: number;
  /** Codec for evicted tokens (default 2-bit KIVI keys and values). */
  readonly lowKeys?: CodecSpecFor;
  readonly lowValues?: CodecSpecFor;
  /** Re-encode a page once this many of its rows wait for demotion (default 4). */
  readonly batch?: number;
}

/**
 * MiKV (mixed-precision KV): H2O decides which tokens are "evicted", but instead of dropping them
 * the policy keeps them at low precision; heavy hitters and recent tokens stay at the cache's
 * precision. Evicted rows in pages are re-encoded in batches; rows still in the residual window
 * get the low codec when their page is flushed.
 * Source: Yang et al. 2024, "No Token Left Behind: Reliable KV Cache Compression via Importance-Aware Mixed Precision Quantization" (arXiv:2402.18096).
 */
export class MiKvPolicy extends TokenEvictionPolicy {
  readonly name = "mikv";
  readonly lowKeys: CodecSpecFor;
  readonly lowValues: CodecSpecFor;
  readonly batch: number;
  /** Per track: demoted positions not yet re-encoded, grouped later by page. */
  private pending: number[][] = [];
  /** Rows re-encoded at low precision so far. */
  demotedTokens = 0;

  constructor(options: MiKvOptions) {
    super({ budget: options.budget, recentTokens: options.recentTokens ?? 16, compactBelow: 0 }, true);
    this.lowKeys = options.lowKeys ?? twoBitKiviKeys;
    this.lowValues = options.lowValues ?? twoBitKiviValues;
    this.batch = options.batch ?? 4;
    if (!(Number.isInteger(this.batch) && this.batch > 0)) throw new PolicyConfigurationError(`batch must be a positive integer, got ${this.batch}`);
  }

  protected override updateScores(statistics: AttentionStatistics): void {
    const { layer, heads, kvHeads, length, weights } = statistics;
    for (let kvHead = 0; kvHead < kvHeads; kvHead++) {
      const track = this.track(layer, kvHead);
      track.grow(length);
      addGroupAttention(weights, heads, kvHeads, length, kvHead, track.scores);
    }
  }

  protected priority(_layer: number, _kvHead: number, track: TokenTrack): ArrayLike<number> {
    return track.scores;
  }

  protected override onEvicted(cache: PolicyCacheView, layer: number, kvHead: number, victims: Int32Array, actions: PolicyAction[]): void {
    const index = layer * cache.kvHeads + kvHead;
    const pending = (this.pending[index] ??= []);
    const residualStart = cache.residualRange(layer).start;
    // Residual rows are handled by planFlush (the track marks them); only paged rows wait here.
    for (const position of victims) if (position < residualStart) pending.push(position);
    if (pending.length < this.batch) return;
    const specs = { keys: this.lowKeys(cache.headDim), values: this.lowValues(cache.headDim) };
    const byPage = new Map<number, number[]>();
    const digests = cache.pageDigests(layer, kvHead);
    for (const position of pending) {
      const digest = digests.find((candidate) => position >= candidate.firstPosition && position < candidate.firstPosition + cache.pageSize);
      if (digest === undefined || digest.location !== "memory") continue;
      const list = byPage.get(digest.pageId) ?? [];
      list.push(position);
      byPage.set(digest.pageId, list);
    }
    for (const [pageId, positions] of byPage) {
      actions.push({ kind: "reencode", layer, kvHead, pageId, keys: specs.keys, values: specs.values, positions: Int32Array.from(positions) });
      this.demotedTokens += positions.length;
    }
    pending.length = 0;
  }

  /** Rows already evicted while in the residual window are written at low precision. */
  planFlush(context: FlushContext, cache: PolicyCacheView): readonly FlushSegmentPlan[] | undefined {
    if (this.tracks.length === 0) return undefined;
    const track = this.track(context.layer, context.kvHead);
    const low: number[] = [];
    for (const position of context.positions) if (position < track.live.length && track.live[position] === 0) low.push(position);
    if (low.length === 0) return undefined;
    this.demotedTokens += low.length;
    return [{ positions: low, keys: this.lowKeys(cache.headDim), values: this.lowValues(cache.headDim) }];
  }

  override reset(): void {
    super.reset();
    this.pending = [];
    this.demotedTokens = 0;
  }
}
