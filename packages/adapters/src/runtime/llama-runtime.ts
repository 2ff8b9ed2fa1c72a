import type { KVCache, KVCacheShape } from "@kvpack/cache";
import type { LlamaConfig, LlamaWeights } from "../model/llama-weights.js";
import { checkForwardArguments } from "./check-forward-arguments.js";
import { addInPlace, matmul, rmsNorm } from "./kernels.js";
import type { LanguageModelRuntime, LayerActivations, LayerObserver } from "./language-model-runtime.js";

type MutableLayerActivations = { -readonly [K in keyof LayerActivations]: LayerActivations[K] };

/**
 * Llama-family reference runtime with llama2.c run.c semantics: RMSNorm, interleaved-pair RoPE,
 * grouped-query attention through the KVCache, SwiGLU feed-forward. All buffers are allocated once.
 */
export class LlamaRuntime implements LanguageModelRuntime {
  readonly architecture = "llama" as const;
  readonly config: LlamaConfig;
  readonly vocabSize: number;
  readonly maxSequenceLength: number;
  readonly heads: number;
  readonly cacheShape: KVCacheShape;
  observer: LayerObserver | undefined;
  private readonly weights: LlamaWeights;
  private readonly x: Float32Array;
  private readonly normed: Float32Array;
  private readonly queries: Float32Array;
  private readonly keys: Float32Array;
  private readonly values: Float32Array;
  private readonly attentionOutput: Float32Array;
  private readonly projected: Float32Array;
  private readonly gate: Float32Array;
  private readonly up: Float32Array;
  private readonly logits: Float32Array;
  private readonly frequencies: Float32Array;
  private readonly cosines: Float32Array;
  private readonly sines: Float32Array;
  private readonly attentionOptions: { heads: number; scale: number; weightsOut: Float32Array | undefined };
  private attentionWeights: Float32Array;
  private readonly activations: MutableLayerActivations;

  constructor(weights: LlamaWeights, options: { observer?: LayerObserver } = {}) {
    const config = weights.config;
    this.weights = weights;
    this.config = config;
    this.vocabSize = config.vocabSize;
    this.maxSequenceLength = config.maxSequenceLength;
    this.heads = config.heads;
    this.cacheShape = { layers: config.layers, kvHeads: config.kvHeads, headDim: config.headDim };
    this.observer = options.observer;
    const queryDim = config.heads * config.headDim;
    const kvDim = config.kvHeads * config.headDim;
    this.x = new Float32Array(config.dim);
    this.normed = new Float32Array(config.dim);
    this.queries = new Float32Array(queryDim);
    this.keys = new Float32Array(kvDim);
    this.values = new Float32Array(kvDim);
    this.attentionOutput = new Float32Array(queryDim);
    this.projected = new Float32Array(config.dim);
    this.gate = new Float32Array(config.hiddenDim);
    this.up = new Float32Array(config.hiddenDim);
    this.logits = new Float32Array(config.vocabSize);
    const pairs = config.headDim / 2;
    this.frequencies = new Float32Array(pairs);
    // run.c: freq = 1 / powf(10000, head_dim / (float)head_size) for even head_dim.
    for (let pair = 0; pair < pairs; pair++) this.frequencies[pair] = 1 / Math.pow(config.ropeTheta, (2 * pair) / config.headDim);
    this.cosines = new Float32Array(pairs);
    this.sines = new Float32Array(pairs);
    this.attentionWeights = new Float32Array(config.heads * config.maxSequenceLength);
    this.attentionOptions = { heads: config.heads, scale: 1 / Math.sqrt(config.headDim), weightsOut: undefined };
    this.activations = {
      layer: 0,
      position: 0,
      token: 0,
      queries: this.queries,
      keys: this.keys,
      values: this.values,
      attentionOutput: this.attentionOutput,
      attentionWeights: undefined,
      cacheLength: 0,
    };
  }

  forward(token: number, position: number, cache: KVCache): Float32Array {
    const { config, weights, x, normed, queries, keys, values, attentionOutput, projected, gate, up } = this;
    checkForwardArguments(token, position, cache, config.vocabSize, this.cacheShape);
    const { dim, hiddenDim, headDim, normEpsilon } = config;
    const queryDim = config.heads * headDim;
    const kvDim = config.kvHeads * headDim;
    const embeddingOffset = token * dim;
    for (let i = 0; i < dim; i++) x[i] = weights.tokenEmbedding[embeddingOffset + i];
    this.prepareRotation(position);
    const observer = this.observer;
    const attentionOptions = this.attentionOptions;
    attentionOptions.weightsOut = undefined;

    for (let layer = 0; layer < config.layers; layer++) {
      const layerWeights = weights.layers[layer];
      rmsNorm(normed, x, layerWeights.attentionNorm, dim, normEpsilon);
      matmul(queries, normed, layerWeights.wq, dim, queryDim);
      matmul(keys, normed, layerWeights.wk, dim, kvDim);
      matmul(values, normed, layerWeights.wv, dim, kvDim);
      this.rotate(queries, queryDim);
      this.rotate(keys, kvDim);
      cache.append(layer, keys, values);
      const cacheLength = cache.length(layer);
      if (observer?.captureAttentionWeights) {
        if (this.attentionWeights.length < config.heads * cacheLength) this.attentionWeights = new Float32Array(config.heads * cacheLength * 2);
        attentionOptions.weightsOut = this.attentionWeights;
      }
      cache.attend(layer, queries, attentionOutput, attentionOptions);
      if (observer) this.notify(observer, layer, position, token, cacheLength);
      matmul(projected, attentionOutput, layerWeights.wo, queryDim, dim);
      addInPlace(x, projected, dim);

      rmsNorm(normed, x, layerWeights.ffnNorm, dim, normEpsilon);
      matmul(gate, normed, layerWeights.w1, dim, hiddenDim);
      matmul(up, normed, layerWeights.w3, dim, hiddenDim);
      // SwiGLU: silu(w1·x) ⊙ (w3·x).
      for (let i = 0; i < hiddenDim; i++) {
        const value = gate[i];
        gate[i] = (value / (1 + Math.exp(-value))) * up[i];
      }
      matmul(projected, gate, layerWeights.w2, hiddenDim, dim);
      addInPlace(x, projected, dim);
    }
    rmsNorm(x, x, weights.finalNorm, dim, normEpsilon);
    matmul(this.logits, x, weights.classifier, dim, config.vocabSize);
    return this.logits;
  }

  private prepareRotation(position: number): void {
    const { frequencies, cosines, sines } = this;
    for (let pair = 0; pair < frequencies.length; pair++) {
      const angle = position * frequencies[pair];
      cosines[pair] = Math.cos(angle);
      sines[pair] = Math.sin(angle);
    }
  }

  /** RoPE on consecutive (even, odd) pairs within each head, as run.c does. */
  private rotate(vector: Float32Array, size: number): void {
    const { cosines, sines } = this;
    const headDim = this.config.headDim;
    for (let i = 0; i < size; i += 2) {
      const pair = (i % headDim) >> 1;
      const cosine = cosines[pair];
      const sine = sines[pair];
      const v0 = vector[i];
      const v1 = vector[i + 1];
      vector[i] = v0 * cosine - v1 * sine;
      vector[i + 1] = v0 * sine + v1 * cosine;
    }
  }

  private notify(observer: LayerObserver, layer: number, position: number, token: number, cacheLength: number): void {
    const activations = this.activations;
    activations.layer = layer;
    activations.position = position;
    activations.token = token;
    activations.cacheLength = cacheLength;
    activations.attentionWeights = observer.captureAttentionWeights ? this.attentionWeights.subarray(0, this.config.heads * cacheLength) : undefined;
    observer.onLayer(activations);
  }
}
