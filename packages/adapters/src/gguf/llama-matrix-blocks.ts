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

export function llamaMatrixBlocks(file: GgufFile, config: LlamaConfig): LlamaMatrixBlocks {
  const { dim, hiddenDim } = config;
  const kvDim = config.kvHeads * config.headDim;
  const layers: LlamaLayerBlocks[] = [];
  for (let layer = 0; layer < config.layers; layer++) {
    const prefix = `blk.${layer}.`;
    layers.push({
      wq: file.quantized(`${prefix}attn_q.weight`, [dim, dim]),
      wk: file.quantized(`${prefix}attn_k.weight`, [dim, kvDim]),
      wv: file.quantized(`${prefix}attn_v.weight`, [dim, kvDim]),
      wo: file.quantized(`${prefix}attn_output.weight`, [dim, dim]),
      w1: file.quantized(`${prefix}ffn_gate.weight`, [dim, hiddenDim]),
      w2: file.quantized(`${prefix}ffn_down.weight`, [hiddenDim, dim]),
      w3: file.quantized(`${prefix}ffn_up.weight`, [dim, hiddenDim]),
    });
  }
  const tokenEmbedding = file.quantized("token_embd.weight", [dim, config.vocabSize]);
  const classifier = config.sharedClassifier ? tokenEmbedding : file.quantized("output.weight", [dim, config.vocabSize]);
  return { tokenEmbedding, layers, classifier };
}
