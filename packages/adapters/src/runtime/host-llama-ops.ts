import type { FeedForwardActivation } from "../model/llama-model-description.js";
import type { LlamaConfig, LlamaWeights } from "../model/llama-weights.js";
import type { RopeDescription } from "../model/rope.js";
import { matmul, matmulRows, rmsNorm } from "./kernels.js";
import { addBiasRows, geluTanhRows, grow, headRmsNormRows, RopeTable, rmsNormRows, swigluRows } from "./llama-vector-kernels.js";
import type { LlamaOps } from "./llama-ops.js";

/**
 * LlamaOps in synchronous TypeScript over the host weights (float32 storage, float64 sums with
 * four accumulators). Every result is bit-identical whether a chunk has one row or many.
 */
export class HostLlamaOps implements LlamaOps {
  private readonly config: LlamaConfig;
  private readonly weights: LlamaWeights;
  private readonly rope: RopeTable;
  private readonly queryDim: number;
  private readonly kvDim: number;
  private normed: Float32Array = new Float32Array(0);
  private queryKeyValueRows: Float32Array = new Float32Array(0);
  private projected: Float32Array = new Float32Array(0);
  private gateUpRows: Float32Array = new Float32Array(0);
  private hidden: Float32Array = new Float32Array(0);
  private readonly finalNormed: Float32Array;
  private readonly logits: Float32Array;

  private readonly activation: FeedForwardActivation;

  constructor(weights: LlamaWeights, rope?: RopeDescription, activation: FeedForwardActivation = "silu") {
    this.weights = weights;
    this.activation = activation;
    this.config = weights.config;
    this.rope = new RopeTable(weights.config, rope);
    this.queryDim = this.config.heads * this.config.headDim;
    this.kvDim = this.config.kvHeads * this.config.headDim;
    this.finalNormed = new Float32Array(this.config.dim);
    this.logits = new Float32Array(this.config.vocabSize);
  }

  attentionNorm(layer: number, x: Float32Array, rows: number): Float32Array {
    return this.norm(x, this.weights.layers[layer].attentionNorm, rows);
  }

  ffnNorm(layer: number, x: Float32Array, rows: number): Float32Array {
    return this.norm(x, this.weights.layers[layer].ffnNorm, rows);
  }

  queryKeyValue(layer: number, normed: Float32Array, rows: number): Float32Array {
    const { dim } = this.config;
    const { queryDim, kvDim } = this;
    const stride = queryDim + 2 * kvDim;
    this.queryKeyValueRows = grow(this.queryKeyValueRows, rows * stride);
    const out = this.queryKeyValueRows;
    const { wq, wk, wv, bq, bk, bv } = this.weights.layers[layer];
    matmulRows(out, stride, 0, normed, dim, wq, dim, queryDim, rows);
    matmulRows(out, stride, queryDim, normed, dim, wk, dim, kvDim, rows);
    matmulRows(out, stride, queryDim + kvDim, normed, dim, wv, dim, kvDim, rows);
    if (bq) addBiasRows(out, stride, 0, bq, rows);
    if (bk) addBiasRows(out, stride, queryDim, bk, rows);
    if (bv) addBiasRows(out, stride, queryDim + kvDim, bv, rows);
    return out.subarray(0, rows * stride);
  }

  queryKeyNorm(layer: number, queryKeyValue: Float32Array, rows: number): Float32Array {
    const { queryNorm, keyNorm } = this.weights.layers[layer];
    const { headDim, normEpsilon } = this.config;
    headRmsNormRows(queryKeyValue, this.queryDim + 2 * this.kvDim, this.queryDim, this.kvDim, headDim, queryNorm!, keyNorm!, rows, normEpsilon);
    return queryKeyValue;
  }

  postAttentionNorm(layer: number, x: Float32Array, rows: number): Float32Array {
    return this.norm(x, this.weights.layers[layer].postAttentionNorm!, rows);
  }

  postFfnNorm(layer: number, x: Float32Array, rows: number): Float32Array {
    return this.norm(x, this.weights.layers[layer].postFfnNorm!, rows);
  }

  rotate(queryKeyValue: Float32Array, rows: number, startPosition: number): Float32Array {
    this.rope.rotateRows(queryKeyValue, this.queryDim + 2 * this.kvDim, this.queryDim + this.kvDim, rows, startPosition);
    return queryKeyValue;
  }

  output(layer: number, attention: Float32Array, rows: number): Float32Array {
    return this.project(attention, this.weights.layers[layer].wo, this.queryDim, rows);
  }

  gateUp(layer: number, normed: Float32Array, rows: number): Float32Array {
    const { dim, hiddenDim } = this.config;
    this.gateUpRows = grow(this.gateUpRows, rows * 2 * hiddenDim);
    const out = this.gateUpRows;
    const { w1, w3 } = this.weights.layers[layer];
    matmulRows(out, 2 * hiddenDim, 0, normed, dim, w1, dim, hiddenDim, rows);
    matmulRows(out, 2 * hiddenDim, hiddenDim, normed, dim, w3, dim, hiddenDim, rows);
    return out.subarray(0, rows * 2 * hiddenDim);
  }

  gatedActivation(gateUp: Float32Array, rows: number): Float32Array {
    const { hiddenDim } = this.config;
    this.hidden = grow(this.hidden, rows * hiddenDim);
    (this.activation === "gelu-tanh" ? geluTanhRows : swigluRows)(this.hidden, gateUp, hiddenDim, rows);
    return this.hidden.subarray(0, rows * hiddenDim);
  }

  down(layer: number, hidden: Float32Array, rows: number): Float32Array {
    return this.project(hidden, this.weights.layers[layer].w2, this.config.hiddenDim, rows);
  }

  finalNorm(x: Float32Array): Float32Array {
    rmsNorm(this.finalNormed, x, this.weights.finalNorm, this.config.dim, this.config.normEpsilon);
    return this.finalNormed;
  }

  classifier(normed: Float32Array): Float32Array {
    matmul(this.logits, normed, this.weights.classifier, this.config.dim, this.config.vocabSize);
    return this.logits;
  }

  private norm(x: Float32Array, weight: Float32Array, rows: number): Float32Array {
    const { dim, normEpsilon } = this.config;
    this.normed = grow(this.normed, rows * dim);
    rmsNormRows(this.normed, x, weight, dim, rows, normEpsilon);
    return this.normed.subarray(0, rows * dim);
  }

  private project(input: Float32Array, weight: Float32Array, inputSize: number, rows: number): Float32Array {
    const { dim } = this.config;
    this.projected = grow(this.projected, rows * dim);
    matmulRows(this.projected, dim, 0, input, inputSize, weight, inputSize, dim, rows);
    return this.projected.subarray(0, rows * dim);
  }
}
