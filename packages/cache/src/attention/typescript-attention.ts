import type { Codec, EncodedBlock, PreparedQuery } from "@kvpack/codecs";
import type { AttendedPage, AttentionBackend, LayerAttentionRequest, ResidualRows } from "./attention-backend.js";

/**
 * The reference attention backend, and the conformance oracle for kernel backends. Attention of
 * each query head over compressed pages plus the residual window, on the codes:
 * scores through each key codec's lookup tables (one prepared query per codec), one softmax over
 * every row, values accumulated in each value codec's own domain and mapped back once per codec
 * (rotated codecs rotate back once per head, not per row). Offloaded pages and dropped rows take
 * no weight. Owns its scratch buffers so a decoding step allocates nothing per row.
 */
export class TypeScriptAttention implements AttentionBackend {
  readonly name = "typescript";
  private readonly headDim: number;
  private scores = new Float32Array(0);
  private readonly preparedByCodec = new Map<Codec, PreparedQuery>();
  private readonly accumulators = new Map<Codec, Float32Array>();
  private readonly usedValueCodecs: Codec[] = [];
  private readonly finishScratch: Float32Array;

  constructor(headDim: number) {
    this.headDim = headDim;
    this.finishScratch = new Float32Array(headDim);
  }

  attendLayer(request: LayerAttentionRequest): boolean {
    const { heads, kvHeads, headDim, queries, scale, out, weightsOut, length, residual } = request;
    const groupSize = heads / kvHeads;
    for (let head = 0; head < heads; head++) {
      const kvHead = Math.floor(head / groupSize);
      const query = queries.subarray(head * headDim, (head + 1) * headDim);
      this.attendHead(request.pages[kvHead], residual, kvHead * residual.stride, query, scale, out, head * headDim, weightsOut, head * length);
    }
    return true;
  }

  /**
   * Writes softmax(scale · q·K)·V for `query` into out[outOffset .. + headDim); the head's residual
   * rows start at row `residualBase`. With `weightsOut`, each row's weight lands at
   * weightsOut[weightsOffset + position] (positions never seen stay as they are: the caller zeroes
   * the row first).
   */
  attendHead(
    pages: readonly AttendedPage[],
    residual: ResidualRows,
    residualBase: number,
    query: Float32Array,
    scale: number,
    out: Float32Array,
    outOffset: number,
    weightsOut?: Float32Array,
    weightsOffset = 0,
  ): void {
    const headDim = this.headDim;
    const scores = this.rowScores(pages, residual.count);
    this.preparedByCodec.clear();
    // Pass 1: scaled scores for every resident row, −∞ for dropped rows.
    let rows = 0;
    let maximum = -Infinity;
    for (let p = 0; p < pages.length; p++) {
      const page = pages[p];
      if (page.location === "offloaded") continue;
      for (let s = 0; s < page.segments.length; s++) {
        const segment = page.segments[s];
        const count = segment.count;
        let prepared = this.preparedByCodec.get(segment.keyCodec);
        if (prepared === undefined) {
          prepared = segment.keyCodec.prepareQuery(query);
          this.preparedByCodec.set(segment.keyCodec, prepared);
        }
        const view = scores.subarray(rows, rows + count);
        const result = segment.keyCodec.scores(prepared, segment.keys as EncodedBlock, view);
        if (result !== view) view.set(result.subarray(0, count));
        const live = segment.live;
        for (let i = 0; i < count; i++) {
          if (live[i]) {
            // Rounded to float32 as stored, so the maximum is the stored score (DenseKVCache does the same).
            const value = Math.fround(view[i] * scale);
            view[i] = value;
            if (value > maximum) maximum = value;
          } else {
            view[i] = -Infinity;
          }
        }
        rows += count;
      }
    }
    const residualScoreStart = rows;
    for (let r = 0; r < residual.count; r++) {
      if (!residual.live[residualBase + r]) {
        scores[rows++] = -Infinity;
        continue;
      }
      const keyOffset = (residualBase + r) * headDim;
      let dot = 0;
      for (let i = 0; i < headDim; i++) dot += query[i] * residual.keys[keyOffset + i];
      // float32 dot, then scaled and rounded: the same steps as the page rows and DenseKVCache.
      const score = Math.fround(Math.fround(dot) * scale);
      scores[rows++] = score;
      if (score > maximum) maximum = score;
    }
    // Softmax over every row at once.
    let sum = 0;
    if (maximum !== -Infinity) {
      for (let i = 0; i < rows; i++) {
        const weight = scores[i] === -Infinity ? 0 : Math.exp(scores[i] - maximum);
        scores[i] = weight;
        sum += weight;
      }
    } else {
      scores.fill(0, 0, rows);
    }
    const inverse = sum > 0 ? 1 / sum : 0;
    for (let i = 0; i < rows; i++) scores[i] *= inverse;
    // Pass 2: values accumulate per codec domain, then map back once per codec.
    out.fill(0, outOffset, outOffset + headDim);
    this.usedValueCodecs.length = 0;
    rows = 0;
    for (let p = 0; p < pages.length; p++) {
      const page = pages[p];
      if (page.location === "offloaded") continue;
      for (let s = 0; s < page.segments.length; s++) {
        const segment = page.segments[s];
        const count = segment.count;
        const weights = scores.subarray(rows, rows + count);
        let accumulator = this.accumulators.get(segment.valueCodec);
        if (accumulator === undefined) {
          accumulator = new Float32Array(headDim);
          this.accumulators.set(segment.valueCodec, accumulator);
        }
        if (!this.usedValueCodecs.includes(segment.valueCodec)) {
          accumulator.fill(0);
          this.usedValueCodecs.push(segment.valueCodec);
        }
        segment.valueCodec.accumulate(weights, segment.values as EncodedBlock, accumulator);
        if (weightsOut !== undefined) {
          const positions = segment.explicitPositions;
          if (positions === undefined) weightsOut.set(weights, weightsOffset + segment.start);
          else for (let i = 0; i < count; i++) weightsOut[weightsOffset + positions[i]] = weights[i];
        }
        rows += count;
      }
    }
    for (let c = 0; c < this.usedValueCodecs.length; c++) {
      const codec = this.usedValueCodecs[c];
      const finished = codec.finishAccumulator(this.accumulators.get(codec) as Float32Array, this.finishScratch);
      for (let i = 0; i < headDim; i++) out[outOffset + i] += finished[i];
    }
    for (let r = 0; r < residual.count; r++) {
      const weight = scores[residualScoreStart + r];
      if (weight === 0) continue;
      const valueOffset = (residualBase + r) * headDim;
      for (let i = 0; i < headDim; i++) out[outOffset + i] += weight * residual.values[valueOffset + i];
      if (weightsOut !== undefined) weightsOut[weightsOffset + residual.start + r] = weight;
    }
  }

  /** Score scratch with room for every resident row of `pages` plus the residual rows. */
  private rowScores(pages: readonly AttendedPage[], residualCount: number): Float32Array {
    let rows = residualCount;
    for (let p = 0; p < pages.length; p++) {
      const page = pages[p];
      if (page.location === "offloaded") continue;
      for (let s = 0; s < page.segments.length; s++) rows += page.segments[s].count;
    }
    if (this.scores.length < rows) this.scores = new Float32Array(Math.max(rows, this.scores.length * 2, 64));
    return this.scores;
  }
}
