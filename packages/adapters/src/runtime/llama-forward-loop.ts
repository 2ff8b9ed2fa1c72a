import type { KVCache, KVCacheShape } from "@kvpack/cache";
import type { LlamaModelDescription } from "../model/llama-model-description.js";
import type { LlamaConfig } from "../model/llama-weights.js";
import { ModelArgumentError } from "../model/model-format-error.js";
import { checkForwardArguments } from "./check-forward-arguments.js";
import { type EmbeddingRows, floatEmbeddingRows } from "./embedding-rows.js";
import type { LayerActivations, LayerObserver, PrefillOptions } from "./language-model-runtime.js";
import { grow } from "./llama-vector-kernels.js";
import type { LlamaOps } from "./llama-ops.js";
import type { Steps } from "./run-steps.js";

/** Tokens per prefill chunk unless the caller says otherwise: enough to reuse each weight row many times, small enough that a chunk's activations stay in cache. */
export const defaultPrefillChunk = 64;

/** The chunk size of `options`, checked. */
export function prefillChunkSize(options: PrefillOptions | undefined): number {
  const chunkSize = options?.chunkSize ?? defaultPrefillChunk;
  if (!Number.isInteger(chunkSize) || chunkSize < 1) throw new ModelArgumentError(`prefill: chunkSize must be a positive integer, got ${chunkSize}`);
  return chunkSize;
}

type MutableLayerActivations = { -readonly [K in keyof LayerActivations]: LayerActivations[K] };

/**
 * The one Llama-family forward loop over a chunk of tokens, behind both LlamaRuntime (synchronous
 * TypeScript) and KernelLlamaRuntime (a kernel backend): they differ only in their LlamaOps and in
 * how they drive the steps (run-steps.ts). It follows the model description
 * (model/llama-model-description.ts) as llama.cpp's graphs do: embedding × embeddingScale; per
 * layer RMSNorm → q/k/v (+ biases) → per-head q/k RMSNorm where present → RoPE (the description's
 * style) → attention through the KVCache (attentionScale, attention soft cap, the layer's sliding
 * window held by the cache) → wo → post-attention norm where present → residual; RMSNorm → gated
 * FFN (silu or gelu_tanh) → post-FFN norm where present → residual; final RMSNorm → classifier
 * (+ bias) → final logit soft cap.
 *
 * A chunk goes through each layer at once, so the matmuls are matrix–matrix. Within a layer the
 * tokens are appended and attended one after the other, so token t sees exactly the cache a
 * token-by-token run would show it (causal within the chunk; retention policies see the same
 * sequence of appends and attends per layer).
 */
export class LlamaForwardLoop {
  readonly config: LlamaConfig;
  readonly cacheShape: KVCacheShape;
  observer: LayerObserver | undefined;
  private readonly embeddingRows: EmbeddingRows;
  private x: Float32Array = new Float32Array(0);
  private attentionRows: Float32Array = new Float32Array(0);
  private attentionWeights: Float32Array;
  private readonly attentionOptions: { heads: number; scale: number; logitSoftCap: number | undefined; weightsOut: Float32Array | undefined };
  private readonly activations: MutableLayerActivations;
  private readonly description: LlamaModelDescription;

  /** `embeddingRows`: where token rows come from (default the fp32 tokenEmbedding, read on first use). */
  constructor(description: LlamaModelDescription, observer: LayerObserver | undefined, embeddingRows?: EmbeddingRows) {
    const { config } = description;
    this.description = description;
    this.config = config;
    this.embeddingRows = embeddingRows ?? floatEmbeddingRows(() => description.weights.tokenEmbedding, config.dim);
    this.observer = observer;
    const windows = description.layerAttention.map((attention) => (attention.kind === "sliding-window" ? attention.window : undefined));
    this.cacheShape = {
      layers: config.layers,
      kvHeads: config.kvHeads,
      headDim: config.headDim,
      ...(windows.some((window) => window !== undefined) ? { layerWindows: windows } : {}),
    };
    this.attentionWeights = new Float32Array(config.heads * 64);
    this.attentionOptions = { heads: config.heads, scale: description.attentionScale, logitSoftCap: description.attentionLogitSoftCap, weightsOut: undefined };
    const empty = new Float32Array(0);
    this.activations = {
      layer: 0,
      position: 0,
      token: 0,
      queries: empty,
      keys: empty,
      values: empty,
      attentionOutput: empty,
      attentionWeights: undefined,
      cacheLength: 0,
    };
  }

  /** Checks every token and the cache before anything is appended. */
  check(tokens: ArrayLike<number>, startPosition: number, cache: KVCache): void {
    if (tokens.length === 0) throw new ModelArgumentError("prefill: no tokens");
    for (let index = 0; index < tokens.length; index++) {
      checkForwardArguments(tokens[index], startPosition + index, cache, this.config.vocabSize, this.cacheShape);
    }
    const expected = this.cacheShape.layerWindows;
    for (let layer = 0; layer < this.config.layers; layer++) {
      if (cache.layerWindows?.[layer] !== expected?.[layer]) {
        throw new ModelArgumentError(
          `forward: layer ${layer} of the model attends ${expected?.[layer] === undefined ? "the whole cache" : `a sliding window of ${expected[layer]}`} but the cache's layerWindows gives ${cache.layerWindows?.[layer] ?? "none"}: build the cache from the runtime's cacheShape`,
        );
      }
    }
  }

  /**
   * Runs `tokens` (already checked) at positions `startPosition…` through every layer, appending
   * their keys and values to `cache`; the steps end with the logits of the last token.
   */
  *steps(ops: LlamaOps, tokens: ArrayLike<number>, startPosition: number, cache: KVCache): Steps<Float32Array> {
    const { config, attentionOptions, observer, description } = this;
    const { embeddingScale } = description;
    const layerWeights = description.weights.layers;
    const { dim, headDim, heads } = config;
    const rows = tokens.length;
    const queryDim = heads * headDim;
    const kvDim = config.kvHeads * headDim;
    const stride = queryDim + 2 * kvDim;
    this.x = grow(this.x, rows * dim);
    this.attentionRows = grow(this.attentionRows, rows * queryDim);
    const x = this.x.subarray(0, rows * dim);
    const attention = this.attentionRows.subarray(0, rows * queryDim);
    for (let r = 0; r < rows; r++) this.embeddingRows(tokens[r], x.subarray(r * dim, (r + 1) * dim));
    if (embeddingScale !== 1) for (let i = 0; i < x.length; i++) x[i] *= embeddingScale;

    for (let layer = 0; layer < config.layers; layer++) {
      const weights = layerWeights[layer];
      const normed = yield ops.attentionNorm(layer, x, rows);
      let projections = yield ops.queryKeyValue(layer, normed, rows);
      if (weights.queryNorm) projections = yield ops.queryKeyNorm(layer, projections, rows);
      const rotated = yield ops.rotate(projections, rows, startPosition);
      for (let r = 0; r < rows; r++) {
        const base = r * stride;
        const queries = rotated.subarray(base, base + queryDim);
        const keys = rotated.subarray(base + queryDim, base + queryDim + kvDim);
        const values = rotated.subarray(base + queryDim + kvDim, base + stride);
        const output = attention.subarray(r * queryDim, (r + 1) * queryDim);
        cache.append(layer, keys, values);
        const cacheLength = cache.length(layer);
        attentionOptions.weightsOut = undefined;
        if (observer?.captureAttentionWeights) {
          if (this.attentionWeights.length < heads * cacheLength) this.attentionWeights = new Float32Array(heads * cacheLength * 2);
          attentionOptions.weightsOut = this.attentionWeights.subarray(0, heads * cacheLength);
        }
        cache.attend(layer, queries, output, attentionOptions);
        if (observer) this.notify(observer, layer, startPosition + r, tokens[r], cacheLength, queries, keys, values, output);
      }
      let projected = yield ops.output(layer, attention, rows);
      if (weights.postAttentionNorm) projected = yield ops.postAttentionNorm(layer, projected, rows);
      for (let i = 0; i < x.length; i++) x[i] += projected[i];
      const ffnInput = yield ops.ffnNorm(layer, x, rows);
      const gateUp = yield ops.gateUp(layer, ffnInput, rows);
      const hidden = yield ops.gatedActivation(gateUp, rows);
      let down = yield ops.down(layer, hidden, rows);
      if (weights.postFfnNorm) down = yield ops.postFfnNorm(layer, down, rows);
      for (let i = 0; i < x.length; i++) x[i] += down[i];
    }
    const final = yield ops.finalNorm(x.subarray((rows - 1) * dim, rows * dim));
    const logits = yield ops.classifier(final);
    const bias = description.weights.classifierBias;
    if (bias) for (let i = 0; i < logits.length; i++) logits[i] += bias[i];
    const cap = description.finalLogitSoftCap;
    if (cap !== undefined) for (let i = 0; i < logits.length; i++) logits[i] = cap * Math.tanh(logits[i] / cap);
    return logits;
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
    attentionOutput: Float32Array,
  ): void {
    const activations = this.activations;
    activations.layer = layer;
    activations.position = position;
    activations.token = token;
    activations.queries = queries;
    activations.keys = keys;
    activations.values = values;
    activations.attentionOutput = attentionOutput;
    activations.cacheLength = cacheLength;
    activations.attentionWeights = this.attentionOptions.weightsOut;
    observer.onLayer(activations);
  }
}
