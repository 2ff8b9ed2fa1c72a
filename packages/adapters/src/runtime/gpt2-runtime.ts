import type { KVCache, KVCacheShape } from "@kvpack/cache";
import type { Gpt2Config, Gpt2Weights } from "../model/gpt2-weights.js";
import { ModelArgumentError } from "../model/model-format-error.js";
import { checkForwardArguments } from "./check-forward-arguments.js";
import { addInPlace, layerNorm, matmul } from "./kernels.js";
import type { LanguageModelRuntime, LayerActivations, LayerObserver } from "./language-model-runtime.js";

type MutableLayerActivations = { -readonly [K in keyof LayerActivations]: LayerActivations[K] };

const geluScale = Math.sqrt(2 / Math.PI);

/**
 * GPT-2 reference runtime: pre-LayerNorm blocks, learned position embeddings, multi-head
 * attention through the KVCache, tanh-approximated GELU ("gelu_new"), tied classifier.
 */
export class Gpt2Runtime implements LanguageModelRuntime {
  readonly architecture = "gpt2" as const;
  readonly config: Gpt2Config;
  readonly vocabSize: number;
  readonly maxSequenceLength: number;
  readonly heads: number;
  readonly cacheShape: KVCacheShape;
  observer: LayerObserver | undefined;
  private readonly weights: Gpt2Weights;
  private readonly x: Float32Array;
  private readonly normed: Float32Array;
  private readonly queries: Float32Array;
  private readonly keys: Float32Array;
  private readonly values: Float32Array;
  private readonly attentionOutput: Float32Array;
  private readonly projected: Float32Array;
  private readonly hidden: Float32Array;
  private readonly logits: Float32Array;
  private readonly attentionOptions: { heads: number; scale: number; weightsOut: Float32Array | undefined };
  private attentionWeights: Float32Array;
  private readonly activations: MutableLayerActivations;

  constructor(weights: Gpt2Weights, options: { observer?: LayerObserver } = {}) {
    const config = weights.config;
    this.weights = weights;
    this.config = config;
    this.vocabSize = config.vocabSize;
    this.maxSequenceLength = config.maxSequenceLength;
    this.heads = config.heads;
    this.cacheShape = { layers: config.layers, kvHeads: config.heads, headDim: config.headDim };
    this.observer = options.observer;
    this.x = new Float32Array(config.dim);
    this.normed = new Float32Array(config.dim);
    this.queries = new Float32Array(config.dim);
    this.keys = new Float32Array(config.dim);
    this.values = new Float32Array(config.dim);
    this.attentionOutput = new Float32Array(config.dim);
    this.projected = new Float32Array(config.dim);
    this.hidden = new Float32Array(config.hiddenDim);
    this.logits = new Float32Array(config.vocabSize);
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
    const { config, weights, x, normed, queries, keys, values, attentionOutput, projected, hidden } = this;
    checkForwardArguments(token, position, cache, config.vocabSize, this.cacheShape);
    if (position >= config.maxSequenceLength) {
      throw new ModelArgumentError(`forward: GPT-2 has learned positions only below ${config.maxSequenceLength}, got position ${position}`);
    }
    const { dim, hiddenDim, normEpsilon } = config;
    for (let i = 0; i < dim; i++) x[i] = weights.tokenEmbedding[token * dim + i] + weights.positionEmbedding[position * dim + i];
    const observer = this.observer;
    const attentionOptions = this.attentionOptions;
    attentionOptions.weightsOut = undefined;

    for (let layer = 0; layer < config.layers; layer++) {
      const layerWeights = weights.layers[layer];
      layerNorm(normed, x, layerWeights.attentionNormWeight, layerWeights.attentionNormBias, dim, normEpsilon);
      matmul(queries, normed, layerWeights.wq, dim, dim);
      matmul(keys, normed, layerWeights.wk, dim, dim);
      matmul(values, normed, layerWeights.wv, dim, dim);
      addInPlace(queries, layerWeights.bq, dim);
      addInPlace(keys, layerWeights.bk, dim);
      addInPlace(values, layerWeights.bv, dim);
      cache.append(layer, keys, values);
      const cacheLength = cache.length(layer);
      if (observer?.captureAttentionWeights) {
        if (this.attentionWeights.length < config.heads * cacheLength) this.attentionWeights = new Float32Array(config.heads * cacheLength * 2);
        attentionOptions.weightsOut = this.attentionWeights;
      }
      cache.attend(layer, queries, attentionOutput, attentionOptions);
      if (observer) this.notify(observer, layer, position, token, cacheLength);
      matmul(projected, attentionOutput, layerWeights.wo, dim, dim);
      addInPlace(projected, layerWeights.bo, dim);
      addInPlace(x, projected, dim);

      layerNorm(normed, x, layerWeights.ffnNormWeight, layerWeights.ffnNormBias, dim, normEpsilon);
      matmul(hidden, normed, layerWeights.wUp, dim, hiddenDim);
      for (let i = 0; i < hiddenDim; i++) {
        const value = hidden[i] + layerWeights.bUp[i];
        hidden[i] = 0.5 * value * (1 + Math.tanh(geluScale * (value + 0.044715 * value * value * value)));
      }
      matmul(projected, hidden, layerWeights.wDown, hiddenDim, dim);
      addInPlace(projected, layerWeights.bDown, dim);
      addInPlace(x, projected, dim);
    }
    layerNorm(x, x, weights.finalNormWeight, weights.finalNormBias, dim, normEpsilon);
    matmul(this.logits, x, weights.tokenEmbedding, dim, config.vocabSize);
    return this.logits;
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
