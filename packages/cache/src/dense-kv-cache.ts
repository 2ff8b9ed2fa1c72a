import type { AttentionOptions, KVCache, KVCacheShape } from "./kv-cache.js";
import { checkLayerWindows } from "./layer-windows.js";

/**
 * The uncompressed fp32 cache: the baseline every compressed cache is compared with. A layer with a
 * sliding window W (`layerWindows`) is a ring of W rows: position p lives in row p mod W, attention
 * reads the last W positions, and older ones are overwritten.
 */
export class DenseKVCache implements KVCache {
  readonly layers: number;
  readonly kvHeads: number;
  readonly headDim: number;
  readonly capacity: number;
  readonly layerWindows: readonly (number | undefined)[] | undefined;
  private readonly keys: Float32Array[];
  private readonly values: Float32Array[];
  private readonly lengths: Int32Array;
  /** Rows per layer: capacity, or the layer's window when that is smaller (a ring). */
  private readonly rows: Int32Array;
  /** The oldest position each layer still holds (a ring forgets older ones, truncation cannot bring them back). */
  private readonly firstHeld: Int32Array;
  private scratch: Float32Array;

  constructor(shape: KVCacheShape & { capacity: number }) {
    if (!(shape.layers > 0 && shape.kvHeads > 0 && shape.headDim > 0 && shape.capacity > 0)) {
      throw new RangeError(`DenseKVCache: layers, kvHeads, headDim and capacity must be positive, got ${JSON.stringify(shape)}`);
    }
    this.layers = shape.layers;
    this.kvHeads = shape.kvHeads;
    this.headDim = shape.headDim;
    this.capacity = shape.capacity;
    this.layerWindows = checkLayerWindows(shape.layerWindows, shape.layers, "DenseKVCache");
    this.rows = Int32Array.from({ length: shape.layers }, (_, layer) => Math.min(shape.capacity, this.layerWindows?.[layer] ?? shape.capacity));
    const stride = shape.kvHeads * shape.headDim;
    this.keys = Array.from(this.rows, (rows) => new Float32Array(rows * stride));
    this.values = Array.from(this.rows, (rows) => new Float32Array(rows * stride));
    this.lengths = new Int32Array(shape.layers);
    this.firstHeld = new Int32Array(shape.layers);
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
    const windowed = this.layerWindows?.[layer] !== undefined;
    if (position >= this.capacity && !windowed) throw new RangeError(`DenseKVCache.append: capacity ${this.capacity} exceeded`);
    // Layout [row][kvHead][dim]: one token's heads are contiguous, as the runtime produces them.
    const row = position % this.rows[layer];
    this.keys[layer].set(keys, row * stride);
    this.values[layer].set(values, row * stride);
    this.lengths[layer] = position + 1;
    this.firstHeld[layer] = Math.max(this.firstHeld[layer], position + 1 - this.rows[layer]);
  }

  /** The positions `layer` attends: [first, length). */
  private attendedRange(layer: number): { first: number; length: number } {
    const length = this.lengths[layer];
    const window = this.layerWindows?.[layer];
    const first = Math.max(this.firstHeld[layer], window === undefined ? 0 : length - window);
    return { first, length };
  }

  attend(layer: number, queries: Float32Array, out: Float32Array, options: AttentionOptions): void {
    const { heads } = options;
    const headDim = this.headDim;
    const kvHeads = this.kvHeads;
    const stride = kvHeads * headDim;
    const { first, length } = this.attendedRange(layer);
    const rows = this.rows[layer];
    const scale = options.scale ?? 1 / Math.sqrt(headDim);
    const cap = options.logitSoftCap;
    if (cap !== undefined && !(cap > 0 && Number.isFinite(cap))) throw new RangeError(`DenseKVCache.attend: logitSoftCap must be a positive finite number, got ${cap}`);
    const groupSize = heads / kvHeads;
    const keys = this.keys[layer];
    const values = this.values[layer];
    const scores = this.scratch;
    if (options.weightsOut) options.weightsOut.fill(0, 0, heads * length);
    for (let head = 0; head < heads; head++) {
      const kvHead = Math.floor(head / groupSize);
      const queryOffset = head * headDim;
      let maximum = -Infinity;
      for (let t = first; t < length; t++) {
        const keyOffset = (t % rows) * stride + kvHead * headDim;
        let dot = 0;
        for (let i = 0; i < headDim; i++) dot += queries[queryOffset + i] * keys[keyOffset + i];
        // Same rounding steps as CompressedKVCache (float32 dot, then scaled), so a dense-equivalent
        // compressed configuration reproduces this cache exactly rather than to float32 noise.
        scores[t] = dot;
        scores[t] *= scale;
        if (cap !== undefined) scores[t] = cap * Math.tanh(scores[t] / cap);
        if (scores[t] > maximum) maximum = scores[t];
      }
      let sum = 0;
      for (let t = first; t < length; t++) {
        const weight = Math.exp(scores[t] - maximum);
        scores[t] = weight;
        sum += weight;
      }
      const inverse = 1 / sum;
      for (let t = first; t < length; t++) scores[t] *= inverse;
      const outOffset = head * headDim;
      out.fill(0, outOffset, outOffset + headDim);
      for (let t = first; t < length; t++) {
        const weight = scores[t];
        if (options.weightsOut) options.weightsOut[head * length + t] = weight;
        const valueOffset = (t % rows) * stride + kvHead * headDim;
        for (let i = 0; i < headDim; i++) out[outOffset + i] += weight * values[valueOffset + i];
      }
    }
  }

  /** Positions a sliding-window layer no longer holds read as zeros. */
  readLayer(layer: number, keysOut: Float32Array, valuesOut: Float32Array): void {
    const { kvHeads, headDim } = this;
    const length = this.lengths[layer];
    const first = this.firstHeld[layer];
    const rows = this.rows[layer];
    const stride = kvHeads * headDim;
    for (let kvHead = 0; kvHead < kvHeads; kvHead++) {
      for (let t = 0; t < first; t++) {
        const to = (kvHead * length + t) * headDim;
        keysOut.fill(0, to, to + headDim);
        valuesOut.fill(0, to, to + headDim);
      }
      for (let t = first; t < length; t++) {
        const from = (t % rows) * stride + kvHead * headDim;
        const to = (kvHead * length + t) * headDim;
        keysOut.set(this.keys[layer].subarray(from, from + headDim), to);
        valuesOut.set(this.values[layer].subarray(from, from + headDim), to);
      }
    }
  }

  truncate(length: number): void {
    for (let layer = 0; layer < this.layers; layer++) {
      this.lengths[layer] = Math.min(this.lengths[layer], Math.max(0, length));
      this.firstHeld[layer] = Math.min(this.firstHeld[layer], this.lengths[layer]);
    }
  }

  /** Bytes of the rows held (a sliding-window layer holds at most its window). */
  byteLength(): number {
    let tokens = 0;
    for (let layer = 0; layer < this.layers; layer++) tokens += this.lengths[layer] - this.firstHeld[layer];
    return tokens * this.kvHeads * this.headDim * 4 * 2;
  }
}
