import type { AttentionStatistics } from "@kvpack/cache";
import { PolicyConfigurationError } from "./policy-errors.js";
import { TokenEvictionPolicy } from "./token-eviction-policy.js";
import type { TokenBudget } from "./token-budget.js";
import type { TokenTrack } from "./token-track.js";

export interface SnapKvOptions {
  readonly budget: TokenBudget;
  /** Observation window: the last `windowSize` queries vote, and those tokens are always kept (default 16). */
  readonly windowSize?: number;
  /** Max-pooling kernel over positions, odd (default 7, as in the paper). */
  readonly kernelSize?: number;
  /**
   * Compress only once, when the cache first holds `prefillLength` tokens (the paper's prompt
   * compression); later tokens are kept. Default: vote and evict at every step (decode-time SnapKV).
   */
  readonly prefillLength?: number;
  readonly compactBelow?: number;
}

/**
 * SnapKV: the queries of an observation window at the end of the prompt vote for prefix
 * positions (attention summed over the window and the query heads of a KV head); votes are
 * max-pooled over neighbouring positions so clusters survive, and the top positions plus the
 * window are kept.
 * Source: Li et al. 2024, "SnapKV: LLM Knows What You are Looking for Before Generation" (arXiv:2404.14469).
 */
export class SnapKvPolicy extends TokenEvictionPolicy {
  readonly name: string = "snapkv";
  readonly windowSize: number;
  readonly kernelSize: number;
  readonly prefillLength: number | undefined;
  /** Per track: windowSize rows of per-position attention (ring buffer by step). */
  private windows: Float32Array[] = [];
  private capacity = 0;
  private pooled = new Float64Array(0);
  private raw = new Float64Array(0);
  private compressedOnce = false;

  constructor(options: SnapKvOptions) {
    const windowSize = options.windowSize ?? 16;
    super({ budget: options.budget, recentTokens: windowSize, compactBelow: options.compactBelow }, true);
    this.windowSize = windowSize;
    this.kernelSize = options.kernelSize ?? 7;
    this.prefillLength = options.prefillLength;
    if (!(Number.isInteger(windowSize) && windowSize > 0)) throw new PolicyConfigurationError(`windowSize must be a positive integer, got ${windowSize}`);
    if (!(Number.isInteger(this.kernelSize) && this.kernelSize > 0 && this.kernelSize % 2 === 1)) {
      throw new PolicyConfigurationError(`kernelSize must be a positive odd integer, got ${this.kernelSize}`);
    }
  }

  protected override updateScores(statistics: AttentionStatistics): void {
    const { layer, heads, kvHeads, length, weights, step } = statistics;
    if (this.capacity < length) this.growWindows(Math.max(length, this.capacity * 2, 64));
    const groupSize = heads / kvHeads;
    const slot = step % this.windowSize;
    for (let kvHead = 0; kvHead < kvHeads; kvHead++) {
      const window = this.windows[layer * kvHeads + kvHead];
      const row = window.subarray(slot * this.capacity, (slot + 1) * this.capacity);
      row.fill(0);
      for (let head = kvHead * groupSize; head < (kvHead + 1) * groupSize; head++) {
        const offset = head * length;
        for (let position = 0; position < length; position++) row[position] += weights[offset + position];
      }
    }
  }

  private growWindows(capacity: number): void {
    const old = this.windows;
    const oldCapacity = this.capacity;
    this.windows = Array.from({ length: this.tracks.length }, (_, index) => {
      const grown = new Float32Array(this.windowSize * capacity);
      const previous = old[index];
      if (previous) for (let slot = 0; slot < this.windowSize; slot++) grown.set(previous.subarray(slot * oldCapacity, (slot + 1) * oldCapacity), slot * capacity);
      return grown;
    });
    this.capacity = capacity;
  }

  override decide(cache: Parameters<TokenEvictionPolicy["decide"]>[0]): ReturnType<TokenEvictionPolicy["decide"]> {
    if (this.prefillLength !== undefined) {
      if (this.compressedOnce || cache.length(0) < this.prefillLength) return [];
      this.compressedOnce = true;
    }
    return super.decide(cache);
  }

  /** Window votes, max-pooled over `kernelSize` neighbouring positions. */
  protected priority(layer: number, kvHead: number, _track: TokenTrack, length: number): ArrayLike<number> {
    if (this.pooled.length < length) this.pooled = new Float64Array(Math.max(length, this.pooled.length * 2));
    const votes = this.pooled;
    votes.fill(0, 0, length);
    const window = this.windows[layer * this.kvHeads + kvHead];
    if (window === undefined) return votes;
    for (let slot = 0; slot < this.windowSize; slot++) {
      const offset = slot * this.capacity;
      for (let position = 0; position < length; position++) votes[position] += window[offset + position];
    }
    // Max-pool into `votes` from a copy of the unpooled values.
    const half = (this.kernelSize - 1) / 2;
    if (this.raw.length < length) this.raw = new Float64Array(this.pooled.length);
    const raw = this.raw;
    raw.set(votes.subarray(0, length));
    for (let position = 0; position < length; position++) {
      let best = 0;
      for (let j = Math.max(0, position - half); j <= Math.min(length - 1, position + half); j++) if (raw[j] > best) best = raw[j];
      votes[position] = best;
    }
    return votes;
  }

  override reset(): void {
    super.reset();
    this.windows = [];
    this.capacity = 0;
    this.compressedOnce = false;
  }
}
