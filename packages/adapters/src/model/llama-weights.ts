/**
 * Llama-family configuration and weights as plain typed arrays, row-major, in the llama2.c
 * layout (every loader — llama2.c, GGUF, safetensors — produces this, dequantized to fp32).
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
  /** dim / heads. */
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
}
