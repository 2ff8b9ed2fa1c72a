import type { AttentionStatistics, Policy, PolicyAction, PolicyCacheView } from "@kvpack/cache";
import { PolicyConfigurationError } from "./policy-errors.js";
import { type TokenBudget, budgetTokens, checkTokenBudget } from "./token-budget.js";
import { TokenTrack, selectLowest } from "./token-track.js";

export interface TokenEvictionOptions {
  /** Tokens kept resident per layer × KV head. */
  readonly budget: TokenBudget;
  /** First positions never evicted (attention sinks). */
  readonly sinkTokens?: number;
  /** Newest positions never evicted. */
  readonly recentTokens?: number;
  /**
   * Re-encode (compact) a page once its live rows fall to this fraction of its stored rows, so
   * masked rows stop costing bytes (default 0.5; 0 disables). Lossy codecs re-quantize the
   * decoded rows.
   */
  readonly compactBelow?: number;
}

export function checkNonNegativeInteger(name: string, value: number): void {
  if (!(Number.isInteger(value) && value >= 0)) throw new PolicyConfigurationError(`${name} must be a non-negative integer, got ${value}`);
}

/**
 * Shared machinery of the token-level eviction policies (StreamingLLM, H2O, TOVA, SnapKV, …):
 * each step, every layer × KV head holding more live tokens than its budget drops its
 * lowest-priority unprotected tokens. Subclasses say what "priority" means.
 */
export abstract class TokenEvictionPolicy implements Policy {
  abstract readonly name: string;
  readonly budget: TokenBudget;
  readonly sinkTokens: number;
  readonly recentTokens: number;
  readonly compactBelow: number;
  /** Defined only by policies that read attention (the cache computes weights only then). */
  readonly observe?: (statistics: AttentionStatistics, cache: PolicyCacheView) => void;
  protected tracks: TokenTrack[] = [];
  protected kvHeads = 0;
  /** Tokens evicted so far, all layers and KV heads. */
  evictedTokens = 0;

  constructor(options: TokenEvictionOptions, usesAttention: boolean) {
    checkTokenBudget(options.budget);
    this.budget = options.budget;
    this.sinkTokens = options.sinkTokens ?? 0;
    this.recentTokens = options.recentTokens ?? 0;
    this.compactBelow = options.compactBelow ?? 0.5;
    checkNonNegativeInteger("sinkTokens", this.sinkTokens);
    checkNonNegativeInteger("recentTokens", this.recentTokens);
    if (!(this.compactBelow >= 0 && this.compactBelow < 1)) throw new PolicyConfigurationError(`compactBelow must be in [0, 1), got ${this.compactBelow}`);
    if (usesAttention) {
      this.observe = (statistics, cache) => {
        this.ensureShape(cache);
        this.updateScores(statistics, cache);
      };
    }
  }

  /** Per layer × KV head state (created on first use). */
  protected track(layer: number, kvHead: number): TokenTrack {
    return this.tracks[layer * this.kvHeads + kvHead];
  }

  protected ensureShape(cache: PolicyCacheView): void {
    if (this.tracks.length === cache.layers * cache.kvHeads) return;
    checkTokenBudget(this.budget, cache.layers);
    this.kvHeads = cache.kvHeads;
    this.tracks = Array.from({ length: cache.layers * cache.kvHeads }, () => new TokenTrack());
  }

  /** Folds one layer's attention into the tracks' scores (policies that read attention). */
  protected updateScores(_statistics: AttentionStatistics, _cache: PolicyCacheView): void {}

  /** Eviction priority per position of one track (lowest is evicted first). */
  protected abstract priority(layer: number, kvHead: number, track: TokenTrack, length: number): ArrayLike<number>;

  decide(cache: PolicyCacheView): readonly PolicyAction[] {
    this.ensureShape(cache);
    const actions: PolicyAction[] = [];
    for (let layer = 0; layer < cache.layers; layer++) {
      const length = cache.length(layer);
      const keep = budgetTokens(this.budget, layer, length);
      for (let kvHead = 0; kvHead < cache.kvHeads; kvHead++) {
        const track = this.track(layer, kvHead);
        track.grow(length);
        const excess = track.liveCount(length) - keep;
        if (excess <= 0) continue;
        const from = Math.min(this.sinkTokens, length);
        const to = Math.max(from, length - this.recentTokens);
        const victims = selectLowest(this.priority(layer, kvHead, track, length), track.live, from, to, excess);
        if (victims.length === 0) continue;
        for (const position of victims) track.evict(position);
        this.evictedTokens += victims.length;
        this.onEvicted(cache, layer, kvHead, victims, actions);
      }
    }
    return actions;
  }

  /** What eviction means: drop the rows (and compact pages). MiKV overrides it to lower their precision. */
  protected onEvicted(cache: PolicyCacheView, layer: number, kvHead: number, victims: Int32Array, actions: PolicyAction[]): void {
    actions.push({ kind: "drop", layer, kvHead, positions: victims });
    if (this.compactBelow > 0) compactionActions(cache, layer, kvHead, victims, this.compactBelow, actions);
  }

  reset(): void {
    this.tracks = [];
    this.evictedTokens = 0;
  }
}

/** Re-encode actions for resident pages whose live rows fall to `threshold` of their stored rows after `victims` go. */
export function compactionActions(
  cache: PolicyCacheView,
  layer: number,
  kvHead: number,
  victims: Int32Array,
  threshold: number,
  actions: PolicyAction[],
): void {
  const residualStart = cache.residualRange(layer).start;
  if (victims.length === 0 || victims[0] >= residualStart) return;
  const digests = cache.pageDigests(layer, kvHead);
  let v = 0;
  for (const digest of digests) {
    const end = digest.firstPosition + cache.pageSize;
    while (v < victims.length && victims[v] < digest.firstPosition) v++;
    let removed = 0;
    while (v < victims.length && victims[v] < end) {
      removed++;
      v++;
    }
    if (removed === 0 || digest.location !== "memory") continue;
    const live = digest.liveCount - removed;
    if (live > 0 && live <= threshold * digest.tokenCount) actions.push({ kind: "reencode", layer, kvHead, pageId: digest.pageId });
  }
}
