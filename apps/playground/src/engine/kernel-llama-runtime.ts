import type { LayerActivations, LayerObserver, LlamaConfig, LlamaWeights } from "@kvpack/adapters";
import type { AttentionOptions, KVCache } from "@kvpack/cache";
import type { DeviceArray, KernelBackend } from "@kvpack/kernels";
import { PlaygroundError } from "./plain-error.js";

interface ResidentLayer {
  /** [wq; wk; wv] stacked: (queryDim + 2·kvDim) × dim, one matmul per token. */
  readonly queryKeyValue: DeviceArray;
  readonly output: DeviceArray;
  /** [w1; w3] stacked: (2·hiddenDim) × dim. */
  readonly gateUp: DeviceArray;
  readonly down: DeviceArray;
}

/** Llama weights uploaded once to a kernel backend (WebGPU buffers or WASM memory), shared by runtimes. */
export class ResidentLlamaWeights {
  readonly config: LlamaConfig;
  readonly host: LlamaWeights;
  readonly backend: KernelBackend;
  readonly layers: readonly ResidentLayer[];
  readonly classifier: DeviceArray;

  constructor(backend: KernelBackend, weights: LlamaWeights) {
    this.backend = backend;
    this.host = weights;
    this.config = weights.config;
    const stack = (...parts: Float32Array[]) => {
      const stacked = new Float32Array(parts.reduce((sum, part) => sum + part.length, 0));
      let offset = 0;
      for (const part of parts) {
        stacked.set(part, offset);
        offset += part.length;
      }
      return stacked;
    };
    this.layers = weights.layers.map((layer) => ({
      queryKeyValue: backend.upload(stack(layer.wq, layer.wk, layer.wv)),
      output: backend.upload(layer.wo),
      gateUp: backend.upload(stack(layer.w1, layer.w3)),
      down: backend.upload(layer.w2),
    }));
    this.classifier = backend.upload(weights.classifier);
  }

  dispose(): void {
    for (const layer of this.layers) for (const array of Object.values(layer) as DeviceArray[]) array.dispose();
    this.classifier.dispose();
  }
}

type MutableActivations = { -readonly [K in keyof LayerActivations]: LayerActivations[K] };

/**
 * The Llama forward pass (llama2.c run.c semantics, as the adapters' LlamaRuntime) with every
 * matrix–vector product on the kernel backend: four matmuls per layer plus the classifier. Norms,
 * RoPE and SwiGLU are a few hundred floats and stay on the CPU; attention goes through the KVCache,
 * so the compressed cache scores and accumulates straight from its codes.
 */
export class KernelLlamaRuntime {
  readonly vocabSize: number;
  observer: LayerObserver | undefined;
  private readonly weights: ResidentLlamaWeights;
  private readonly x: Float32Array;
  private readonly normed: Float32Array;
  private readonly attentionOutput: Float32Array;
  private readonly cosines: Float32Array;
  private readonly sines: Float32Array;
  private readonly frequencies: Float32Array;
  private attentionWeights: Float32Array;
  private readonly attentionOptions: { heads: number; scale: number; weightsOut: Float32Array | undefined };

  constructor(weights: ResidentLlamaWeights, options: { observer?: LayerObserver } = {}) {
    const config = weights.config;
    this.weights = weights;
    this.vocabSize = config.vocabSize;
    this.observer = options.observer;
    this.x = new Float32Array(config.dim);
    this.normed = new Float32Array(config.dim);
    this.attentionOutput = new Float32Array(config.heads * config.headDim);
    const pairs = config.headDim / 2;
    this.frequencies = new Float32Array(pairs);
    // run.c: freq = 1 / powf(10000, head_dim / (float)head_size), stored as float32 like LlamaRuntime.
    for (let pair = 0; pair < pairs; pair++) this.frequencies[pair] = 1 / Math.pow(config.ropeTheta, (2 * pair) / config.headDim);
    this.cosines = new Float32Array(pairs);
    this.sines = new Float32Array(pairs);
    this.attentionWeights = new Float32Array(config.heads * 64);
    this.attentionOptions = { heads: config.heads, scale: 1 / Math.sqrt(config.headDim), weightsOut: undefined };
  }

  async forward(token: number, position: number, cache: KVCache): Promise<Float32Array> {
    const { config, host, backend, layers, classifier } = this.weights;
    const { dim, hiddenDim, headDim, normEpsilon } = config;
    if (!(Number.isInteger(token) && token >= 0 && token < config.vocabSize)) {
      throw new PlaygroundError(`Token ${token} is outside the model's vocabulary of ${config.vocabSize}.`);
    }
    const queryDim = config.heads * headDim;
    const kvDim = config.kvHeads * headDim;
    const { x, normed, attentionOutput, attentionOptions } = this;
    x.set(host.tokenEmbedding.subarray(token * dim, (token + 1) * dim));
    for (let pair = 0; pair < this.frequencies.length; pair++) {
      const angle = position * this.frequencies[pair];
      this.cosines[pair] = Math.cos(angle);
      this.sines[pair] = Math.sin(angle);
    }
    const observer = this.observer;
    for (let layer = 0; layer < config.layers; layer++) {
      const resident = layers[layer];
      rmsNorm(normed, x, host.layers[layer].attentionNorm, dim, normEpsilon);
      const queryKeyValue = await backend.kernels.matmul({ matrix: resident.queryKeyValue, vector: normed, rows: queryDim + 2 * kvDim, columns: dim });
      const queries = queryKeyValue.subarray(0, queryDim);
      const keys = queryKeyValue.subarray(queryDim, queryDim + kvDim);
      const values = queryKeyValue.subarray(queryDim + kvDim, queryDim + 2 * kvDim);
      this.rotate(queries);
      this.rotate(keys);
      cache.append(layer, keys, values);
      const cacheLength = cache.length(layer);
      attentionOptions.weightsOut = undefined;
      if (observer?.captureAttentionWeights) {
        if (this.attentionWeights.length < config.heads * cacheLength) this.attentionWeights = new Float32Array(config.heads * cacheLength * 2);
        attentionOptions.weightsOut = this.attentionWeights.subarray(0, config.heads * cacheLength);
      }
      cache.attend(layer, queries, attentionOutput, attentionOptions as AttentionOptions);
      if (observer) {
        const activations: MutableActivations = {
          layer,
          position,
          token,
          queries,
          keys,
          values,
          attentionOutput,
          attentionWeights: attentionOptions.weightsOut,
          cacheLength,
        };
        observer.onLayer(activations);
      }
      const projected = await backend.kernels.matmul({ matrix: resident.output, vector: attentionOutput, rows: dim, columns: queryDim });
      for (let i = 0; i < dim; i++) x[i] += projected[i];
      rmsNorm(normed, x, host.layers[layer].ffnNorm, dim, normEpsilon);
      const gateUp = await backend.kernels.matmul({ matrix: resident.gateUp, vector: normed, rows: 2 * hiddenDim, columns: dim });
      const hidden = gateUp.subarray(0, hiddenDim);
      for (let i = 0; i < hiddenDim; i++) {
        const gate = gateUp[i];
        hidden[i] = (gate / (1 + Math.exp(-gate))) * gateUp[hiddenDim + i];
      }
      const down = await backend.kernels.matmul({ matrix: resident.down, vector: hidden, rows: dim, columns: hiddenDim });
      for (let i = 0; i < dim; i++) x[i] += down[i];
    }
    rmsNorm(x, x, host.finalNorm, dim, normEpsilon);
    return backend.kernels.matmul({ matrix: classifier, vector: x, rows: config.vocabSize, columns: dim });
  }

  /** RoPE on consecutive (even, odd) pairs within each head, as run.c does. */
  private rotate(vector: Float32Array): void {
    const headDim = this.weights.config.headDim;
    for (let i = 0; i < vector.length; i += 2) {
      const pair = (i % headDim) >> 1;
      const cosine = this.cosines[pair];
      const sine = this.sines[pair];
      const v0 = vector[i];
      const v1 = vector[i + 1];
      vector[i] = v0 * cosine - v1 * sine;
      vector[i + 1] = v0 * sine + v1 * cosine;
    }
  }
}

/** out = weight ⊙ x / √(mean(x²) + epsilon) (llama2.c rmsnorm); out may alias x. */
function rmsNorm(out: Float32Array, x: Float32Array, weight: Float32Array, size: number, epsilon: number): void {
  let sumOfSquares = 0;
  for (let i = 0; i < size; i++) sumOfSquares += x[i] * x[i];
  const scale = 1 / Math.sqrt(sumOfSquares / size + epsilon);
  for (let i = 0; i < size; i++) out[i] = weight[i] * (scale * x[i]);
}
