import type { AttentionOptions, KVCache, KVCacheShape } from "./kv-cache.js";

/** The uncompressed fp32 cache: the baseline every compressed cache is compared with. */
export class DenseKVCache implements KVCache {
  readonly layers: number;
  readonly kvHeads: number;
  readonly headDim: number;
  readonly capacity: number;
  private readonly keys: Float32Array[];
  private readonly values: Float32Array[];
  private readonly lengths: Int32Array;
  private scratch: Float32Array;

  constructor(shape: KVCacheShape & { capacity: number }) {
    if (!(shape.layers > 0 && shape.kvHeads > 0 && shape.headDim > 0 && shape.capacity > 0)) {
      throw new RangeError(`DenseKVCache: layers, kvHeads, headDim and capacity must be positive, got ${JSON.stringify(shape)}`);
    }
    this.layers = shape.layers;
    this.kvHeads = shape.kvHeads;
    this.headDim = shape.headDim;
    this.capacity = shape.capacity;
    const perLayer = shape.capacity * shape.kvHeads * shape.headDim;
    this.keys = Array.from({ length: shape.layers }, () => new Float32Array(perLayer));
    this.values = Array.from({ length: shape.layers }, () => new Float32Array(perLayer));
    this.lengths = new Int32Array(shape.layers);
    this.scratch = new Float32Array(shape.capacity);
  }

  length(layer = this.layers - 1): number {
    return this.lengths[layer];
  }

  append(layer: number, keys: Float32Array, values: Float32Array): void {
    const stride = this.kvHeads * this.headDim;
    if (keys.length !== stride || values.length !== stride) {
      throw new RangeError(`DenseKVCache.append: expected ${stride} floats for keys and values, got ${keys.length} and ${values.length}`);
    }
    const position = this.lengths[layer];
    if (position >= this.capacity) throw new RangeError(`DenseKVCache.append: capacity ${this.capacity} exceeded`);
    // Layout [position][kvHead][dim]: one token's heads are contiguous, as the runtime produces them.
    this.keys[layer].set(keys, position * stride);
    this.values[layer].set(values, position * stride);
    this.lengths[layer] = position + 1;
  }

  attend(layer: number, queries: Float32Array, out: Float32Array, options: AttentionOptions): void {
    const { heads } = options;
    const headDim = this.headDim;
    const kvHeads = this.kvHeads;
    const stride = kvHeads * headDim;
    const length = this.lengths[layer];
    const scale = options.scale ?? 1 / Math.sqrt(headDim);
    const groupSize = heads / kvHeads;
    const keys = this.keys[layer];
    const values = this.values[layer];
    const scores = this.scratch;
    for (let head = 0; head < heads; head++) {
      const kvHead = Math.floor(head / groupSize);
      const queryOffset = head * headDim;
      let maximum = -Infinity;
      for (let t = 0; t < length; t++) {
        const keyOffset = t * stride + kvHead * headDim;
        let dot = 0;
        for (let i = 0; i < headDim; i++) dot += queries[queryOffset + i] * keys[keyOffset + i];
        // Same rounding steps as CompressedKVCache (float32 dot, then scaled), so a dense-equivalent
        // compressed configuration reproduces this cache exactly rather than to float32 noise.
        scores[t] = dot;
        scores[t] *= scale;
        if (scores[t] > maximum) maximum = scores[t];
      }
      let sum = 0;
      for (let t = 0; t < length; t++) {
        const weight = Math.exp(scores[t] - maximum);
        scores[t] = weight;
        sum += weight;
      }
      const inverse = 1 / sum;
      for (let t = 0; t < length; t++) scores[t] *= inverse;
      const outOffset = head * headDim;
      out.fill(0, outOffset, outOffset + headDim);
      for (let t = 0; t < length; t++) {
        const weight = scores[t];
        if (options.weightsOut) options.weightsOut[head * length + t] = weight;
        const valueOffset = t * stride + kvHead * headDim;
        for (let i = 0; i < headDim; i++) out[outOffset + i] += weight * values[valueOffset + i];
      }
    }
  }

  readLayer(layer: number, keysOut: Float32Array, valuesOut: Float32Array): void {
    const { kvHeads, headDim } = this;
    const length = this.lengths[layer];
    const stride = kvHeads * headDim;
    for (let kvHead = 0; kvHead < kvHeads; kvHead++) {
      for (let t = 0; t < length; t++) {
        const from = t * stride + kvHead * headDim;
        const to = (kvHead * length + t) * headDim;
        keysOut.set(this.keys[layer].subarray(from, from + headDim), to);
        valuesOut.set(this.values[layer].subarray(from, from + headDim), to);
      }
    }
  }

  truncate(length: number): void {
    for (let layer = 0; layer < this.layers; layer++) this.lengths[layer] = Math.min(this.lengths[layer], Math.max(0, length));
  }

  byteLength(): number {
    let tokens = 0;
    for (let layer = 0; layer < this.layers; layer++) tokens += this.lengths[layer];
    return tokens * this.kvHeads * this.headDim * 4 * 2;
  }
}
