/** GPT-2 configuration (Hugging Face config.json names in comments). */
export interface Gpt2Config {
  /** n_embd */
  readonly dim: number;
  /** Feed-forward width, n_inner ?? 4·n_embd. */
  readonly hiddenDim: number;
  /** n_layer */
  readonly layers: number;
  /** n_head */
  readonly heads: number;
  readonly headDim: number;
  readonly vocabSize: number;
  /** n_positions: learned position embeddings exist only up to here. */
  readonly maxSequenceLength: number;
  /** layer_norm_epsilon */
  readonly normEpsilon: number;
}

/** GPT-2 block weights as row-major [out, in] fp32 (Hugging Face Conv1D weights are transposed at load). */
export interface Gpt2LayerWeights {
  readonly attentionNormWeight: Float32Array;
  readonly attentionNormBias: Float32Array;
  /** [dim, dim] each, split from c_attn. */
  readonly wq: Float32Array;
  readonly wk: Float32Array;
  readonly wv: Float32Array;
  /** [dim] each. */
  readonly bq: Float32Array;
  readonly bk: Float32Array;
  readonly bv: Float32Array;
  /** [dim, dim] attn.c_proj */
  readonly wo: Float32Array;
  readonly bo: Float32Array;
  readonly ffnNormWeight: Float32Array;
  readonly ffnNormBias: Float32Array;
  /** [hiddenDim, dim] mlp.c_fc */
  readonly wUp: Float32Array;
  readonly bUp: Float32Array;
  /** [dim, hiddenDim] mlp.c_proj */
  readonly wDown: Float32Array;
  readonly bDown: Float32Array;
}

export interface Gpt2Weights {
  readonly config: Gpt2Config;
  /** [vocabSize, dim] wte; also the classifier (GPT-2 ties them). */
  readonly tokenEmbedding: Float32Array;
  /** [maxSequenceLength, dim] wpe */
  readonly positionEmbedding: Float32Array;
  readonly layers: readonly Gpt2LayerWeights[];
  readonly finalNormWeight: Float32Array;
  readonly finalNormBias: Float32Array;
}
