/**
 * What a model runtime needs from a KV cache during incremental decoding.
 *
 * The runtime appends one token's keys and values per layer, then asks the cache for the
 * attention output of that layer's queries. The cache, not the runtime, computes attention, so a
 * compressed cache can score keys from codes and accumulate values without a dense copy.
 * The dense cache and the kvpack compressed cache implement this the same way.
 */
export interface KVCacheShape {
  readonly layers: number;
  readonly kvHeads: number;
  readonly headDim: number;
  /**
   * Per-layer sliding window (Gemma 2, Mistral): a layer with a window W attends only its last W
   * tokens (the current one included, as llama.cpp's standard SWA mask) and keeps no more than
   * that; undefined entries (or no list) attend over the whole cache.
   */
  readonly layerWindows?: readonly (number | undefined)[];
}

export interface AttentionOptions {
  /** Number of query heads (GQA: query head h reads KV head floor(h / (heads / kvHeads))). */
  readonly heads: number;
  /** Softmax scale; defaults to 1/√headDim. */
  readonly scale?: number;
  /**
   * Gemma 2's attention logit soft cap: each scaled score s becomes cap·tanh(s / cap) before the
   * softmax. Undefined = none. Caches that cannot apply it throw rather than ignore it.
   */
  readonly logitSoftCap?: number;
  /** When given, receives the attention weights, heads × length (for policies and heatmaps). */
  readonly weightsOut?: Float32Array;
}

export interface KVCache extends KVCacheShape {
  /** Tokens cached in `layer` (all layers agree after a full forward step). */
  length(layer?: number): number;
  /** Appends one token: `keys` and `values` are kvHeads × headDim, keys already RoPE-rotated. */
  append(layer: number, keys: Float32Array, values: Float32Array): void;
  /** out (heads × headDim) = softmax(q·Kᵀ·scale)·V over every cached token of `layer`. */
  attend(layer: number, queries: Float32Array, out: Float32Array, options: AttentionOptions): void;
  /**
   * Dense copy of a layer, layout [kvHead][position][headDim] (what ONNX decoder-with-past models
   * take as past_key_values). Both outputs need kvHeads × length × headDim floats.
   */
  readLayer(layer: number, keysOut: Float32Array, valuesOut: Float32Array): void;
  /** Drops every token at position ≥ `length` (all layers). */
  truncate(length: number): void;
  /** Bytes held, all-in. */
  byteLength(): number;
  /**
   * Optional: token ids of positions [startPosition, startPosition + n) (default: append after the
   * last recorded). Caches that share pages by token prefix (CompressedKVCache) need them; a
   * runtime calls it when it knows the ids, and caches without it ignore them.
   */
  recordTokens?(tokenIds: ArrayLike<number>, startPosition?: number): void;
}
