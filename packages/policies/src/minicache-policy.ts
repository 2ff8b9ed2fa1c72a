import type { FlushContext, FlushSegmentPlan, Policy, PolicyAction, PolicyCacheView } from "@kvpack/cache";
import { slerpMergeRow } from "./minicache-merge.js";
import { PolicyConfigurationError } from "./policy-errors.js";

export interface MiniCacheOptions {
  /** First layer of the merged pairs (default: the middle layer, floor(layers / 2)). Pairs are (s, s+1), (s+2, s+3), … */
  readonly startLayer?: number;
  /** Share of tokens kept unmerged: those whose key and value directions differ most between the two layers (default 0.05, the paper's γ). */
  readonly retention?: number;
  /** SLERP parameter t (default 0.5). */
  readonly interpolation?: number;
}

interface PendingRows {
  readonly positions: Int32Array;
  readonly keys: Float32Array;
  readonly values: Float32Array;
}

/**
 * MiniCache: adjacent deep layers hold nearly the same KV directions, so each token of a pair
 * keeps one SLERP-interpolated direction plus its two norms; the tokens whose directions differ
 * most are retained as they are. When the second layer of a pair flushes a page, its rows are
 * rewritten in place to ‖x_b‖·slerp(x̂_a, x̂_b, t) (the cache builds the page from the rewritten
 * rows). The first layer's rows were already encoded, so they stay exact: the error measured is
 * the second layer's share. This cache stores layers separately, so the bytes a shared direction
 * would save are reported by `mergedTokens` rather than freed.
 * Source: Liu et al. 2024, "MiniCache: KV Cache Compression in Depth Dimension for Large Language Models" (arXiv:2405.14366).
 */
export class MiniCachePolicy implements Policy {
  readonly name = "minicache";
  readonly startLayer: number | undefined;
  readonly retention: number;
  readonly interpolation: number;
  /** Rows of the first layer of each pair, by (layer × kvHeads + kvHead) and first position, until the partner flushes. */
  private pending = new Map<string, PendingRows>();
  private merged = new Float32Array(0);
  private angles = new Float64Array(0);
  mergedTokens = 0;
  retainedTokens = 0;

  constructor(options: MiniCacheOptions = {}) {
    this.startLayer = options.startLayer;
    this.retention = options.retention ?? 0.05;
    this.interpolation = options.interpolation ?? 0.5;
    if (!(this.retention >= 0 && this.retention <= 1)) throw new PolicyConfigurationError(`retention must be in [0, 1], got ${this.retention}`);
    if (!(this.interpolation >= 0 && this.interpolation <= 1)) throw new PolicyConfigurationError(`interpolation must be in [0, 1], got ${this.interpolation}`);
  }

  /** 0 outside a merged pair, 1 for the first layer of a pair, 2 for the second. */
  pairRole(layer: number, layers: number): 0 | 1 | 2 {
    const start = this.startLayer ?? Math.floor(layers / 2);
    if (layer < start) return 0;
    const offset = layer - start;
    if (offset % 2 === 0) return layer + 1 < layers ? 1 : 0;
    return 2;
  }

  decide(): readonly PolicyAction[] {
    return [];
  }

  planFlush(context: FlushContext, cache: PolicyCacheView): readonly FlushSegmentPlan[] | undefined {
    const role = this.pairRole(context.layer, cache.layers);
    if (role === 0) return undefined;
    const { headDim } = cache;
    const rows = context.positions.length;
    if (role === 1) {
      const key = `${context.layer}:${context.kvHead}:${context.positions[0]}`;
      this.pending.set(key, {
        positions: Int32Array.from(context.positions),
        keys: Float32Array.from(context.keys.subarray(0, rows * headDim)),
        values: Float32Array.from(context.values.subarray(0, rows * headDim)),
      });
      return undefined;
    }
    const partnerKey = `${context.layer - 1}:${context.kvHead}:${context.positions[0]}`;
    const partner = this.pending.get(partnerKey);
    this.pending.delete(partnerKey);
    if (partner === undefined) return undefined;
    if (this.merged.length < 2 * rows * headDim) this.merged = new Float32Array(2 * rows * headDim);
    if (this.angles.length < rows) this.angles = new Float64Array(rows);
    const mergeable: number[] = [];
    for (let row = 0; row < rows; row++) {
      // Rows are matched by position; a position the partner dropped is left as is.
      const partnerRow = partner.positions.indexOf(context.positions[row]);
      if (partnerRow < 0) {
        this.angles[row] = Infinity;
        continue;
      }
      const keyAngle = slerpMergeRow(partner.keys, partnerRow * headDim, context.keys, row * headDim, headDim, this.interpolation, this.merged, row * headDim);
      const valueAngle = slerpMergeRow(partner.values, partnerRow * headDim, context.values, row * headDim, headDim, this.interpolation, this.merged, (rows + row) * headDim);
      this.angles[row] = Math.max(keyAngle, valueAngle);
      mergeable.push(row);
    }
    // Retain the most distinct tokens (largest angle); merge the rest.
    mergeable.sort((x, y) => this.angles[y] - this.angles[x] || x - y);
    const retain = Math.ceil(this.retention * rows);
    for (let i = 0; i < mergeable.length; i++) {
      const row = mergeable[i];
      if (i < retain || this.angles[row] >= Math.PI) {
        this.retainedTokens += 1;
        continue;
      }
      context.keys.set(this.merged.subarray(row * headDim, (row + 1) * headDim), row * headDim);
      context.values.set(this.merged.subarray((rows + row) * headDim, (rows + row + 1) * headDim), row * headDim);
      this.mergedTokens += 1;
    }
    this.retainedTokens += rows - mergeable.length;
    return undefined;
  }

  reset(): void {
    this.pending.clear();
    this.mergedTokens = 0;
    this.retainedTokens = 0;
  }
}
