import type { AttentionStatistics, FlushContext, FlushSegmentPlan, Policy, PolicyAction, PolicyCacheView } from "@kvpack/cache";
import { type CodecSpecFor, twoBitKiviKeys, twoBitKiviValues } from "./low-precision.js";
import { PolicyConfigurationError } from "./policy-errors.js";
import { TokenTrack, addGroupAttention } from "./token-track.js";

export interface SaliencyPrecisionOptions {
  /** Share of each flushed page's rows kept at the cache's (high) precision, in (0, 1]. */
  readonly highPrecisionFraction: number;
  /** Codec for the other rows (default 2-bit KIVI). */
  readonly lowKeys?: CodecSpecFor;
  readonly lowValues?: CodecSpecFor;
}

export type SaliencyMeasure = "normalized-attention" | "anchor";

/**
 * Mixed precision per token decided when a page is flushed: the most salient rows keep the cache's
 * codec, the rest get a low-precision codec. Saliency is the attention a token received divided by
 * the number of queries that could see it (ZipCache), or that times the value norm (AnTKV anchor
 * score). Tokens are never dropped.
 */
export class SaliencyPrecisionPolicy implements Policy {
  readonly name: string;
  readonly measure: SaliencyMeasure;
  readonly highPrecisionFraction: number;
  readonly lowKeys: CodecSpecFor;
  readonly lowValues: CodecSpecFor;
  private tracks: TokenTrack[] = [];
  private kvHeads = 0;
  private saliency = new Float64Array(0);
  /** Rows written at low precision so far. */
  lowPrecisionTokens = 0;
  highPrecisionTokens = 0;

  constructor(name: string, measure: SaliencyMeasure, options: SaliencyPrecisionOptions) {
    if (!(options.highPrecisionFraction > 0 && options.highPrecisionFraction <= 1)) {
      throw new PolicyConfigurationError(`highPrecisionFraction must be in (0, 1], got ${options.highPrecisionFraction}`);
    }
    this.name = name;
    this.measure = measure;
    this.highPrecisionFraction = options.highPrecisionFraction;
    this.lowKeys = options.lowKeys ?? twoBitKiviKeys;
    this.lowValues = options.lowValues ?? twoBitKiviValues;
  }

  observe(statistics: AttentionStatistics, cache: PolicyCacheView): void {
    if (this.tracks.length !== cache.layers * cache.kvHeads) {
      this.kvHeads = cache.kvHeads;
      this.tracks = Array.from({ length: cache.layers * cache.kvHeads }, () => new TokenTrack());
    }
    const { layer, heads, kvHeads, length, weights } = statistics;
    for (let kvHead = 0; kvHead < kvHeads; kvHead++) {
      const track = this.tracks[layer * kvHeads + kvHead];
      track.grow(length);
      addGroupAttention(weights, heads, kvHeads, length, kvHead, track.scores);
    }
  }

  decide(): readonly PolicyAction[] {
    return [];
  }

  planFlush(context: FlushContext, cache: PolicyCacheView): readonly FlushSegmentPlan[] | undefined {
    const track = this.tracks[context.layer * this.kvHeads + context.kvHead];
    const count = context.positions.length;
    const high = Math.ceil(this.highPrecisionFraction * count);
    if (high >= count) {
      this.highPrecisionTokens += count;
      return undefined;
    }
    if (this.saliency.length < count) this.saliency = new Float64Array(count);
    const length = cache.length(context.layer);
    const { headDim } = cache;
    for (let row = 0; row < count; row++) {
      const position = context.positions[row];
      const attention = track !== undefined && position < track.scores.length ? track.scores[position] : 0;
      // Queries that could attend to `position` so far: positions position … length − 1.
      let value = attention / Math.max(1, length - position);
      if (this.measure === "anchor") {
        let norm = 0;
        for (let i = row * headDim; i < (row + 1) * headDim; i++) norm += context.values[i] * context.values[i];
        value *= Math.sqrt(norm);
      }
      this.saliency[row] = value;
    }
    const order = Array.from({ length: count }, (_, row) => row).sort((a, b) => this.saliency[a] - this.saliency[b] || a - b);
    const low = order
      .slice(0, count - high)
      .map((row) => context.positions[row])
      .sort((a, b) => a - b);
    this.lowPrecisionTokens += low.length;
    this.highPrecisionTokens += high;
    return [{ positions: low, keys: this.lowKeys(headDim), values: this.lowValues(headDim) }];
  }

  reset(): void {
    this.tracks = [];
    this.lowPrecisionTokens = 0;
    this.highPrecisionTokens = 0;
  }
}

/**
 * ZipCache: salient tokens by normalized attention (accumulated attention ÷ queries that saw the
 * token, so old tokens are not favoured) stay at high precision, the rest are quantized lower.
 * Source: He et al. 2024, "ZipCache: Accurate and Efficient KV Cache Quantization with Salient Token Identification" (arXiv:2405.14256).
 */
export class ZipCachePolicy extends SaliencyPrecisionPolicy {
  constructor(options: SaliencyPrecisionOptions) {
    super("zipcache", "normalized-attention", options);
  }
}

/**
 * AnTKV: anchor tokens, those whose quantization error moves the attention output most, stay at
 * high precision. The anchor score here is the first-order output sensitivity a_j·‖v_j‖
 * (normalized attention times value norm), our reading of the paper's forward error analysis.
 * Source: Li et al. 2025, "AnTKV: Anchor Token-Aware Sub-Bit Vector Quantization for KV Cache in Large Language Models" (arXiv:2506.19505).
 */
export class AnTkvPolicy extends SaliencyPrecisionPolicy {
  constructor(options: SaliencyPrecisionOptions) {
    super("antkv", "anchor", options);
  }
}
