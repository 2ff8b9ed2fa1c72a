import type { AttentionStatistics } from "@kvpack/cache";
import { TokenEvictionPolicy } from "./token-eviction-policy.js";
import type { TokenBudget } from "./token-budget.js";
import { type TokenTrack, addGroupAttention } from "./token-track.js";

export interface H2oOptions {
  readonly budget: TokenBudget;
  /** Newest tokens always kept (the paper splits the budget half heavy hitters, half recent). Default 0.5 × budget tokens when budget is a count, else 8. */
  readonly recentTokens?: number;
  readonly sinkTokens?: number;
  readonly compactBelow?: number;
}

/**
 * H2O (heavy-hitter oracle): each token's score is the attention it has received, summed over
 * all steps and the query heads of its KV head; the lowest-scoring token outside the recent
 * window is evicted.
 * Source: Zhang et al. 2023, "H2O: Heavy-Hitter Oracle for Efficient Generative Inference of LLMs" (arXiv:2306.14048).
 */
export class H2oPolicy extends TokenEvictionPolicy {
  readonly name = "h2o";

  constructor(options: H2oOptions) {
    const recent = options.recentTokens ?? ("tokens" in options.budget ? Math.floor(options.budget.tokens / 2) : 8);
    super({ budget: options.budget, recentTokens: recent, sinkTokens: options.sinkTokens ?? 0, compactBelow: options.compactBelow }, true);
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
}
