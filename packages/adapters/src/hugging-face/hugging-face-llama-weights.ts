import { assertFiniteLlamaWeights } from "../llama2c/load-llama2c-checkpoint.js";
import type { LlamaLayerWeights, LlamaWeights } from "../model/llama-weights.js";
import { unpermuteRotaryRows } from "../safetensors/load-safetensors-llama.js";
import type { SafetensorsShards } from "../safetensors/safetensors-shards.js";
import type { HuggingFaceLlamaConfig } from "./hugging-face-llama-config.js";

/** Gemma 2 stores RMSNorm weights w and multiplies by (1 + w); the description holds the factor. */
function plusOne(values: Float32Array): Float32Array {
  // A copy: an F32 tensor is a view of the file's bytes.
  return Float32Array.from(values, (value) => 1 + value);
}

/**
 * The weights of a Llama-family checkpoint (Hugging Face tensor names) in kvpack's layout, for the
 * architecture config.json declared: Phi-3's fused qkv_proj / gate_up_proj are split, Gemma 2's
 * norms become 1 + w, Llama's q/k rows go back to interleaved RoPE, Qwen2's biases and Qwen3's q/k
 * norms are kept. Tensor shapes are checked against config.json (ModelFormatError naming the tensor).
 */
export function readHuggingFaceLlamaWeights(shards: SafetensorsShards, described: HuggingFaceLlamaConfig): LlamaWeights {
  const { architecture } = described;
  const config = { ...described.config, sharedClassifier: described.config.sharedClassifier || !shards.has("lm_head.weight") };
  const { dim, hiddenDim, heads, kvHeads, headDim, vocabSize } = config;
  const queryDim = heads * headDim;
  const kvDim = kvHeads * headDim;
  const gemma = architecture === "gemma2";
  const norm = (name: string, size: number): Float32Array => (gemma ? plusOne(shards.float32(name, [size])) : shards.float32(name, [size]));
  const rotary = (values: Float32Array, rowHeads: number, columns: number): Float32Array =>
    architecture === "llama" ? unpermuteRotaryRows(values, rowHeads, headDim, columns) : values;
  const tokenEmbedding = shards.float32("model.embed_tokens.weight", [vocabSize, dim]);
  const layers: LlamaLayerWeights[] = [];
  for (let layer = 0; layer < config.layers; layer++) {
    const prefix = `model.layers.${layer}.`;
    let wq: Float32Array;
    let wk: Float32Array;
    let wv: Float32Array;
    let w1: Float32Array;
    let w3: Float32Array;
    if (architecture === "phi3") {
      const qkv = shards.float32(`${prefix}self_attn.qkv_proj.weight`, [queryDim + 2 * kvDim, dim]);
      wq = qkv.slice(0, queryDim * dim);
      wk = qkv.slice(queryDim * dim, (queryDim + kvDim) * dim);
      wv = qkv.slice((queryDim + kvDim) * dim);
      const gateUp = shards.float32(`${prefix}mlp.gate_up_proj.weight`, [2 * hiddenDim, dim]);
      w1 = gateUp.slice(0, hiddenDim * dim);
      w3 = gateUp.slice(hiddenDim * dim);
    } else {
      wq = rotary(shards.float32(`${prefix}self_attn.q_proj.weight`, [queryDim, dim]), heads, dim);
      wk = rotary(shards.float32(`${prefix}self_attn.k_proj.weight`, [kvDim, dim]), kvHeads, dim);
      wv = shards.float32(`${prefix}self_attn.v_proj.weight`, [kvDim, dim]);
      w1 = shards.float32(`${prefix}mlp.gate_proj.weight`, [hiddenDim, dim]);
      w3 = shards.float32(`${prefix}mlp.up_proj.weight`, [hiddenDim, dim]);
    }
    const optional: { -readonly [K in keyof LlamaLayerWeights]?: LlamaLayerWeights[K] } = {};
    if (described.attentionBias) {
      optional.bq = rotary(shards.float32(`${prefix}self_attn.q_proj.bias`, [queryDim]), heads, 1);
      optional.bk = rotary(shards.float32(`${prefix}self_attn.k_proj.bias`, [kvDim]), kvHeads, 1);
      optional.bv = shards.float32(`${prefix}self_attn.v_proj.bias`, [kvDim]);
    }
    if (architecture === "qwen3") {
      optional.queryNorm = shards.float32(`${prefix}self_attn.q_norm.weight`, [headDim]);
      optional.keyNorm = shards.float32(`${prefix}self_attn.k_norm.weight`, [headDim]);
    }
    if (gemma) {
      optional.postAttentionNorm = norm(`${prefix}post_attention_layernorm.weight`, dim);
      optional.postFfnNorm = norm(`${prefix}post_feedforward_layernorm.weight`, dim);
    }
    layers.push({
      attentionNorm: norm(`${prefix}input_layernorm.weight`, dim),
      wq,
      wk,
      wv,
      wo: shards.float32(`${prefix}self_attn.o_proj.weight`, [dim, queryDim]),
      // Gemma 2's post_attention_layernorm is the sandwich norm; its pre-FFN norm has its own name.
      ffnNorm: norm(`${prefix}${gemma ? "pre_feedforward_layernorm" : "post_attention_layernorm"}.weight`, dim),
      w1,
      w2: shards.float32(`${prefix}mlp.down_proj.weight`, [dim, hiddenDim]),
      w3,
      ...optional,
    });
  }
  const finalNorm = norm("model.norm.weight", dim);
  const classifier = config.sharedClassifier ? tokenEmbedding : shards.float32("lm_head.weight", [vocabSize, dim]);
  const weights: LlamaWeights = { config, tokenEmbedding, layers, finalNorm, classifier };
  assertFiniteLlamaWeights(weights, "safetensors");
  return weights;
}
