import type { AttentionStatistics, PageDigest, Policy, PolicyAction, PolicyCacheView } from "@kvpack/cache";
import { pageScoreBound, pageScoreCenter } from "./page-score-bound.js";
import { PolicyConfigurationError } from "./policy-errors.js";
import { type TokenBudget, budgetTokens, checkTokenBudget } from "./token-budget.js";
import { checkNonNegativeInteger } from "./token-eviction-policy.js";

export interface ArkValeOptions {
  /** Resident tokens per layer × KV head, residual window included. */
  readonly budget: TokenBudget;
  /** Recall offloaded pages whose bound ranks in the budget (default true; false = offload only). */
  readonly recall?: boolean;
  /** First pages resident whenever they fit (attention sinks, default 1). */
  readonly sinkPages?: number;
  /** Newest complete pages resident whenever they fit (default 2; the residual window is resident anyway). */
  readonly recentPages?: number;
  /**
   * Share of the step's page budget kept for the newest pages, in [0, 1) (default 0): the recent
   * window is max(recentPages, ⌊share · budget pages⌋) pages, so it grows with the context.
   */
  readonly recentShare?: number;
  /** Tier to offload to (default: the cache's first tier). */
  readonly tier?: string;
  /** Keep sink and recent pages even when they exceed the budget (default false). */
  readonly protectedOverBudget?: boolean;
  /**
   * Whole pages rarely add up to the token budget: "down" (default) never exceeds it, "nearest"
   * admits a page when at least half of it fits, "up" admits one page that crosses the budget.
   */
  readonly budgetRounding?: "down" | "nearest" | "up";
  /**
   * Page score = (1 − w)·bound + w·q·centre of the digest box, w in [0, 1] (default 0: the plain
   * upper bound of ArkVale and Quest; 1: the box centre alone, an estimate rather than a bound).
   * Same digest, no extra bytes.
   */
  readonly centerWeight?: number;
  /** How the query heads sharing a KV head (GQA) combine their page scores: "max" (default) or "sum". */
  readonly groupAggregation?: "max" | "sum";
  /**
   * Score bonus of pages in memory, in attention-logit units (q·k/√headDim): an offloaded page must
   * beat a resident one by this much to swap with it, which damps recall/offload churn (default 0).
   */
  readonly hysteresis?: number;
  /**
   * Page scores are smoothed over steps, s ← d·s + (1 − d)·estimate, d in [0, 1) (default 0: the
   * current query only). Smoothing ranks by the recent queries rather than the last one.
   */
  readonly scoreDecay?: number;
}

/** Offload / recall counts of a paging policy, for benchmarks and logs. */
export interface PagingCounters {
  offloads: number;
  recalls: number;
  /** decide() calls. */
  steps: number;
}

/**
 * ArkVale: page-level eviction with recall. Each page keeps a digest (per-channel key bounding
 * box, held by the cache); each step the query's upper bound Σ max(qᵢ·minᵢ, qᵢ·maxᵢ) ranks all
 * pages, resident or not. Pages that rank inside the token budget stay (or are recalled from the
 * tier), the others are offloaded to the tier rather than dropped.
 * The cache reports attention after computing it, so a recall decided at step t serves step t+1
 * (consecutive queries are close; the paper recalls before attending).
 * Source: Chen et al. 2024, "ArkVale: Efficient Generative LLM Inference with Recallable Key-Value Eviction" (NeurIPS 2024).
 */
export class ArkValePolicy implements Policy {
  readonly name: string;
  readonly budget: TokenBudget;
  readonly recall: boolean;
  readonly sinkPages: number;
  readonly recentPages: number;
  readonly recentShare: number;
  readonly tier: string | undefined;
  /** Protected pages stay even when they exceed the budget (default false: protected pages rank first but must fit). */
  readonly protectedOverBudget: boolean;
  readonly budgetRounding: "down" | "nearest" | "up";
  readonly centerWeight: number;
  readonly groupAggregation: "max" | "sum";
  readonly hysteresis: number;
  readonly scoreDecay: number;
  readonly counters: PagingCounters = { offloads: 0, recalls: 0, steps: 0 };
  /** Last queries per layer (heads × headDim). */
  protected queries: Float32Array[] = [];
  protected heads = 0;
  private pendingRecalls = new Set<number>();
  private bounds = new Float64Array(0);
  /** Smoothed estimate per page id (scoreDecay > 0). */
  private smoothed = new Map<number, number>();

  constructor(options: ArkValeOptions, name?: string) {
    checkTokenBudget(options.budget);
    this.budget = options.budget;
    this.recall = options.recall ?? true;
    this.sinkPages = options.sinkPages ?? 1;
    this.recentPages = options.recentPages ?? 2;
    this.recentShare = options.recentShare ?? 0;
    this.tier = options.tier;
    this.protectedOverBudget = options.protectedOverBudget ?? false;
    this.budgetRounding = options.budgetRounding ?? "down";
    if (!["down", "nearest", "up"].includes(this.budgetRounding)) {
      throw new PolicyConfigurationError(`budgetRounding must be "down", "nearest" or "up", got ${String(this.budgetRounding)}`);
    }
    this.centerWeight = options.centerWeight ?? 0;
    this.groupAggregation = options.groupAggregation ?? "max";
    this.hysteresis = options.hysteresis ?? 0;
    this.scoreDecay = options.scoreDecay ?? 0;
    checkNonNegativeInteger("sinkPages", this.sinkPages);
    checkNonNegativeInteger("recentPages", this.recentPages);
    if (!(this.recentShare >= 0 && this.recentShare < 1)) throw new PolicyConfigurationError(`recentShare must be in [0, 1), got ${this.recentShare}`);
    if (!(this.centerWeight >= 0 && this.centerWeight <= 1)) throw new PolicyConfigurationError(`centerWeight must be in [0, 1], got ${this.centerWeight}`);
    if (this.groupAggregation !== "max" && this.groupAggregation !== "sum") {
      throw new PolicyConfigurationError(`groupAggregation must be "max" or "sum", got ${String(this.groupAggregation)}`);
    }
    if (!(this.scoreDecay >= 0 && this.scoreDecay < 1)) throw new PolicyConfigurationError(`scoreDecay must be in [0, 1), got ${this.scoreDecay}`);
    if (!(this.hysteresis >= 0 && Number.isFinite(this.hysteresis))) throw new PolicyConfigurationError(`hysteresis must be a finite number ≥ 0, got ${this.hysteresis}`);
    this.name = name ?? (this.recall ? "arkvale" : "arkvale-no-recall");
  }

  observe(statistics: AttentionStatistics): void {
    const { layer, queries } = statistics;
    this.heads = statistics.heads;
    let stored = this.queries[layer];
    if (stored === undefined || stored.length !== queries.length) {
      stored = new Float32Array(queries.length);
      this.queries[layer] = stored;
    }
    stored.set(queries);
  }

  /**
   * The page's estimate for the group's query heads: bound/centre mix per head, then max or sum over the
   * group. With the defaults (centerWeight 0, max) it is ArkVale's upper bound of the page's scores.
   */
  pageEstimate(digest: PageDigest, layer: number, cache: PolicyCacheView): number {
    const queries = this.queries[layer];
    if (queries === undefined) return 0;
    const { headDim } = cache;
    const groupSize = this.heads / cache.kvHeads;
    const weight = this.centerWeight;
    let combined = this.groupAggregation === "max" ? -Infinity : 0;
    for (let head = digest.kvHead * groupSize; head < (digest.kvHead + 1) * groupSize; head++) {
      const bound = weight < 1 ? pageScoreBound(queries, head * headDim, digest.keyMin, digest.keyMax, headDim) : 0;
      const center = weight > 0 ? pageScoreCenter(queries, head * headDim, digest.keyMin, digest.keyMax, headDim) : 0;
      const score = (1 - weight) * bound + weight * center;
      if (this.groupAggregation === "max") combined = Math.max(combined, score);
      else combined += score;
    }
    return combined;
  }

  /** ArkVale needs key digests and a tier. */
  protected checkCache(cache: PolicyCacheView): void {
    if (!cache.keyDigests) throw new PolicyConfigurationError("ArkVale ranks pages by their key digests: create the cache with `keyDigests: true`");
    if (cache.tierNames().length === 0) throw new PolicyConfigurationError(`${this.name} offloads pages: give the cache a tier (CompressedKVCache \`tiers\`)`);
  }

  /** Ranking score of a page for the current queries (ArkVale: the digest bound, or its centre mix), plus the resident bonus. */
  protected pageScore(digest: PageDigest, layer: number, cache: PolicyCacheView): number {
    let score = this.pageEstimate(digest, layer, cache);
    if (this.scoreDecay > 0) {
      const previous = this.smoothed.get(digest.pageId);
      if (previous !== undefined) score = this.scoreDecay * previous + (1 - this.scoreDecay) * score;
      this.smoothed.set(digest.pageId, score);
    }
    return digest.location === "offloaded" ? score : score + this.hysteresis * Math.sqrt(cache.headDim);
  }

  decide(cache: PolicyCacheView): readonly PolicyAction[] {
    checkTokenBudget(this.budget, cache.layers);
    this.checkCache(cache);
    this.counters.steps += 1;
    const actions: PolicyAction[] = [];
    let pages = 0;
    for (let layer = 0; layer < cache.layers; layer++) {
      const length = cache.length(layer);
      const keep = budgetTokens(this.budget, layer, length);
      const residual = cache.residualRange(layer);
      for (let kvHead = 0; kvHead < cache.kvHeads; kvHead++) {
        const digests = cache.pageDigests(layer, kvHead);
        pages += digests.length;
        this.selectPages(cache, layer, kvHead, digests, keep - (residual.end - residual.start), actions);
      }
    }
    if (this.smoothed.size > 2 * pages + 64) this.forgetGonePages(cache);
    return actions;
  }

  /** Drops smoothed scores of pages the cache no longer holds (dropped, merged, truncated away). */
  private forgetGonePages(cache: PolicyCacheView): void {
    const present = new Set<number>();
    for (let layer = 0; layer < cache.layers; layer++) {
      for (let kvHead = 0; kvHead < cache.kvHeads; kvHead++) for (const digest of cache.pageDigests(layer, kvHead)) present.add(digest.pageId);
    }
    for (const pageId of this.smoothed.keys()) if (!present.has(pageId)) this.smoothed.delete(pageId);
  }

  private selectPages(cache: PolicyCacheView, layer: number, kvHead: number, digests: readonly PageDigest[], pageTokens: number, actions: PolicyAction[]): void {
    const count = digests.length;
    let total = 0;
    for (const digest of digests) total += digest.liveCount;
    let offloaded = 0;
    for (const digest of digests) {
      if (digest.location === "offloaded") offloaded += 1;
      else this.pendingRecalls.delete(digest.pageId);
    }
    if (total <= pageTokens && (offloaded === 0 || !this.recall)) return;
    if (this.bounds.length < count) this.bounds = new Float64Array(Math.max(count, this.bounds.length * 2));
    const recentPages = Math.max(this.recentPages, Math.floor((this.recentShare * pageTokens) / cache.pageSize));
    const order: number[] = [];
    for (let index = 0; index < count; index++) {
      const digest = digests[index];
      const isProtected = index < this.sinkPages || index >= count - recentPages;
      // Without recall, offloaded pages never come back (protected or not); protected pages rank first (newest first, then sinks).
      this.bounds[index] = !this.recall && digest.location === "offloaded" ? -Infinity : isProtected ? Infinity : this.pageScore(digest, layer, cache);
      order.push(index);
    }
    order.sort((a, b) => this.bounds[b] - this.bounds[a] || b - a);
    let used = 0;
    for (const index of order) {
      const digest = digests[index];
      const slack = this.budgetRounding === "down" ? 0 : this.budgetRounding === "nearest" ? digest.liveCount / 2 : digest.liveCount - 1;
      const fits = used + digest.liveCount <= pageTokens + slack || (this.protectedOverBudget && this.bounds[index] === Infinity);
      const eligible = this.bounds[index] !== -Infinity;
      if (fits && eligible) {
        used += digest.liveCount;
        if (digest.location === "offloaded" && !this.pendingRecalls.has(digest.pageId)) {
          this.pendingRecalls.add(digest.pageId);
          this.counters.recalls += 1;
          actions.push({ kind: "recall", layer, kvHead, pageId: digest.pageId });
        }
      } else if (digest.location === "memory") {
        this.counters.offloads += 1;
        actions.push({ kind: "offload", layer, kvHead, pageId: digest.pageId, tier: this.tier });
      }
    }
  }

  reset(): void {
    this.queries = [];
    this.pendingRecalls.clear();
    this.smoothed.clear();
  }
}
