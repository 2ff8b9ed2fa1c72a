import type { FlushContext, FlushSegmentPlan, PageDigest, PolicyCacheView } from "@kvpack/cache";
import { ArkValePolicy } from "./arkvale-policy.js";
import { PolicyConfigurationError } from "./policy-errors.js";
import { lowRankBasis } from "./symmetric-eigen.js";
import type { TokenBudget } from "./token-budget.js";

export interface ShadowKvOptions {
  /** Resident tokens per layer × KV head (pages whose values stay in memory). */
  readonly budget: TokenBudget;
  /** Rank of the key projection (default headDim / 4, at least 2). */
  readonly rank?: number;
  /** Keys collected per layer × KV head before the basis is computed (default 64, the "prefill"). */
  readonly basisTokens?: number;
  readonly recall?: boolean;
  readonly sinkPages?: number;
  readonly recentPages?: number;
  readonly tier?: string;
}

interface ShadowPage {
  readonly positions: Int32Array;
  /** Until the basis exists: the raw keys (rows × headDim); afterwards: rows × rank coefficients. */
  data: Float32Array;
  projected: boolean;
}

interface ShadowTrack {
  readonly pages: Map<number, ShadowPage>;
  basis: Float32Array | undefined;
  captured: number;
  rawRows: number;
}

/**
 * ShadowKV: a low-rank copy of every key (projection on the top right singular vectors of the
 * keys, computed once from the first `basisTokens`) stays resident while pages are offloaded; each
 * step the low-rank scores q·(Uᵀc) pick the pages to keep or recall (sparse recall), the rest stay
 * in the tier. This cache holds keys and values in one page, so an offloaded page takes its keys
 * along and a recalled page attends with its stored keys. The paper factorizes pre-RoPE keys;
 * the cache only sees post-RoPE keys, so the basis is fitted to those (RoPE raises their rank a little).
 * Source: Sun et al. 2024, "ShadowKV: KV Cache in Shadows for High-Throughput Long-Context LLM Inference" (arXiv:2410.21215).
 */
export class ShadowKvPolicy extends ArkValePolicy {
  readonly rankOption: number | undefined;
  readonly basisTokens: number;
  private tracksByIndex: ShadowTrack[] = [];
  private projectedQuery = new Float32Array(0);

  constructor(options: ShadowKvOptions) {
    super(
      { budget: options.budget, recall: options.recall, sinkPages: options.sinkPages, recentPages: options.recentPages, tier: options.tier },
      options.recall === false ? "shadowkv-no-recall" : "shadowkv",
    );
    this.rankOption = options.rank;
    this.basisTokens = options.basisTokens ?? 64;
    if (this.rankOption !== undefined && !(Number.isInteger(this.rankOption) && this.rankOption > 0)) {
      throw new PolicyConfigurationError(`rank must be a positive integer, got ${this.rankOption}`);
    }
    if (!(Number.isInteger(this.basisTokens) && this.basisTokens > 0)) throw new PolicyConfigurationError(`basisTokens must be a positive integer, got ${this.basisTokens}`);
  }

  private rank(headDim: number): number {
    return Math.min(headDim, this.rankOption ?? Math.max(2, Math.floor(headDim / 4)));
  }

  /** Only a tier is needed: pages are ranked by the policy's own low-rank keys, not by digests. */
  protected override checkCache(cache: PolicyCacheView): void {
    if (cache.tierNames().length === 0) throw new PolicyConfigurationError("ShadowKV offloads pages: give the cache a tier (CompressedKVCache `tiers`)");
  }

  private shadowTrack(cache: PolicyCacheView, layer: number, kvHead: number): ShadowTrack {
    const index = layer * cache.kvHeads + kvHead;
    let track = this.tracksByIndex[index];
    if (track === undefined) {
      track = { pages: new Map(), basis: undefined, captured: 0, rawRows: 0 };
      this.tracksByIndex[index] = track;
    }
    return track;
  }

  /** Captures each new page's keys (full precision, before the codec) and projects them once a basis exists. */
  planFlush(context: FlushContext, cache: PolicyCacheView): readonly FlushSegmentPlan[] | undefined {
    const { headDim, pageSize } = cache;
    const track = this.shadowTrack(cache, context.layer, context.kvHead);
    const firstPosition = Math.floor(context.positions[0] / pageSize) * pageSize;
    const rows = context.positions.length;
    const page: ShadowPage = { positions: Int32Array.from(context.positions), data: Float32Array.from(context.keys.subarray(0, rows * headDim)), projected: false };
    track.pages.set(firstPosition, page);
    track.rawRows += rows;
    if (track.basis === undefined && track.rawRows >= this.basisTokens) {
      const all = new Float32Array(track.rawRows * headDim);
      let offset = 0;
      for (const entry of track.pages.values()) {
        all.set(entry.data, offset);
        offset += entry.data.length;
      }
      const { basis, captured } = lowRankBasis(all, track.rawRows, headDim, this.rank(headDim));
      track.basis = basis;
      track.captured = captured;
    }
    if (track.basis !== undefined) {
      for (const entry of track.pages.values()) if (!entry.projected) this.project(entry, track.basis, headDim);
      track.rawRows = 0;
    }
    return undefined;
  }

  private project(entry: ShadowPage, basis: Float32Array, headDim: number): void {
    const rank = basis.length / headDim;
    const rows = entry.positions.length;
    const coefficients = new Float32Array(rows * rank);
    for (let r = 0; r < rows; r++) {
      for (let k = 0; k < rank; k++) {
        let sum = 0;
        for (let i = 0; i < headDim; i++) sum += basis[k * headDim + i] * entry.data[r * headDim + i];
        coefficients[r * rank + k] = sum;
      }
    }
    entry.data = coefficients;
    entry.projected = true;
  }

  /** Max over the page's rows and the group's query heads of the low-rank score (exact before the basis exists). */
  protected override pageScore(digest: PageDigest, layer: number, cache: PolicyCacheView): number {
    const queries = this.queries[layer];
    const track = this.tracksByIndex[layer * cache.kvHeads + digest.kvHead];
    const entry = track?.pages.get(digest.firstPosition);
    if (queries === undefined || entry === undefined) return 0;
    const { headDim } = cache;
    const groupSize = this.heads / cache.kvHeads;
    const rows = entry.positions.length;
    let best = -Infinity;
    for (let head = digest.kvHead * groupSize; head < (digest.kvHead + 1) * groupSize; head++) {
      const queryOffset = head * headDim;
      if (entry.projected && track.basis !== undefined) {
        const rank = track.basis.length / headDim;
        if (this.projectedQuery.length < rank) this.projectedQuery = new Float32Array(rank);
        for (let k = 0; k < rank; k++) {
          let sum = 0;
          for (let i = 0; i < headDim; i++) sum += track.basis[k * headDim + i] * queries[queryOffset + i];
          this.projectedQuery[k] = sum;
        }
        for (let r = 0; r < rows; r++) {
          let score = 0;
          for (let k = 0; k < rank; k++) score += this.projectedQuery[k] * entry.data[r * rank + k];
          if (score > best) best = score;
        }
      } else {
        for (let r = 0; r < rows; r++) {
          let score = 0;
          for (let i = 0; i < headDim; i++) score += queries[queryOffset + i] * entry.data[r * headDim + i];
          if (score > best) best = score;
        }
      }
    }
    return best;
  }

  /** Bytes the policy keeps resident: low-rank coefficients (fp32), bases, keys buffered before the basis. */
  policyBytes(): number {
    let total = 0;
    for (const track of this.tracksByIndex) {
      if (track === undefined) continue;
      total += track.basis?.byteLength ?? 0;
      for (const entry of track.pages.values()) total += entry.data.byteLength + entry.positions.byteLength;
    }
    return total;
  }

  /** Share of the keys' energy the rank-r basis of each layer × KV head captures (1 = lossless), or NaN before it exists. */
  capturedEnergy(layer: number, kvHead: number, kvHeads: number): number {
    return this.tracksByIndex[layer * kvHeads + kvHead]?.captured ?? Number.NaN;
  }

  override reset(): void {
    super.reset();
    this.tracksByIndex = [];
  }
}
