import type { AttentionStatistics, PageDigest, Policy, PolicyAction, PolicyCacheView } from "@kvpack/cache";
import { pageScoreBound } from "./page-score-bound.js";
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
  /** Tier to offload to (default: the cache's first tier). */
  readonly tier?: string;
  /** Keep sink and recent pages even when they exceed the budget (default false). */
  readonly protectedOverBudget?: boolean;
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
  readonly tier: string | undefined;
  /** Protected pages stay even when they exceed the budget (default false: protected pages rank first but must fit). */
  readonly protectedOverBudget: boolean;
  readonly counters: PagingCounters = { offloads: 0, recalls: 0, steps: 0 };
  /** Last queries per layer (heads × headDim). */
  protected queries: Float32Array[] = [];
  protected heads = 0;
  private pendingRecalls = new Set<number>();
  private bounds = new Float64Array(0);

  constructor(options: ArkValeOptions, name?: string) {
    checkTokenBudget(options.budget);
    this.budget = options.budget;
    this.recall = options.recall ?? true;
    this.sinkPages = options.sinkPages ?? 1;
    this.recentPages = options.recentPages ?? 2;
    this.tier = options.tier;
    this.protectedOverBudget = options.protectedOverBudget ?? false;
    checkNonNegativeInteger("sinkPages", this.sinkPages);
    checkNonNegativeInteger("recentPages", this.recentPages);
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

  /** Upper bound of the page's scores for the query heads that read its KV head (max over the group). */
  pageBound(digest: PageDigest, layer: number, cache: PolicyCacheView): number {
    const queries = this.queries[layer];
    if (queries === undefined) return 0;
    const groupSize = this.heads / cache.kvHeads;
    let best = -Infinity;
    for (let head = digest.kvHead * groupSize; head < (digest.kvHead + 1) * groupSize; head++) {
      const bound = pageScoreBound(queries, head * cache.headDim, digest.keyMin, digest.keyMax, cache.headDim);
      if (bound > best) best = bound;
    }
    return best;
  }

  /** ArkVale needs key digests and a tier. */
  protected checkCache(cache: PolicyCacheView): void {
    if (!cache.keyDigests) throw new PolicyConfigurationError("ArkVale ranks pages by their key digests: create the cache with `keyDigests: true`");
    if (cache.tierNames().length === 0) throw new PolicyConfigurationError(`${this.name} offloads pages: give the cache a tier (CompressedKVCache \`tiers\`)`);
  }

  /** Ranking score of a page for the current queries (ArkVale: the digest bound). */
  protected pageScore(digest: PageDigest, layer: number, cache: PolicyCacheView): number {
    return this.pageBound(digest, layer, cache);
  }

  decide(cache: PolicyCacheView): readonly PolicyAction[] {
    checkTokenBudget(this.budget, cache.layers);
    this.checkCache(cache);
    this.counters.steps += 1;
    const actions: PolicyAction[] = [];
    for (let layer = 0; layer < cache.layers; layer++) {
      const length = cache.length(layer);
      const keep = budgetTokens(this.budget, layer, length);
      const residual = cache.residualRange(layer);
      for (let kvHead = 0; kvHead < cache.kvHeads; kvHead++) {
        const digests = cache.pageDigests(layer, kvHead);
        this.selectPages(cache, layer, kvHead, digests, keep - (residual.end - residual.start), actions);
      }
    }
    return actions;
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
    const order: number[] = [];
    for (let index = 0; index < count; index++) {
      const digest = digests[index];
      const isProtected = index < this.sinkPages || index >= count - this.recentPages;
      // Without recall, offloaded pages never come back (protected or not); protected pages rank first (newest first, then sinks).
      this.bounds[index] = !this.recall && digest.location === "offloaded" ? -Infinity : isProtected ? Infinity : this.pageScore(digest, layer, cache);
      order.push(index);
    }
    order.sort((a, b) => this.bounds[b] - this.bounds[a] || b - a);
    let used = 0;
    for (const index of order) {
      const digest = digests[index];
      const fits = used + digest.liveCount <= pageTokens || (this.protectedOverBudget && this.bounds[index] === Infinity);
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
  }
}
