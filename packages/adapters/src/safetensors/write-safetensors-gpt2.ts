import type { Gpt2Weights } from "../model/gpt2-weights.js";
import { type SafetensorsFloatType, type SafetensorsWriterTensor, writeSafetensors } from "./safetensors-file.js";
import type { SafetensorsLlamaCheckpoint } from "./write-safetensors-llama.js";

/** [rows, columns] row-major → [columns, rows]; `blocks` stacked [out, in] matrices become one [in, Σ out] (Conv1D layout). */
function toConv1D(blocks: readonly Float32Array[], outFeatures: number, inFeatures: number): Float32Array {
  const total = blocks.length * outFeatures;
  const out = new Float32Array(inFeatures * total);
  blocks.forEach((block, index) => {
    for (let row = 0; row < outFeatures; row++) {
      for (let column = 0; column < inFeatures; column++) out[column * total + index * outFeatures + row] = block[row * inFeatures + column];
    }
  });
  return out;
}

function concatenate(parts: readonly Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/**
 * Writes GPT-2 weights as a Hugging Face GPT2LMHeadModel checkpoint, the inverse of
 * `loadSafetensorsGpt2`: Conv1D weights stored [in, out], q/k/v joined into c_attn, the classifier
 * tied to wte; config.json with n_embd, n_layer, n_head, n_inner, n_positions, gelu_new.
 */
export function writeSafetensorsGpt2(weights: Gpt2Weights, options: { dtype?: SafetensorsFloatType } = {}): SafetensorsLlamaCheckpoint {
  const dtype = options.dtype ?? "F32";
  const { dim, hiddenDim, vocabSize, maxSequenceLength } = weights.config;
  const tensor = (shape: number[], data: Float32Array): SafetensorsWriterTensor => ({ dtype, shape, data });
  const tensors: Record<string, SafetensorsWriterTensor> = {
    "wte.weight": tensor([vocabSize, dim], weights.tokenEmbedding),
    "wpe.weight": tensor([maxSequenceLength, dim], weights.positionEmbedding),
    "ln_f.weight": tensor([dim], weights.finalNormWeight),
    "ln_f.bias": tensor([dim], weights.finalNormBias),
  };
  weights.layers.forEach((layer, index) => {
    const p = `h.${index}.`;
    tensors[`${p}ln_1.weight`] = tensor([dim], layer.attentionNormWeight);
    tensors[`${p}ln_1.bias`] = tensor([dim], layer.attentionNormBias);
    tensors[`${p}attn.c_attn.weight`] = tensor([dim, 3 * dim], toConv1D([layer.wq, layer.wk, layer.wv], dim, dim));
    tensors[`${p}attn.c_attn.bias`] = tensor([3 * dim], concatenate([layer.bq, layer.bk, layer.bv]));
    tensors[`${p}attn.c_proj.weight`] = tensor([dim, dim], toConv1D([layer.wo], dim, dim));
    tensors[`${p}attn.c_proj.bias`] = tensor([dim], layer.bo);
    tensors[`${p}ln_2.weight`] = tensor([dim], layer.ffnNormWeight);
    tensors[`${p}ln_2.bias`] = tensor([dim], layer.ffnNormBias);
    tensors[`${p}mlp.c_fc.weight`] = tensor([dim, hiddenDim], toConv1D([layer.wUp], hiddenDim, dim));
    tensors[`${p}mlp.c_fc.bias`] = tensor([hiddenDim], layer.bUp);
    tensors[`${p}mlp.c_proj.weight`] = tensor([hiddenDim, dim], toConv1D([layer.wDown], dim, hiddenDim));
    tensors[`${p}mlp.c_proj.bias`] = tensor([dim], layer.bDown);
  });
  const config = {
    architectures: ["GPT2LMHeadModel"],
    model_type: "gpt2",
    n_embd: dim,
    n_layer: weights.config.layers,
    n_head: weights.config.heads,
    n_inner: hiddenDim,
    n_positions: maxSequenceLength,
    n_ctx: maxSequenceLength,
    vocab_size: vocabSize,
    layer_norm_epsilon: weights.config.normEpsilon,
    activation_function: "gelu_new",
    bos_token_id: 50256,
    eos_token_id: 50256,
    tie_word_embeddings: true,
  };
  return { file: writeSafetensors(tensors, { format: "pt" }), config };
}
