import type { KVCache, KVCacheShape } from "@kvpack/cache";
import type { LlamaConfig } from "../model/llama-weights.js";
import { ModelArgumentError } from "../model/model-format-error.js";
import { checkForwardArguments } from "./check-forward-arguments.js";
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
 * The one Llama forward loop (llama2.c run.c semantics: RMSNorm, interleaved-pair RoPE,
 * grouped-query attention through the KVCache, SwiGLU) over a chunk of tokens, behind both
 * LlamaRuntime (synchronous TypeScript) and KernelLlamaRuntime (a kernel backend): they differ
 * only in their LlamaOps and in how they drive the steps (run-steps.ts).
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
  private readonly tokenEmbedding: Float32Array;
  private x: Float32Array = new Float32Array(0);
  private attentionRows: Float32Array = new Float32Array(0);
  private attentionWeights: Float32Array;
  private readonly attentionOptions: { heads: number; scale: number; weightsOut: Float32Array | undefined };
  private readonly activations: MutableLayerActivations;

  constructor(config: LlamaConfig, tokenEmbedding: Float32Array, observer: LayerObserver | undefined) {
    this.config = config;
    this.tokenEmbedding = tokenEmbedding;
    this.observer = observer;
    this.cacheShape = { layers: config.layers, kvHeads: config.kvHeads, headDim: config.headDim };
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
  }

  /**
   * Runs `tokens` (already checked) at positions `startPosition…` through every layer, appending
   * their keys and values to `cache`; the steps end with the logits of the last token.
   */
  *steps(ops: LlamaOps, tokens: ArrayLike<number>, startPosition: number, cache: KVCache): Steps<Float32Array> {
    const { config, attentionOptions, observer } = this;
    const { dim, headDim, heads } = config;
    const rows = tokens.length;
    const queryDim = heads * headDim;
    const kvDim = config.kvHeads * headDim;
    const stride = queryDim + 2 * kvDim;
    this.x = grow(this.x, rows * dim);
    this.attentionRows = grow(this.attentionRows, rows * queryDim);
    const x = this.x.subarray(0, rows * dim);
    const attention = this.attentionRows.subarray(0, rows * queryDim);
    for (let r = 0; r < rows; r++) x.set(this.tokenEmbedding.subarray(tokens[r] * dim, (tokens[r] + 1) * dim), r * dim);

    for (let layer = 0; layer < config.layers; layer++) {
      const normed = yield ops.attentionNorm(layer, x, rows);
      const projections = yield ops.queryKeyValue(layer, normed, rows);
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
      const projected = yield ops.output(layer, attention, rows);
      for (let i = 0; i < x.length; i++) x[i] += projected[i];
      const ffnInput = yield ops.ffnNorm(layer, x, rows);
      const gateUp = yield ops.gateUp(layer, ffnInput, rows);
      const hidden = yield ops.swiglu(gateUp, rows);
      const down = yield ops.down(layer, hidden, rows);
      for (let i = 0; i < x.length; i++) x[i] += down[i];
    }
    const final = yield ops.finalNorm(x.subarray((rows - 1) * dim, rows * dim));
    return yield ops.classifier(final);
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
