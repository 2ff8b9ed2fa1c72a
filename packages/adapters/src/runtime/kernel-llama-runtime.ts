import type { KVCache, KVCacheShape } from "@kvpack/cache";
// Types only: the caller picks and initialises the backend, so loading adapters never loads WASM or WebGPU code.
import type { DeviceArray, KernelBackend } from "@kvpack/kernels";
import type { LlamaConfig, LlamaWeights } from "../model/llama-weights.js";
import { checkForwardArguments } from "./check-forward-arguments.js";
import { rmsNorm } from "./kernels.js";
import type { LayerActivations, LayerObserver } from "./language-model-runtime.js";

interface ResidentLayer {
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

export interface KernelLlamaRuntimeOptions {
  observer?: LayerObserver;
  /**
   * Where RMSNorm, RoPE and SwiGLU run. "backend" (default) runs them as kernels; "host" runs these
   * few-hundred-float steps in plain TypeScript, which saves a round trip per step on WebGPU.
   */
  vectorKernels?: "backend" | "host";
}

type MutableLayerActivations = { -readonly [K in keyof LayerActivations]: LayerActivations[K] };

/**
 * The Llama forward pass with llama2.c run.c semantics (as LlamaRuntime) on a kernel backend: the
 * matmuls, RMSNorm, RoPE and SwiGLU are backend kernels; attention goes through `cache.attend`, so
 * any kvpack cache (dense, compressed, with a retention policy) plugs in. Kernels are async, so
 * `forward` is too; it returns a fresh logits array per call. Await each call before the next on the
 * same runtime (its residual buffer is reused); separate runtimes may share one ResidentLlamaWeights.
 */
export class KernelLlamaRuntime {
  readonly architecture = "llama" as const;
  readonly config: LlamaConfig;
  readonly vocabSize: number;
  readonly maxSequenceLength: number;
  readonly heads: number;
  readonly cacheShape: KVCacheShape;
  readonly backend: KernelBackend;
  observer: LayerObserver | undefined;
  private readonly weights: ResidentLlamaWeights;
  private readonly vectorKernels: "backend" | "host";
  private readonly x: Float32Array;
  private readonly normed: Float32Array;
  private readonly attentionOutput: Float32Array;
  private readonly frequencies: Float32Array;
  private readonly cosines: Float32Array;
  private readonly sines: Float32Array;
  private attentionWeights: Float32Array;
  private readonly attentionOptions: { heads: number; scale: number; weightsOut: Float32Array | undefined };
  private readonly activations: MutableLayerActivations;

  constructor(weights: ResidentLlamaWeights, options: KernelLlamaRuntimeOptions = {}) {
    const config = weights.config;
    this.weights = weights;
    this.backend = weights.backend;
    this.config = config;
    this.vocabSize = config.vocabSize;
    this.maxSequenceLength = config.maxSequenceLength;
    this.heads = config.heads;
    this.cacheShape = { layers: config.layers, kvHeads: config.kvHeads, headDim: config.headDim };
    this.observer = options.observer;
    this.vectorKernels = options.vectorKernels ?? "backend";
    this.x = new Float32Array(config.dim);
    this.normed = new Float32Array(config.dim);
    this.attentionOutput = new Float32Array(config.heads * config.headDim);
    const pairs = config.headDim / 2;
    this.frequencies = new Float32Array(pairs);
    // run.c: freq = 1 / powf(10000, head_dim / (float)head_size), stored as float32 like LlamaRuntime (host path).
    for (let pair = 0; pair < pairs; pair++) this.frequencies[pair] = 1 / Math.pow(config.ropeTheta, (2 * pair) / config.headDim);
    this.cosines = new Float32Array(pairs);
    this.sines = new Float32Array(pairs);
    this.attentionWeights = new Float32Array(config.heads * 64);
    this.attentionOptions = { heads: config.heads, scale: 1 / Math.sqrt(config.headDim), weightsOut: undefined };
    const empty = new Float32Array(0);
    this.activations = {
      layer: 0,
      position: 0,
      token: 0,
      queries: empty,
      keys: empty,
      values: empty,
      attentionOutput: this.attentionOutput,
      attentionWeights: undefined,
      cacheLength: 0,
    };
  }

  async forward(token: number, position: number, cache: KVCache): Promise<Float32Array> {
    const { config, weights, x, attentionOutput, attentionOptions } = this;
    checkForwardArguments(token, position, cache, config.vocabSize, this.cacheShape);
    const { host, backend, layers } = weights;
    const { dim, hiddenDim, headDim } = config;
    const queryDim = config.heads * headDim;
    const kvDim = config.kvHeads * headDim;
    x.set(host.tokenEmbedding.subarray(token * dim, (token + 1) * dim));
    if (this.vectorKernels === "host") this.prepareRotation(position);
    const observer = this.observer;
    for (let layer = 0; layer < config.layers; layer++) {
      const resident = layers[layer];
      const normed = await this.rmsNorm(x, resident.attentionNorm, host.layers[layer].attentionNorm);
      const queryKeyValue = await backend.kernels.matmul({ matrix: resident.queryKeyValue, vector: normed, rows: queryDim + 2 * kvDim, columns: dim });
      // Queries and keys are adjacent whole heads, so one RoPE call rotates both.
      const rotated = await this.rope(queryKeyValue.subarray(0, queryDim + kvDim), position);
      const queries = rotated.subarray(0, queryDim);
      const keys = rotated.subarray(queryDim, queryDim + kvDim);
      const values = queryKeyValue.subarray(queryDim + kvDim, queryDim + 2 * kvDim);
      cache.append(layer, keys, values);
      const cacheLength = cache.length(layer);
      attentionOptions.weightsOut = undefined;
      if (observer?.captureAttentionWeights) {
        if (this.attentionWeights.length < config.heads * cacheLength) this.attentionWeights = new Float32Array(config.heads * cacheLength * 2);
        attentionOptions.weightsOut = this.attentionWeights.subarray(0, config.heads * cacheLength);
      }
      cache.attend(layer, queries, attentionOutput, attentionOptions);
      if (observer) this.notify(observer, layer, position, token, cacheLength, queries, keys, values);
      const projected = await backend.kernels.matmul({ matrix: resident.output, vector: attentionOutput, rows: dim, columns: queryDim });
      for (let i = 0; i < dim; i++) x[i] += projected[i];
      const ffnInput = await this.rmsNorm(x, resident.ffnNorm, host.layers[layer].ffnNorm);
      const gateUp = await backend.kernels.matmul({ matrix: resident.gateUp, vector: ffnInput, rows: 2 * hiddenDim, columns: dim });
      const hidden = await this.swiglu(gateUp.subarray(0, hiddenDim), gateUp.subarray(hiddenDim, 2 * hiddenDim));
      const down = await backend.kernels.matmul({ matrix: resident.down, vector: hidden, rows: dim, columns: hiddenDim });
      for (let i = 0; i < dim; i++) x[i] += down[i];
    }
    const final = await this.rmsNorm(x, weights.finalNorm, host.finalNorm);
    return backend.kernels.matmul({ matrix: weights.classifier, vector: final, rows: config.vocabSize, columns: dim });
  }

  private async rmsNorm(input: Float32Array, resident: DeviceArray, hostWeight: Float32Array): Promise<Float32Array> {
    if (this.vectorKernels === "backend") return this.weights.backend.kernels.rmsNorm({ input, weight: resident, epsilon: this.config.normEpsilon });
    rmsNorm(this.normed, input, hostWeight, this.config.dim, this.config.normEpsilon);
    return this.normed;
  }

  private async rope(input: Float32Array, position: number): Promise<Float32Array> {
    const headDim = this.config.headDim;
    if (this.vectorKernels === "backend") {
      return this.weights.backend.kernels.rope({ input, headDimension: headDim, position, theta: this.config.ropeTheta });
    }
    // RoPE on consecutive (even, odd) pairs within each head, as run.c does; in place.
    const { cosines, sines } = this;
    for (let i = 0; i < input.length; i += 2) {
      const pair = (i % headDim) >> 1;
      const v0 = input[i];
      const v1 = input[i + 1];
      input[i] = v0 * cosines[pair] - v1 * sines[pair];
      input[i + 1] = v0 * sines[pair] + v1 * cosines[pair];
    }
    return input;
  }

  private async swiglu(gate: Float32Array, up: Float32Array): Promise<Float32Array> {
    if (this.vectorKernels === "backend") return this.weights.backend.kernels.swiglu({ gate, up });
    // silu(w1·x) ⊙ (w3·x), written over the gate half of the fresh matmul output.
    for (let i = 0; i < gate.length; i++) {
      const value = gate[i];
      gate[i] = (value / (1 + Math.exp(-value))) * up[i];
    }
    return gate;
  }

  private prepareRotation(position: number): void {
    const { frequencies, cosines, sines } = this;
    for (let pair = 0; pair < frequencies.length; pair++) {
      const angle = position * frequencies[pair];
      cosines[pair] = Math.cos(angle);
      sines[pair] = Math.sin(angle);
    }
  }

  private notify(
    observer: LayerObserver,
    layer: number,
    position: number,
    token: number,
    cacheLength: number,
    queries: Float32Array,
    keys: Float32Array,
    values: Float32Array,
  ): void {
    const activations = this.activations;
    activations.layer = layer;
    activations.position = position;
    activations.token = token;
    activations.queries = queries;
    activations.keys = keys;
    activations.values = values;
    activations.cacheLength = cacheLength;
    activations.attentionWeights = this.attentionOptions.weightsOut;
    observer.onLayer(activations);
  }
}
