import type { LlamaModelDescription } from "../model/llama-model-description.js";
import { ModelArgumentError } from "../model/model-format-error.js";
import { permuteRotaryRows } from "../safetensors/load-safetensors-llama.js";
import { type SafetensorsFloatType, type SafetensorsWriterTensor, writeSafetensors } from "../safetensors/safetensors-file.js";
import type { SafetensorsLlamaCheckpoint } from "../safetensors/write-safetensors-llama.js";

const classNames = { llama: "LlamaForCausalLM", qwen2: "Qwen2ForCausalLM", qwen3: "Qwen3ForCausalLM", phi3: "Phi3ForCausalLM", gemma2: "Gemma2ForCausalLM" } as const;

function minusOne(values: Float32Array): Float32Array {
  return Float32Array.from(values, (value) => value - 1);
}

/**
 * A model description as a Hugging Face checkpoint of its architecture — the inverse of
 * loadModelFolder's reading: config.json with the architecture's fields (rope_scaling, Gemma 2's
 * query_pre_attn_scalar / soft caps / sliding_window, layer_types for other window patterns) and
 * model.safetensors with its tensor names (Llama q/k rows permuted back to rotate_half, Phi-3's
 * fused qkv_proj / gate_up_proj, Gemma 2 norms stored as w = factor − 1). For writers and tests.
 */
export function writeHuggingFaceCheckpoint(description: LlamaModelDescription, options: { dtype?: SafetensorsFloatType } = {}): SafetensorsLlamaCheckpoint {
  const { architecture, weights, config, rope } = description;
  const dtype = options.dtype ?? "F32";
  const { dim, hiddenDim, heads, kvHeads, headDim, vocabSize } = config;
  const gemma = architecture === "gemma2";
  if ((architecture === "llama") !== (rope.style === "interleaved")) {
    throw new ModelArgumentError(`writeHuggingFaceCheckpoint: a ${architecture} description must rotate ${architecture === "llama" ? "interleaved pairs" : "NeoX halves"}, it has ${rope.style}`);
  }
  if (rope.frequencyFactors !== undefined) throw new ModelArgumentError("writeHuggingFaceCheckpoint: per-frequency factors (GGUF rope_freqs) have no config.json form; give the llama3 scaling instead");
  if (gemma ? description.embeddingScale !== Math.fround(Math.sqrt(dim)) : description.embeddingScale !== 1) throw new ModelArgumentError(`writeHuggingFaceCheckpoint: ${architecture} has no config.json field for embedding scale ${description.embeddingScale}`);
  if (weights.classifierBias !== undefined) throw new ModelArgumentError("writeHuggingFaceCheckpoint: Hugging Face checkpoints of these architectures have no lm_head bias");
  const tensor = (shape: number[], data: Float32Array): SafetensorsWriterTensor => ({ dtype, shape, data });
  const norm = (values: Float32Array): SafetensorsWriterTensor => tensor([values.length], gemma ? minusOne(values) : values);
  const rotary = (values: Float32Array, rowHeads: number, columns: number): Float32Array => (architecture === "llama" ? permuteRotaryRows(values, rowHeads, headDim, columns) : values);
  const q = heads * headDim;
  const kv = kvHeads * headDim;
  const tensors: Record<string, SafetensorsWriterTensor> = {
    "model.embed_tokens.weight": tensor([vocabSize, dim], weights.tokenEmbedding),
    "model.norm.weight": norm(weights.finalNorm),
  };
  if (!config.sharedClassifier) tensors["lm_head.weight"] = tensor([vocabSize, dim], weights.classifier);
  weights.layers.forEach((layer, index) => {
    const p = `model.layers.${index}.`;
    tensors[`${p}input_layernorm.weight`] = norm(layer.attentionNorm);
    tensors[`${p}self_attn.o_proj.weight`] = tensor([dim, q], layer.wo);
    tensors[`${p}mlp.down_proj.weight`] = tensor([dim, hiddenDim], layer.w2);
    if (architecture === "phi3") {
      const qkv = new Float32Array((q + 2 * kv) * dim);
      qkv.set(layer.wq, 0);
      qkv.set(layer.wk, q * dim);
      qkv.set(layer.wv, (q + kv) * dim);
      tensors[`${p}self_attn.qkv_proj.weight`] = tensor([q + 2 * kv, dim], qkv);
      const gateUp = new Float32Array(2 * hiddenDim * dim);
      gateUp.set(layer.w1, 0);
      gateUp.set(layer.w3, hiddenDim * dim);
      tensors[`${p}mlp.gate_up_proj.weight`] = tensor([2 * hiddenDim, dim], gateUp);
    } else {
      tensors[`${p}self_attn.q_proj.weight`] = tensor([q, dim], rotary(layer.wq, heads, dim));
      tensors[`${p}self_attn.k_proj.weight`] = tensor([kv, dim], rotary(layer.wk, kvHeads, dim));
      tensors[`${p}self_attn.v_proj.weight`] = tensor([kv, dim], layer.wv);
      tensors[`${p}mlp.gate_proj.weight`] = tensor([hiddenDim, dim], layer.w1);
      tensors[`${p}mlp.up_proj.weight`] = tensor([hiddenDim, dim], layer.w3);
    }
    if ((layer.bq !== undefined) !== (architecture === "qwen2")) throw new ModelArgumentError(`writeHuggingFaceCheckpoint: layer ${index}: q/k/v biases are ${architecture === "qwen2" ? "required by qwen2" : `not written for ${architecture}`}`);
    if (layer.bq && layer.bk && layer.bv) {
      tensors[`${p}self_attn.q_proj.bias`] = tensor([q], layer.bq);
      tensors[`${p}self_attn.k_proj.bias`] = tensor([kv], layer.bk);
      tensors[`${p}self_attn.v_proj.bias`] = tensor([kv], layer.bv);
    }
    if ((layer.queryNorm !== undefined) !== (architecture === "qwen3")) throw new ModelArgumentError(`writeHuggingFaceCheckpoint: layer ${index}: q/k norms belong to qwen3 only`);
    if (layer.queryNorm && layer.keyNorm) {
      tensors[`${p}self_attn.q_norm.weight`] = tensor([headDim], layer.queryNorm);
      tensors[`${p}self_attn.k_norm.weight`] = tensor([headDim], layer.keyNorm);
    }
    if (gemma) {
      if (!layer.postAttentionNorm || !layer.postFfnNorm) throw new ModelArgumentError(`writeHuggingFaceCheckpoint: gemma2 layer ${index} needs both sandwich norms`);
      tensors[`${p}post_attention_layernorm.weight`] = norm(layer.postAttentionNorm);
      tensors[`${p}pre_feedforward_layernorm.weight`] = norm(layer.ffnNorm);
      tensors[`${p}post_feedforward_layernorm.weight`] = norm(layer.postFfnNorm);
    } else {
      tensors[`${p}post_attention_layernorm.weight`] = norm(layer.ffnNorm);
    }
  });
  const windows = description.layerAttention.map((attention) => (attention.kind === "sliding-window" ? attention.window : undefined));
  const window = windows.find((value) => value !== undefined);
  if (windows.some((value) => value !== undefined && value !== window)) throw new ModelArgumentError("writeHuggingFaceCheckpoint: config.json has one sliding_window for all sliding layers");
  const gemmaPattern = windows.every((value, layer) => (value !== undefined) === (layer % 2 === 0));
  const scaling = rope.scaling;
  const file: Record<string, unknown> = {
    architectures: [classNames[architecture]],
    model_type: architecture,
    hidden_size: dim,
    intermediate_size: hiddenDim,
    num_hidden_layers: config.layers,
    num_attention_heads: heads,
    num_key_value_heads: kvHeads,
    head_dim: headDim,
    vocab_size: vocabSize,
    max_position_embeddings: config.maxSequenceLength,
    rms_norm_eps: config.normEpsilon,
    rope_theta: rope.freqBase,
    tie_word_embeddings: config.sharedClassifier,
    ...(gemma ? { hidden_activation: "gelu_pytorch_tanh", hidden_act: "gelu_pytorch_tanh" } : { hidden_act: "silu" }),
    ...(scaling === undefined
      ? {}
      : scaling.kind === "linear"
        ? { rope_scaling: { rope_type: "linear", factor: scaling.factor } }
        : { rope_scaling: { rope_type: "llama3", factor: scaling.factor, low_freq_factor: scaling.lowFrequencyFactor, high_freq_factor: scaling.highFrequencyFactor, original_max_position_embeddings: scaling.originalContextLength } }),
    ...(gemma
      ? { query_pre_attn_scalar: 1 / description.attentionScale ** 2, attn_logit_softcapping: description.attentionLogitSoftCap ?? null, final_logit_softcapping: description.finalLogitSoftCap ?? null }
      : {}),
    ...(window === undefined
      ? { sliding_window: null, use_sliding_window: false }
      : { sliding_window: window, use_sliding_window: true, ...(gemma && gemmaPattern ? {} : { layer_types: windows.map((value) => (value === undefined ? "full_attention" : "sliding_attention")) }) }),
  };
  if (gemma && window === undefined) throw new ModelArgumentError("writeHuggingFaceCheckpoint: gemma2 alternates sliding and full layers; give the even layers a window");
  if (!gemma && description.attentionScale !== 1 / Math.sqrt(headDim)) throw new ModelArgumentError(`writeHuggingFaceCheckpoint: ${architecture} has no config.json field for attention scale ${description.attentionScale}`);
  return { file: writeSafetensors(tensors, { format: "pt" }), config: file };
}
