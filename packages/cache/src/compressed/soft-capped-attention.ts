import type { EncodedBlock } from "@kvpack/codecs";
import { CacheConfigurationError } from "../errors.js";
import type { AttentionOptions } from "../kv-cache.js";
import type { CacheLayout } from "./cache-layout.js";
import type { LayerState } from "./layer-storage.js";
import { positionAt } from "./page.js";
import type { RowDecoder } from "./row-decoder.js";

/**
 * Attention with Gemma 2's logit soft cap (cap·tanh(s / cap) on each scaled score), which the
 * attention backends do not compute: the layer's live resident rows are decoded by position, then
 * attended with DenseKVCache's rounding steps, so the fp32 codec gives DenseKVCache's output bit
 * for bit. It decodes the whole layer per call (a reference path, not a fast one); dropped rows and
 * offloaded pages take no weight, as in the backends.
 */
export class SoftCappedAttention {
  private keys = new Float32Array(0);
  private values = new Float32Array(0);
  private attended = new Uint8Array(0);
  private scores = new Float32Array(0);
  private weightsScratch = new Float32Array(0);

  constructor(
    private readonly layout: CacheLayout,
    private readonly decoder: RowDecoder,
  ) {}

  /** Writes the output into `out`; returns the weights (heads × length) when asked for or `wantWeights`. */
  attend(state: LayerState, queries: Float32Array, out: Float32Array, options: AttentionOptions, wantWeights: boolean): Float32Array | undefined {
    const { heads } = options;
    const cap = options.logitSoftCap!;
    const { headDim, kvHeads } = this.layout;
    if (!(cap > 0 && Number.isFinite(cap))) throw new CacheConfigurationError(`attend: logitSoftCap must be a positive finite number, got ${cap}`);
    if (!(Number.isInteger(heads) && heads > 0 && heads % kvHeads === 0)) throw new CacheConfigurationError(`attend: heads (${heads}) must be a positive multiple of kvHeads (${kvHeads})`);
    if (queries.length !== heads * headDim || out.length < heads * headDim) {
      throw new CacheConfigurationError(`attend: queries and out need ${heads * headDim} floats, got ${queries.length} and ${out.length}`);
    }
    const length = state.length;
    let weightsOut = options.weightsOut;
    if (weightsOut !== undefined && weightsOut.length < heads * length) throw new CacheConfigurationError(`attend: weightsOut needs heads × length = ${heads * length} floats, got ${weightsOut.length}`);
    if (weightsOut === undefined && wantWeights) {
      if (this.weightsScratch.length < heads * length) this.weightsScratch = new Float32Array(heads * length * 2);
      weightsOut = this.weightsScratch;
    }
    weightsOut?.fill(0, 0, heads * length);
    this.decodeLayer(state);
    const scale = options.scale ?? 1 / Math.sqrt(headDim);
    const groupSize = heads / kvHeads;
    if (this.scores.length < length) this.scores = new Float32Array(length * 2);
    const { keys, values, attended, scores } = this;
    for (let head = 0; head < heads; head++) {
      const kvHead = Math.floor(head / groupSize);
      const base = kvHead * length;
      const queryOffset = head * headDim;
      let maximum = -Infinity;
      for (let t = 0; t < length; t++) {
        if (!attended[base + t]) continue;
        const keyOffset = (base + t) * headDim;
        let dot = 0;
        for (let i = 0; i < headDim; i++) dot += queries[queryOffset + i] * keys[keyOffset + i];
        scores[t] = dot;
        scores[t] *= scale;
        scores[t] = cap * Math.tanh(scores[t] / cap);
        if (scores[t] > maximum) maximum = scores[t];
      }
      let sum = 0;
      for (let t = 0; t < length; t++) {
        if (!attended[base + t]) continue;
        const weight = Math.exp(scores[t] - maximum);
        scores[t] = weight;
        sum += weight;
      }
      const inverse = 1 / sum;
      const outOffset = head * headDim;
      out.fill(0, outOffset, outOffset + headDim);
      for (let t = 0; t < length; t++) {
        if (!attended[base + t]) continue;
        scores[t] *= inverse;
        const weight = scores[t];
        if (weightsOut) weightsOut[head * length + t] = weight;
        const valueOffset = (base + t) * headDim;
        for (let i = 0; i < headDim; i++) out[outOffset + i] += weight * values[valueOffset + i];
      }
    }
    return weightsOut;
  }

  /** Decodes every live resident row into [kvHead][position][headDim], marking which are attended. */
  private decodeLayer(state: LayerState): void {
    const { headDim, kvHeads, flushAt } = this.layout;
    const length = state.length;
    if (this.attended.length < kvHeads * length) {
      this.attended = new Uint8Array(kvHeads * length * 2);
      this.keys = new Float32Array(kvHeads * length * 2 * headDim);
      this.values = new Float32Array(kvHeads * length * 2 * headDim);
    }
    const { keys, values, attended } = this;
    attended.fill(0, 0, kvHeads * length);
    for (let kvHead = 0; kvHead < kvHeads; kvHead++) {
      const base = kvHead * length;
      for (const page of state.pages[kvHead]) {
        if (page.location === "offloaded") continue;
        for (const segment of page.segments) {
          const decodedKeys = this.decoder.keys(segment.keyCodec, segment.keys as EncodedBlock, segment.count);
          const decodedValues = this.decoder.values(segment.valueCodec, segment.values as EncodedBlock, segment.count);
          for (let row = 0; row < segment.count; row++) {
            if (!segment.live[row]) continue;
            const at = base + positionAt(segment, row);
            keys.set(decodedKeys.subarray(row * headDim, (row + 1) * headDim), at * headDim);
            values.set(decodedValues.subarray(row * headDim, (row + 1) * headDim), at * headDim);
            attended[at] = 1;
          }
        }
      }
      for (let r = 0; r < state.residualCount; r++) {
        const index = kvHead * flushAt + r;
        if (!state.residualLive[index]) continue;
        const at = base + state.residualStart + r;
        keys.set(state.residualKeys.subarray(index * headDim, (index + 1) * headDim), at * headDim);
        values.set(state.residualValues.subarray(index * headDim, (index + 1) * headDim), at * headDim);
        attended[at] = 1;
      }
    }
  }
}
