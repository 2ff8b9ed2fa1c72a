import { SeededRandom } from "../generation/seeded-random.js";
import type { LlamaArchitecture } from "../model/llama-model-description.js";
import { readModelsData } from "../model/test-models-data.js";
import { writeSafetensors, type SafetensorsWriterTensor } from "../safetensors/safetensors-file.js";
import { loadLlama2cTokenizer } from "../llama2c/load-llama2c-tokenizer.js";
import { jsonBytes, sentencePieceJsonOf } from "./test-model-folders.js";

// Test-only: random-weight Hugging Face checkpoints with each architecture's real tensor names and
// head layout (GQA, head_dim ≠ hidden/heads for qwen3 and gemma2), tok512 as their tokenizer.

export const randomDimensions = { dim: 32, hiddenDim: 48, layers: 2, heads: 4, kvHeads: 2, vocabSize: 512, maxSequenceLength: 128 };

function randomTensor(random: SeededRandom, shape: number[], scale: number, offset = 0): SafetensorsWriterTensor {
  const data = new Float32Array(shape.reduce((product, size) => product * size, 1));
  for (let i = 0; i < data.length; i++) data[i] = offset + scale * (2 * random.nextFloat() - 1);
  return { dtype: "F32", shape, data };
}

/** config.json of a small random model of `architecture` in Hugging Face's names. */
export function randomConfig(architecture: LlamaArchitecture): Record<string, unknown> {
  const { dim, hiddenDim, layers, heads, kvHeads, vocabSize, maxSequenceLength } = randomDimensions;
  const headDim = architecture === "qwen3" || architecture === "gemma2" ? 16 : dim / heads;
  const base = {
    model_type: architecture,
    hidden_size: dim,
    intermediate_size: hiddenDim,
    num_hidden_layers: layers,
    num_attention_heads: heads,
    num_key_value_heads: kvHeads,
    head_dim: headDim,
    vocab_size: vocabSize,
    max_position_embeddings: maxSequenceLength,
    rms_norm_eps: 1e-6,
    rope_theta: 10000,
    bos_token_id: 1,
    eos_token_id: 2,
  };
  switch (architecture) {
    case "gemma2":
      return { ...base, hidden_activation: "gelu_pytorch_tanh", query_pre_attn_scalar: 16, attn_logit_softcapping: 50, final_logit_softcapping: 30, sliding_window: 8, tie_word_embeddings: true };
    case "qwen2":
      return { ...base, hidden_act: "silu", tie_word_embeddings: false, use_sliding_window: false, sliding_window: 32 };
    case "phi3":
      return { ...base, hidden_act: "silu", sliding_window: null, tie_word_embeddings: false };
    default:
      return { ...base, hidden_act: "silu", tie_word_embeddings: false };
  }
}

/** model.safetensors tensors for randomConfig(architecture), seeded. */
export function randomTensors(architecture: LlamaArchitecture, seed = 7): Record<string, SafetensorsWriterTensor> {
  const config = randomConfig(architecture);
  const random = new SeededRandom(seed);
  const { dim, hiddenDim, layers, heads, kvHeads, vocabSize } = randomDimensions;
  const headDim = config.head_dim as number;
  const q = heads * headDim;
  const kv = kvHeads * headDim;
  const gemma = architecture === "gemma2";
  // Gemma stores norms as w with the factor 1 + w: small values around 0; the others around 1.
  const norm = (size: number): SafetensorsWriterTensor => randomTensor(random, [size], 0.1, gemma ? 0 : 1);
  const matrix = (rows: number, columns: number): SafetensorsWriterTensor => randomTensor(random, [rows, columns], 1 / Math.sqrt(columns));
  const tensors: Record<string, SafetensorsWriterTensor> = { "model.embed_tokens.weight": randomTensor(random, [vocabSize, dim], 1), "model.norm.weight": norm(dim) };
  if (config.tie_word_embeddings !== true) tensors["lm_head.weight"] = matrix(vocabSize, dim);
  for (let layer = 0; layer < layers; layer++) {
    const p = `model.layers.${layer}.`;
    tensors[`${p}input_layernorm.weight`] = norm(dim);
    tensors[`${p}post_attention_layernorm.weight`] = norm(dim);
    tensors[`${p}self_attn.o_proj.weight`] = matrix(dim, q);
    tensors[`${p}mlp.down_proj.weight`] = matrix(dim, hiddenDim);
    if (architecture === "phi3") {
      tensors[`${p}self_attn.qkv_proj.weight`] = matrix(q + 2 * kv, dim);
      tensors[`${p}mlp.gate_up_proj.weight`] = matrix(2 * hiddenDim, dim);
    } else {
      tensors[`${p}self_attn.q_proj.weight`] = matrix(q, dim);
      tensors[`${p}self_attn.k_proj.weight`] = matrix(kv, dim);
      tensors[`${p}self_attn.v_proj.weight`] = matrix(kv, dim);
      tensors[`${p}mlp.gate_proj.weight`] = matrix(hiddenDim, dim);
      tensors[`${p}mlp.up_proj.weight`] = matrix(hiddenDim, dim);
    }
    if (architecture === "qwen2") {
      tensors[`${p}self_attn.q_proj.bias`] = randomTensor(random, [q], 0.1);
      tensors[`${p}self_attn.k_proj.bias`] = randomTensor(random, [kv], 0.1);
      tensors[`${p}self_attn.v_proj.bias`] = randomTensor(random, [kv], 0.1);
    }
    if (architecture === "qwen3") {
      tensors[`${p}self_attn.q_norm.weight`] = norm(headDim);
      tensors[`${p}self_attn.k_norm.weight`] = norm(headDim);
    }
    if (gemma) {
      tensors[`${p}pre_feedforward_layernorm.weight`] = norm(dim);
      tensors[`${p}post_feedforward_layernorm.weight`] = norm(dim);
    }
  }
  return tensors;
}

/** A whole random folder of `architecture` (file path → bytes). */
export function randomFolder(architecture: LlamaArchitecture, seed = 7): Map<string, Uint8Array> {
  const tokenizer = loadLlama2cTokenizer(readModelsData("tok512.bin"), 512);
  return new Map([
    ["config.json", jsonBytes(randomConfig(architecture))],
    ["tokenizer.json", jsonBytes(sentencePieceJsonOf(tokenizer))],
    ["tokenizer_config.json", jsonBytes({ bos_token: "<s>", eos_token: "</s>" })],
    ["model.safetensors", writeSafetensors(randomTensors(architecture, seed), { format: "pt" })],
  ]);
}
