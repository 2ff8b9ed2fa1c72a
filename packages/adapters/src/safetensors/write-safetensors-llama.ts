import type { LlamaWeights } from "../model/llama-weights.js";
import { permuteRotaryRows } from "./load-safetensors-llama.js";
import { type SafetensorsFloatType, type SafetensorsWriterTensor, writeSafetensors } from "./safetensors-file.js";

/** A Hugging Face LlamaForCausalLM checkpoint: the `model.safetensors` bytes and its `config.json` object. */
export interface SafetensorsLlamaCheckpoint {
  readonly file: Uint8Array;
  readonly config: Record<string, unknown>;
}

/**
 * Writes Llama weights (llama2.c layout) as a Hugging Face LlamaForCausalLM checkpoint, the inverse of
 * `loadSafetensorsLlama`: q/k rows permuted for rotate_half RoPE as HF stores them, `lm_head.weight`
 * only when the classifier is not tied.
 */
export function writeSafetensorsLlama(weights: LlamaWeights, options: { dtype?: SafetensorsFloatType } = {}): SafetensorsLlamaCheckpoint {
  const dtype = options.dtype ?? "F32";
  const { dim, hiddenDim, heads, kvHeads, headDim, vocabSize } = weights.config;
  const tensors: Record<string, SafetensorsWriterTensor> = {
    "model.embed_tokens.weight": { dtype, shape: [vocabSize, dim], data: weights.tokenEmbedding },
    "model.norm.weight": { dtype, shape: [dim], data: weights.finalNorm },
  };
  if (!weights.config.sharedClassifier) tensors["lm_head.weight"] = { dtype, shape: [vocabSize, dim], data: weights.classifier };
  weights.layers.forEach((layer, index) => {
    const prefix = `model.layers.${index}.`;
    tensors[`${prefix}input_layernorm.weight`] = { dtype, shape: [dim], data: layer.attentionNorm };
    tensors[`${prefix}self_attn.q_proj.weight`] = { dtype, shape: [heads * headDim, dim], data: permuteRotaryRows(layer.wq, heads, headDim, dim) };
    tensors[`${prefix}self_attn.k_proj.weight`] = { dtype, shape: [kvHeads * headDim, dim], data: permuteRotaryRows(layer.wk, kvHeads, headDim, dim) };
    tensors[`${prefix}self_attn.v_proj.weight`] = { dtype, shape: [kvHeads * headDim, dim], data: layer.wv };
    tensors[`${prefix}self_attn.o_proj.weight`] = { dtype, shape: [dim, heads * headDim], data: layer.wo };
    tensors[`${prefix}post_attention_layernorm.weight`] = { dtype, shape: [dim], data: layer.ffnNorm };
    tensors[`${prefix}mlp.gate_proj.weight`] = { dtype, shape: [hiddenDim, dim], data: layer.w1 };
    tensors[`${prefix}mlp.down_proj.weight`] = { dtype, shape: [dim, hiddenDim], data: layer.w2 };
    tensors[`${prefix}mlp.up_proj.weight`] = { dtype, shape: [hiddenDim, dim], data: layer.w3 };
  });
  const config = {
    model_type: "llama",
    hidden_size: dim,
    intermediate_size: hiddenDim,
    num_hidden_layers: weights.config.layers,
    num_attention_heads: heads,
    num_key_value_heads: kvHeads,
    vocab_size: vocabSize,
    max_position_embeddings: weights.config.maxSequenceLength,
    rms_norm_eps: weights.config.normEpsilon,
    rope_theta: weights.config.ropeTheta,
    tie_word_embeddings: weights.config.sharedClassifier,
  };
  return { file: writeSafetensors(tensors, { format: "pt" }), config };
}
