/**
 * Llama-family configuration and weights as plain typed arrays, row-major, in the llama2.c
 * layout (every loader — llama2.c, GGUF, safetensors — produces this, dequantized to fp32).
 * Norm weights are the factors the RMSNorm multiplies by: for Gemma 2, whose checkpoints store
 * w and multiply by (1 + w), they hold 1 + w, as llama.cpp's GGUF files do.
 */
export interface LlamaConfig {
  /** Model width. */
  readonly dim: number;
  /** SwiGLU hidden width. */
  readonly hiddenDim: number;
  readonly layers: number;
  readonly heads: number;
  readonly kvHeads: number;
  readonly vocabSize: number;
  /** Maximum context length. */
  readonly maxSequenceLength: number;
  /** Per-head width of queries, keys and values: dim / heads for llama2.c, GGUF `attention.key_length` where set (heads·headDim may differ from dim: Gemma 2, Qwen3). */
  readonly headDim: number;
  readonly ropeTheta: number;
  readonly normEpsilon: number;
  /** True when the classifier reuses the token embedding. */
  readonly sharedClassifier: boolean;
}

export interface LlamaLayerWeights {
  /** [dim] */
  readonly attentionNorm: Float32Array;
  /** [heads·headDim, dim] */
  readonly wq: Float32Array;
  /** [kvHeads·headDim, dim] */
  readonly wk: Float32Array;
  /** [kvHeads·headDim, dim] */
  readonly wv: Float32Array;
  /** [dim, heads·headDim] */
  readonly wo: Float32Array;
  /** [dim] */
  readonly ffnNorm: Float32Array;
  /** [hiddenDim, dim] gate */
  readonly w1: Float32Array;
  /** [dim, hiddenDim] down */
  readonly w2: Float32Array;
  /** [hiddenDim, dim] up */
  readonly w3: Float32Array;
  /** [heads·headDim], [kvHeads·headDim], [kvHeads·headDim]: biases added to q, k, v (Qwen2); absent = none. */
  readonly bq?: Float32Array;
  readonly bk?: Float32Array;
  readonly bv?: Float32Array;
  /** [headDim]: RMSNorm weight applied to each query / key head before RoPE (Qwen3); absent = none. */
  readonly queryNorm?: Float32Array;
  readonly keyNorm?: Float32Array;
  /** [dim]: RMSNorm of the attention output before its residual add (Gemma 2 sandwich norm); absent = none. */
  readonly postAttentionNorm?: Float32Array;
  /** [dim]: RMSNorm of the feed-forward output before its residual add (Gemma 2); absent = none. */
  readonly postFfnNorm?: Float32Array;
}

export interface LlamaWeights {
  readonly config: LlamaConfig;
  /** [vocabSize, dim] */
  readonly tokenEmbedding: Float32Array;
  readonly layers: readonly LlamaLayerWeights[];
  /** [dim] */
  readonly finalNorm: Float32Array;
  /** [vocabSize, dim]; the same array as tokenEmbedding when sharedClassifier. */
  readonly classifier: Float32Array;
  /** [vocabSize]: added to the logits (GGUF `output.bias`, Qwen2 / Phi-3 files may carry one); absent = none. */
  readonly classifierBias?: Float32Array;
}
