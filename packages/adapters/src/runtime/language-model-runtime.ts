import type { KVCache, KVCacheShape } from "@kvpack/cache";

/**
 * One layer's activations at one decoding step, handed to a LayerObserver. The arrays are the
 * runtime's own reused buffers: copy what you keep.
 */
export interface LayerActivations {
  readonly layer: number;
  readonly position: number;
  readonly token: number;
  /** heads × headDim, after RoPE (Llama). */
  readonly queries: Float32Array;
  /** kvHeads × headDim, after RoPE: exactly what was appended to the cache. */
  readonly keys: Float32Array;
  /** kvHeads × headDim: exactly what was appended to the cache. */
  readonly values: Float32Array;
  /** heads × headDim: what cache.attend returned. */
  readonly attentionOutput: Float32Array;
  /** heads × cacheLength attention weights, only when the observer sets captureAttentionWeights. */
  readonly attentionWeights: Float32Array | undefined;
  /** Tokens the cache held for this layer when attending (after the append). */
  readonly cacheLength: number;
}

/** Evaluation hook: sees each layer's q, k, v and attention output (KV capture, attention fidelity). */
export interface LayerObserver {
  /** Ask the cache for attention weights each layer (costs a little: the cache writes heads × length floats). */
  readonly captureAttentionWeights?: boolean;
  onLayer(activations: LayerActivations): void;
}

export interface PrefillOptions {
  /**
   * Tokens that go through each layer together (matrix–matrix); default 64; 1 is token by token.
   * Within a chunk a layer appends and attends its tokens in order, but the cache sees the chunk
   * layer by layer: a cache whose retention policy acts after each token's last layer (as
   * CompressedKVCache's does) acts only after the chunk has been through the earlier layers.
   */
  readonly chunkSize?: number;
}

/** A decoder-only model that decodes one token at a time over a KVCache. */
export interface LanguageModelRuntime {
  readonly architecture: "llama" | "gpt2";
  readonly vocabSize: number;
  /** Context length the model was trained for (positions beyond it are allowed where the architecture permits). */
  readonly maxSequenceLength: number;
  readonly heads: number;
  /** The KVCache shape this model appends: layers, kvHeads, headDim. */
  readonly cacheShape: KVCacheShape;
  /** Optional evaluation hook, called per layer during forward. */
  observer: LayerObserver | undefined;
  /**
   * Runs one token at `position`, appending its keys and values to `cache`, and returns the logits
   * (vocabSize). The returned array is reused by the next call.
   */
  forward(token: number, position: number, cache: KVCache): Float32Array;
  /**
   * Optional batched prompt: runs `tokens` at positions `startPosition…` (several tokens through
   * each layer at once), appending them to `cache`, and returns the logits of the last token: the
   * same as calling `forward` on each in turn, up to float32 summation order. Reused like forward's.
   */
  prefill?(tokens: readonly number[], startPosition: number, cache: KVCache, options?: PrefillOptions): Float32Array;
}
