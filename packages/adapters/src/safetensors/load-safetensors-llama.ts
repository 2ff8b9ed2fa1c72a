import { assertFiniteLlamaWeights } from "../llama2c/load-llama2c-checkpoint.js";
import type { LlamaLayerWeights, LlamaWeights } from "../model/llama-weights.js";
import { ModelFormatError } from "../model/model-format-error.js";
import { type HuggingFaceConfigSource, llamaConfigFromHuggingFace } from "./hugging-face-config.js";
import { type SafetensorsInput, SafetensorsShards } from "./safetensors-shards.js";

/**
 * Hugging Face orders each q/k head as [all real parts, all imaginary parts] (rotate_half RoPE);
 * llama2.c rotates interleaved pairs. Row h·d + half·d/2 + i goes back to row h·d + 2i + half
 * (llama2.c export.py permute_reverse).
 */
export function unpermuteRotaryRows(weights: Float32Array, heads: number, headDim: number, columns: number): Float32Array {
  const out = new Float32Array(weights.length);
  const halfDim = headDim / 2;
  for (let head = 0; head < heads; head++) {
    for (let half = 0; half < 2; half++) {
      for (let i = 0; i < halfDim; i++) {
        const from = (head * headDim + half * halfDim + i) * columns;
        const to = (head * headDim + 2 * i + half) * columns;
        out.set(weights.subarray(from, from + columns), to);
      }
    }
  }
  return out;
}

/** The inverse of unpermuteRotaryRows (llama2.c/Meta layout → Hugging Face layout); for writers and tests. */
export function permuteRotaryRows(weights: Float32Array, heads: number, headDim: number, columns: number): Float32Array {
  const out = new Float32Array(weights.length);
  const halfDim = headDim / 2;
  for (let head = 0; head < heads; head++) {
    for (let half = 0; half < 2; half++) {
      for (let i = 0; i < halfDim; i++) {
        const from = (head * headDim + 2 * i + half) * columns;
        const to = (head * headDim + half * halfDim + i) * columns;
        out.set(weights.subarray(from, from + columns), to);
      }
    }
  }
  return out;
}

/**
 * Loads a Hugging Face Llama checkpoint (model.safetensors, or its shards, plus config.json) into
 * the llama2.c layout: F32/F16/BF16 tensors become fp32 and q/k rows are un-permuted for
 * interleaved RoPE.
 */
export function loadSafetensorsLlama(files: SafetensorsInput | readonly SafetensorsInput[], configJson: HuggingFaceConfigSource): LlamaWeights {
  const shards = new SafetensorsShards(files);
  const parsed = llamaConfigFromHuggingFace(configJson);
  const config = { ...parsed, sharedClassifier: parsed.sharedClassifier || !shards.has("lm_head.weight") };
  const { dim, hiddenDim, heads, kvHeads, headDim, vocabSize } = config;
  const queryDim = heads * headDim;
  const kvDim = kvHeads * headDim;
  const tokenEmbedding = shards.float32("model.embed_tokens.weight", [vocabSize, dim]);
  const layers: LlamaLayerWeights[] = [];
  for (let layer = 0; layer < config.layers; layer++) {
    const prefix = `model.layers.${layer}.`;
    layers.push({
      attentionNorm: shards.float32(`${prefix}input_layernorm.weight`, [dim]),
      wq: unpermuteRotaryRows(shards.float32(`${prefix}self_attn.q_proj.weight`, [queryDim, dim]), heads, headDim, dim),
      wk: unpermuteRotaryRows(shards.float32(`${prefix}self_attn.k_proj.weight`, [kvDim, dim]), kvHeads, headDim, dim),
      wv: shards.float32(`${prefix}self_attn.v_proj.weight`, [kvDim, dim]),
      wo: shards.float32(`${prefix}self_attn.o_proj.weight`, [dim, queryDim]),
      ffnNorm: shards.float32(`${prefix}post_attention_layernorm.weight`, [dim]),
      w1: shards.float32(`${prefix}mlp.gate_proj.weight`, [hiddenDim, dim]),
      w2: shards.float32(`${prefix}mlp.down_proj.weight`, [dim, hiddenDim]),
      w3: shards.float32(`${prefix}mlp.up_proj.weight`, [hiddenDim, dim]),
    });
  }
  const finalNorm = shards.float32("model.norm.weight", [dim]);
  const classifier = config.sharedClassifier ? tokenEmbedding : shards.float32("lm_head.weight", [vocabSize, dim]);
  const weights: LlamaWeights = { config, tokenEmbedding, layers, finalNorm, classifier };
  assertFiniteLlamaWeights(weights, "safetensors");
  return weights;
}
