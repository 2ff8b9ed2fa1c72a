import type { LayerActivations, LayerObserver } from "@kvpack/adapters";

export interface CaptureShape {
  readonly layers: number;
  readonly heads: number;
  readonly kvHeads: number;
  readonly headDim: number;
  /** Most positions the capture holds. */
  readonly capacity: number;
}

/** Attention weight matrices are kept only while they stay under this many floats (≈ 64 MiB). */
const maximumWeightFloats = 16 * 1024 * 1024;

/**
 * Records what the runtime computes at every layer and position: post-RoPE queries, the keys and
 * values appended to the cache, the attention output and (when small enough) the attention
 * weights. This is the "captured KV" the frontier and heatmaps are computed on.
 */
export class KVCapture implements LayerObserver {
  readonly shape: CaptureShape;
  readonly captureAttentionWeights: boolean;
  /** Per layer: capacity × heads × headDim. */
  readonly queries: Float32Array[];
  /** Per layer: capacity × kvHeads × headDim. */
  readonly keys: Float32Array[];
  readonly values: Float32Array[];
  /** Per layer: capacity × heads × headDim. */
  readonly outputs: Float32Array[];
  /** Per layer: heads × capacity × capacity, [head][query position][key index], NaN where not attended. */
  readonly weights: Float32Array[] | undefined;
  /** Positions recorded so far (all layers). */
  length = 0;

  constructor(shape: CaptureShape) {
    this.shape = shape;
    const { layers, heads, kvHeads, headDim, capacity } = shape;
    this.queries = Array.from({ length: layers }, () => new Float32Array(capacity * heads * headDim));
    this.keys = Array.from({ length: layers }, () => new Float32Array(capacity * kvHeads * headDim));
    this.values = Array.from({ length: layers }, () => new Float32Array(capacity * kvHeads * headDim));
    this.outputs = Array.from({ length: layers }, () => new Float32Array(capacity * heads * headDim));
    this.captureAttentionWeights = layers * heads * capacity * capacity <= maximumWeightFloats;
    this.weights = this.captureAttentionWeights ? Array.from({ length: layers }, () => new Float32Array(heads * capacity * capacity).fill(Number.NaN)) : undefined;
  }

  onLayer(activations: LayerActivations): void {
    const { layer, position } = activations;
    if (position >= this.shape.capacity) return;
    this.record(layer, position, activations.queries, activations.keys, activations.values, activations.attentionOutput, activations.attentionWeights, activations.cacheLength);
  }

  /** Stores one layer × position; `weights` is heads × cacheLength when given. */
  record(
    layer: number,
    position: number,
    queries: Float32Array,
    keys: Float32Array | undefined,
    values: Float32Array | undefined,
    output: Float32Array,
    weights: Float32Array | undefined,
    cacheLength: number,
  ): void {
    const { heads, kvHeads, headDim, capacity } = this.shape;
    this.queries[layer].set(queries.subarray(0, heads * headDim), position * heads * headDim);
    if (keys) this.keys[layer].set(keys.subarray(0, kvHeads * headDim), position * kvHeads * headDim);
    if (values) this.values[layer].set(values.subarray(0, kvHeads * headDim), position * kvHeads * headDim);
    this.outputs[layer].set(output.subarray(0, heads * headDim), position * heads * headDim);
    if (this.weights && weights) {
      // Weights are indexed by position; tokens a policy evicted get weight 0.
      const columns = Math.min(cacheLength, capacity);
      for (let head = 0; head < heads; head++) {
        this.weights[layer].set(weights.subarray(head * cacheLength, head * cacheLength + columns), (head * capacity + position) * capacity);
      }
    }
    if (layer === this.shape.layers - 1) this.length = Math.max(this.length, position + 1);
  }

  /** length × length weights of one layer and head (row = query position), NaN above the diagonal. */
  attentionMatrix(layer: number, head: number): Float32Array {
    const { capacity } = this.shape;
    const length = this.length;
    const matrix = new Float32Array(length * length).fill(Number.NaN);
    if (!this.weights) return matrix;
    const source = this.weights[layer];
    for (let row = 0; row < length; row++) {
      const from = (head * capacity + row) * capacity;
      matrix.set(source.subarray(from, from + length), row * length);
    }
    return matrix;
  }
}

/** Cosine similarity of two equal-length slices; 1 when both are zero (identical). */
export function cosineSimilarity(a: Float32Array, aOffset: number, b: Float32Array, bOffset: number, length: number): number {
  let dot = 0;
  let normA = 0;
  let normB = 0;
  for (let i = 0; i < length; i++) {
    const x = a[aOffset + i];
    const y = b[bOffset + i];
    dot += x * y;
    normA += x * x;
    normB += y * y;
  }
  if (normA === 0 && normB === 0) return 1;
  if (normA === 0 || normB === 0) return 0;
  return dot / Math.sqrt(normA * normB);
}
