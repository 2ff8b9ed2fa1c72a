import type { AttentionStatistics } from "@kvpack/cache";
import { TokenEvictionPolicy } from "./token-eviction-policy.js";
import type { TokenBudget } from "./token-budget.js";
import { type TokenTrack, addGroupAttention } from "./token-track.js";

export interface TovaOptions {
  readonly budget: TokenBudget;
  readonly compactBelow?: number;
}

/**
 * TOVA (token omission via attention): when over budget, drop the token with the lowest
 * attention at the current step (averaged over the query heads of its KV head). No history, no
 * protected window.
 * Source: Oren et al. 2024, "Transformers are Multi-State RNNs" (arXiv:2401.06104).
 */
export class TovaPolicy extends TokenEvictionPolicy {
  readonly name = "tova";

  constructor(options: TovaOptions) {
    super({ budget: options.budget, compactBelow: options.compactBelow }, true);
  }

  protected override updateScores(statistics: AttentionStatistics): void {
    const { layer, heads, kvHeads, length, weights } = statistics;
    const groupSize = heads / kvHeads;
    for (let kvHead = 0; kvHead < kvHeads; kvHead++) {
      const track = this.track(layer, kvHead);
      track.grow(length);
      track.scores.fill(0, 0, length);
      addGroupAttention(weights, heads, kvHeads, length, kvHead, track.scores, 1 / groupSize);
    }
  }

  protected priority(_layer: number, _kvHead: number, track: TokenTrack): ArrayLike<number> {
    return track.scores;
  }
}
