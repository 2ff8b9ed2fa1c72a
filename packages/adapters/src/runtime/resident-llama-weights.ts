// Types only: the caller picks and initialises the backend, so loading adapters never loads WASM or WebGPU code.
import type { DeviceArray, KernelBackend } from "@kvpack/kernels";
import type { LlamaConfig, LlamaWeights } from "../model/llama-weights.js";

export interface ResidentLayer {
  readonly attentionNorm: DeviceArray;
  /** [wq; wk; wv] stacked: (queryDim + 2·kvDim) × dim, one matmul per token. */
  readonly queryKeyValue: DeviceArray;
  readonly output: DeviceArray;
  readonly ffnNorm: DeviceArray;
  /** [w1; w3] stacked: (2·hiddenDim) × dim. */
  readonly gateUp: DeviceArray;
  readonly down: DeviceArray;
}

function stack(...parts: Float32Array[]): Float32Array {
  const stacked = new Float32Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    stacked.set(part, offset);
    offset += part.length;
  }
  return stacked;
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

  constructor(backend: KernelBackend, weights: LlamaWeights) {
    this.backend = backend;
    this.host = weights;
    this.config = weights.config;
    this.layers = weights.layers.map((layer) => ({
      attentionNorm: backend.upload(layer.attentionNorm),
      queryKeyValue: backend.upload(stack(layer.wq, layer.wk, layer.wv)),
      output: backend.upload(layer.wo),
      ffnNorm: backend.upload(layer.ffnNorm),
      gateUp: backend.upload(stack(layer.w1, layer.w3)),
      down: backend.upload(layer.w2),
    }));
    this.finalNorm = backend.upload(weights.finalNorm);
    this.classifier = backend.upload(weights.classifier);
  }

  /** Frees the backend copies; runtimes built on these weights must not be used afterwards. */
  dispose(): void {
    for (const layer of this.layers) for (const array of Object.values(layer) as DeviceArray[]) array.dispose();
    this.finalNorm.dispose();
    this.classifier.dispose();
  }
}
