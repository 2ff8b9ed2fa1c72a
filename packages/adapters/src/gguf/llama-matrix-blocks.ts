import type { LlamaConfig } from "../model/llama-weights.js";
import type { GgufFile } from "./gguf-file.js";
import type { QuantizedTensor } from "./quantized-tensor.js";

/** One layer's weight matrices as the file stores them (views, no copy); shapes as LlamaLayerWeights. */
export interface LlamaLayerBlocks {
  readonly wq: QuantizedTensor;
  readonly wk: QuantizedTensor;
  readonly wv: QuantizedTensor;
  readonly wo: QuantizedTensor;
  readonly w1: QuantizedTensor;
  readonly w2: QuantizedTensor;
  readonly w3: QuantizedTensor;
}

/**
 * Every Llama weight matrix of a GGUF file in its file encoding, for kernel backends that multiply
 * blocks directly (ResidentLlamaWeights' `blocks` option); the classifier is token_embd when tied.
 */
export interface LlamaMatrixBlocks {
  /** token_embd: [vocabSize, dim]; rows are dequantized one token at a time. */
  readonly tokenEmbedding: QuantizedTensor;
  readonly layers: readonly LlamaLayerBlocks[];
  readonly classifier: QuantizedTensor;
}

/**
 * `fused`: Phi-3's attn_qkv and gate+up ffn_up, split here into row views (ResidentLlamaWeights
 * stacks them back into one matrix, so nothing is copied); rows must be whole blocks, as llama.cpp
 * requires too (else a ModelFormatError).
 */
export function llamaMatrixBlocks(file: GgufFile, config: LlamaConfig, fused = false): LlamaMatrixBlocks {
  const { dim, hiddenDim } = config;
  const queryDim = config.heads * config.headDim;
  const kvDim = config.kvHeads * config.headDim;
  const layers: LlamaLayerBlocks[] = [];
  for (let layer = 0; layer < config.layers; layer++) {
    const prefix = `blk.${layer}.`;
    const attention = fused && file.has(`${prefix}attn_qkv.weight`)
      ? (() => {
          const qkv = file.quantized(`${prefix}attn_qkv.weight`, [dim, queryDim + 2 * kvDim]);
          return { wq: qkv.rows(0, queryDim), wk: qkv.rows(queryDim, kvDim), wv: qkv.rows(queryDim + kvDim, kvDim) };
        })()
      : {
          wq: file.quantized(`${prefix}attn_q.weight`, [dim, queryDim]),
          wk: file.quantized(`${prefix}attn_k.weight`, [dim, kvDim]),
          wv: file.quantized(`${prefix}attn_v.weight`, [dim, kvDim]),
        };
    const feedForward = fused
      ? (() => {
          const gateUp = file.quantized(`${prefix}ffn_up.weight`, [dim, 2 * hiddenDim]);
          return { w1: gateUp.rows(0, hiddenDim), w3: gateUp.rows(hiddenDim, hiddenDim) };
        })()
      : { w1: file.quantized(`${prefix}ffn_gate.weight`, [dim, hiddenDim]), w3: file.quantized(`${prefix}ffn_up.weight`, [dim, hiddenDim]) };
    layers.push({
      ...attention,
      wo: file.quantized(`${prefix}attn_output.weight`, [queryDim, dim]),
      ...feedForward,
      w2: file.quantized(`${prefix}ffn_down.weight`, [hiddenDim, dim]),
    });
  }
  const tokenEmbedding = file.quantized("token_embd.weight", [dim, config.vocabSize]);
  const classifier = config.sharedClassifier ? tokenEmbedding : file.quantized("output.weight", [dim, config.vocabSize]);
  return { tokenEmbedding, layers, classifier };
}
