// Types only: the caller picks and initialises the backend, so loading adapters never loads WASM or WebGPU code.
import type { DeviceArray, KernelBackend } from "@kvpack/kernels";
import type { LlamaMatrixBlocks } from "../gguf/llama-matrix-blocks.js";
import type { LlamaConfig, LlamaWeights } from "../model/llama-weights.js";
import { blockEmbeddingRows, type EmbeddingRows, floatEmbeddingRows } from "./embedding-rows.js";
import { uploadMatrix } from "./resident-matrix.js";

export interface ResidentLayer {
  readonly attentionNorm: DeviceArray;
  /** [wq; wk; wv] stacked: (queryDim + 2·kvDim) × dim, one matmul per token. */
  readonly queryKeyValue: DeviceArray;
  readonly output: DeviceArray;
  readonly ffnNorm: DeviceArray;
  /** [w1; w3] stacked: (2·hiddenDim) × dim. */
  readonly gateUp: DeviceArray;
  readonly down: DeviceArray;
  /** Gemma 2's sandwich norms, where the layer has them. */
  readonly postAttentionNorm?: DeviceArray;
  readonly postFfnNorm?: DeviceArray;
}

export interface ResidentLlamaWeightsOptions {
  /**
   * The file's weight blocks (loadGgufLlama's `matrixBlocks`): matrices in an encoding the backend
   * multiplies in place (its `weightFormats`: Q8_0, Q4_0, F16 on ts and wasm) are uploaded as blocks,
   * not fp32. Pair with loadGgufLlama's `lazyMatrices: true` so the host never expands them either.
   */
  readonly blocks?: LlamaMatrixBlocks;
}

/**
 * Llama weights uploaded once to an initialised kernel backend (WASM memory, GPU buffers), so every
 * matmul reads them in place. Several runtimes (e.g. a dense and a compressed side) can share one copy.
 */
export class ResidentLlamaWeights {
  readonly config: LlamaConfig;
  readonly host: LlamaWeights;
  readonly backend: KernelBackend;
  readonly layers: readonly ResidentLayer[];
  readonly finalNorm: DeviceArray;
  readonly classifier: DeviceArray;
  /**
   * Token embedding rows for the forward loop: with `blocks`, dequantized per token from a copy of
   * token_embd's blocks (the fp32 tokenEmbedding of a lazily loaded file is then never expanded);
   * else from the fp32 tokenEmbedding.
   */
  readonly embeddingRows: EmbeddingRows;

  constructor(backend: KernelBackend, weights: LlamaWeights, options: ResidentLlamaWeightsOptions = {}) {
    this.backend = backend;
    this.host = weights;
    this.config = weights.config;
    const blocks = options.blocks;
    // Values are read through closures, so lazily loaded matrices are expanded only when uploaded as fp32.
    this.layers = weights.layers.map((layer, index) => {
      const file = blocks?.layers[index];
      return {
        attentionNorm: backend.upload(layer.attentionNorm),
        queryKeyValue: uploadMatrix(backend, [
          { values: () => layer.wq, blocks: file?.wq },
          { values: () => layer.wk, blocks: file?.wk },
          { values: () => layer.wv, blocks: file?.wv },
        ]),
        output: uploadMatrix(backend, [{ values: () => layer.wo, blocks: file?.wo }]),
        ffnNorm: backend.upload(layer.ffnNorm),
        gateUp: uploadMatrix(backend, [
          { values: () => layer.w1, blocks: file?.w1 },
          { values: () => layer.w3, blocks: file?.w3 },
        ]),
        down: uploadMatrix(backend, [{ values: () => layer.w2, blocks: file?.w2 }]),
        ...(layer.postAttentionNorm ? { postAttentionNorm: backend.upload(layer.postAttentionNorm) } : {}),
        ...(layer.postFfnNorm ? { postFfnNorm: backend.upload(layer.postFfnNorm) } : {}),
      };
    });
    this.finalNorm = backend.upload(weights.finalNorm);
    this.classifier = uploadMatrix(backend, [{ values: () => weights.classifier, blocks: blocks?.classifier }]);
    this.embeddingRows = blocks ? blockEmbeddingRows(blocks.tokenEmbedding, weights.config.dim) : floatEmbeddingRows(() => weights.tokenEmbedding, weights.config.dim);
  }

  /** Frees the backend copies; runtimes built on these weights must not be used afterwards. */
  dispose(): void {
    for (const layer of this.layers) for (const array of Object.values(layer) as (DeviceArray | undefined)[]) array?.dispose();
    this.finalNorm.dispose();
    this.classifier.dispose();
  }
}
