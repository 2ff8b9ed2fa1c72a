import { TokenEvictionPolicy } from "./token-eviction-policy.js";
import type { TokenBudget } from "./token-budget.js";
import type { TokenTrack } from "./token-track.js";

export interface StreamingLlmOptions {
  /** Total tokens kept: sinks + recent window. */
  readonly budget: TokenBudget;
  /** Attention-sink tokens kept at the start (default 4, as in the paper). */
  readonly sinkTokens?: number;
  readonly compactBelow?: number;
}

/**
 * StreamingLLM: keep the first `sinkTokens` positions (attention sinks) and the most recent
 * window, drop everything in between. Reads no attention.
 * Source: Xiao et al. 2023, "Efficient Streaming Language Models with Attention Sinks" (arXiv:2309.17453).
 */
export class StreamingLlmPolicy extends TokenEvictionPolicy {
  readonly name = "streaming-llm";
  private order = new Float64Array(0);

  constructor(options: StreamingLlmOptions) {
    super({ budget: options.budget, sinkTokens: options.sinkTokens ?? 4, recentTokens: 0, compactBelow: options.compactBelow }, false);
  }

  /** The oldest non-sink token goes first. */
  protected priority(_layer: number, _kvHead: number, _track: TokenTrack, length: number): ArrayLike<number> {
    if (this.order.length < length) {
      this.order = new Float64Array(Math.max(length, this.order.length * 2));
      for (let i = 0; i < this.order.length; i++) this.order[i] = i;
    }
    return this.order;
  }
}
