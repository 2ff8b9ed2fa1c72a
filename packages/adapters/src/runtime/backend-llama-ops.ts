// Types only: the caller picks and initialises the backend, so loading adapters never loads WASM or WebGPU code.
import type { DeviceArray, KernelSet } from "@kvpack/kernels";
import type { FeedForwardActivation } from "../model/llama-model-description.js";
import type { LlamaConfig } from "../model/llama-weights.js";
import { defaultRope, isPlainRope, type RopeDescription } from "../model/rope.js";
import { rmsNorm } from "./kernels.js";
import { addBiasRows, geluTanhRows, grow, headRmsNormRows, RopeTable, rmsNormRows, swigluRows } from "./llama-vector-kernels.js";
import type { LlamaOps } from "./llama-ops.js";
import type { ResidentLlamaWeights } from "./resident-llama-weights.js";
import { matmulResident, matmulResidentBatch } from "./resident-matrix.js";

/**
 * LlamaOps on a kernel backend: the matmuls read the resident weights in place; RMSNorm, RoPE and
 * SwiGLU are backend kernels ("backend") or plain TypeScript ("host", which saves a round trip per
 * step on WebGPU). On WASM SwiGLU is always the kernel, once per chunk: its SIMD exp is faster
 * than Math.exp (8 % of a Q8_0 SmolLM2-shape prefill in TypeScript, profiled). A chunk of one
 * token uses `matmul` / `quantizedMatmul`, a longer chunk
 * `matmulBatch` / `quantizedMatmulBatch` (each weight read once per chunk, not once per token).
 * The steps the kernel set has no kernel for run on the host whatever `vectorKernels` says: q/k/v
 * biases and q/k head norms (a few hundred floats), GELU, and NeoX or scaled RoPE.
 */
export class BackendLlamaOps implements LlamaOps {
  private readonly config: LlamaConfig;
  private readonly weights: ResidentLlamaWeights;
  private readonly kernels: KernelSet;
  private readonly vectorKernels: "backend" | "host";
  private readonly rope: RopeTable;
  private readonly freqBase: number;
  private readonly hostRope: boolean;
  private readonly queryDim: number;
  private readonly kvDim: number;
  private normed: Float32Array = new Float32Array(0);
  private hidden: Float32Array = new Float32Array(0);
  /** A chunk's gate and up halves, gathered for one SwiGLU call. */
  private gates: Float32Array = new Float32Array(0);
  private ups: Float32Array = new Float32Array(0);
  /**
   * One result buffer per projection, reused layer after layer (each result is consumed before the
   * same projection runs again), so a step or prefill chunk allocates no matmul outputs.
   */
  private readonly projectionBuffers: Record<"queryKeyValue" | "output" | "gateUp" | "down", Float32Array> = { queryKeyValue: new Float32Array(0), output: new Float32Array(0), gateUp: new Float32Array(0), down: new Float32Array(0) };

  private readonly activation: FeedForwardActivation;

  constructor(weights: ResidentLlamaWeights, vectorKernels: "backend" | "host", rope: RopeDescription = defaultRope(weights.config), activation: FeedForwardActivation = "silu") {
    this.weights = weights;
    this.activation = activation;
    this.config = weights.config;
    this.kernels = weights.backend.kernels;
    this.vectorKernels = vectorKernels;
    this.rope = new RopeTable(weights.config, rope);
    this.freqBase = rope.freqBase;
    // The backend's rope kernel computes llama2.c's rotation only: NeoX or scaled RoPE runs on the host.
    this.hostRope = vectorKernels === "host" || !isPlainRope(rope);
    this.queryDim = this.config.heads * this.config.headDim;
    this.kvDim = this.config.kvHeads * this.config.headDim;
  }

  attentionNorm(layer: number, x: Float32Array, rows: number): Promise<Float32Array> {
    return this.norm(x, this.weights.layers[layer].attentionNorm, this.weights.host.layers[layer].attentionNorm, rows);
  }

  ffnNorm(layer: number, x: Float32Array, rows: number): Promise<Float32Array> {
    return this.norm(x, this.weights.layers[layer].ffnNorm, this.weights.host.layers[layer].ffnNorm, rows);
  }

  async queryKeyValue(layer: number, normed: Float32Array, rows: number): Promise<Float32Array> {
    const stride = this.queryDim + 2 * this.kvDim;
    const out = await this.matmul("queryKeyValue", this.weights.layers[layer].queryKeyValue, normed, rows, stride, this.config.dim);
    const { bq, bk, bv } = this.weights.host.layers[layer];
    if (bq) addBiasRows(out, stride, 0, bq, rows);
    if (bk) addBiasRows(out, stride, this.queryDim, bk, rows);
    if (bv) addBiasRows(out, stride, this.queryDim + this.kvDim, bv, rows);
    return out;
  }

  queryKeyNorm(layer: number, queryKeyValue: Float32Array, rows: number): Float32Array {
    const { queryNorm, keyNorm } = this.weights.host.layers[layer];
    headRmsNormRows(queryKeyValue, this.queryDim + 2 * this.kvDim, this.queryDim, this.kvDim, this.config.headDim, queryNorm!, keyNorm!, rows, this.config.normEpsilon);
    return queryKeyValue;
  }

  postAttentionNorm(layer: number, x: Float32Array, rows: number): Promise<Float32Array> {
    return this.norm(x, this.weights.layers[layer].postAttentionNorm!, this.weights.host.layers[layer].postAttentionNorm!, rows);
  }

  postFfnNorm(layer: number, x: Float32Array, rows: number): Promise<Float32Array> {
    return this.norm(x, this.weights.layers[layer].postFfnNorm!, this.weights.host.layers[layer].postFfnNorm!, rows);
  }

  async rotate(queryKeyValue: Float32Array, rows: number, startPosition: number): Promise<Float32Array> {
    const stride = this.queryDim + 2 * this.kvDim;
    // Queries and keys are adjacent whole heads, so one RoPE call per token rotates both.
    const size = this.queryDim + this.kvDim;
    if (this.hostRope) {
      this.rope.rotateRows(queryKeyValue, stride, size, rows, startPosition);
      return queryKeyValue;
    }
    for (let r = 0; r < rows; r++) {
      const input = queryKeyValue.subarray(r * stride, r * stride + size);
      const rotated = await this.kernels.rope({ input, headDimension: this.config.headDim, position: startPosition + r, theta: this.freqBase });
      input.set(rotated);
    }
    return queryKeyValue;
  }

  output(layer: number, attention: Float32Array, rows: number): Promise<Float32Array> {
    return this.matmul("output", this.weights.layers[layer].output, attention, rows, this.config.dim, this.queryDim);
  }

  gateUp(layer: number, normed: Float32Array, rows: number): Promise<Float32Array> {
    return this.matmul("gateUp", this.weights.layers[layer].gateUp, normed, rows, 2 * this.config.hiddenDim, this.config.dim);
  }

  async gatedActivation(gateUp: Float32Array, rows: number): Promise<Float32Array> {
    const { hiddenDim } = this.config;
    this.hidden = grow(this.hidden, rows * hiddenDim);
    const hidden = this.hidden.subarray(0, rows * hiddenDim);
    if (this.activation === "gelu-tanh") {
      geluTanhRows(hidden, gateUp, hiddenDim, rows);
      return hidden;
    }
    if (this.vectorKernels === "host" && this.weights.backend.name !== "wasm") {
      swigluRows(hidden, gateUp, hiddenDim, rows);
      return hidden;
    }
    if (rows === 1) return this.kernels.swiglu({ gate: gateUp.subarray(0, hiddenDim), up: gateUp.subarray(hiddenDim, 2 * hiddenDim), out: hidden });
    // One call for the chunk: each row's gate and up halves gathered into two contiguous arrays.
    this.gates = grow(this.gates, rows * hiddenDim);
    this.ups = grow(this.ups, rows * hiddenDim);
    const gates = this.gates.subarray(0, rows * hiddenDim);
    const ups = this.ups.subarray(0, rows * hiddenDim);
    for (let r = 0; r < rows; r++) {
      const base = r * 2 * hiddenDim;
      gates.set(gateUp.subarray(base, base + hiddenDim), r * hiddenDim);
      ups.set(gateUp.subarray(base + hiddenDim, base + 2 * hiddenDim), r * hiddenDim);
    }
    return this.kernels.swiglu({ gate: gates, up: ups, out: hidden });
  }

  down(layer: number, hidden: Float32Array, rows: number): Promise<Float32Array> {
    return this.matmul("down", this.weights.layers[layer].down, hidden, rows, this.config.dim, this.config.hiddenDim);
  }

  async finalNorm(x: Float32Array): Promise<Float32Array> {
    if (this.vectorKernels === "backend") return this.kernels.rmsNorm({ input: x, weight: this.weights.finalNorm, epsilon: this.config.normEpsilon });
    this.normed = grow(this.normed, this.config.dim);
    const out = this.normed.subarray(0, this.config.dim);
    rmsNorm(out, x, this.weights.host.finalNorm, this.config.dim, this.config.normEpsilon);
    return out;
  }

  classifier(normed: Float32Array): Promise<Float32Array> {
    return matmulResident(this.kernels, this.weights.classifier, normed, this.config.vocabSize, this.config.dim);
  }

  private async norm(x: Float32Array, resident: DeviceArray, host: Float32Array, rows: number): Promise<Float32Array> {
    const { dim, normEpsilon } = this.config;
    if (this.vectorKernels === "backend" && rows === 1) return this.kernels.rmsNorm({ input: x, weight: resident, epsilon: normEpsilon });
    this.normed = grow(this.normed, rows * dim);
    const out = this.normed.subarray(0, rows * dim);
    if (this.vectorKernels === "host") {
      rmsNormRows(out, x, host, dim, rows, normEpsilon);
      return out;
    }
    for (let r = 0; r < rows; r++) {
      out.set(await this.kernels.rmsNorm({ input: x.subarray(r * dim, (r + 1) * dim), weight: resident, epsilon: normEpsilon }), r * dim);
    }
    return out;
  }

  /** `rows` inputs of `columns` floats through a `outputs × columns` resident matrix, into the projection's buffer where the kernel takes one. */
  private matmul(projection: keyof BackendLlamaOps["projectionBuffers"], matrix: DeviceArray, inputs: Float32Array, rows: number, outputs: number, columns: number): Promise<Float32Array> {
    const buffers = this.projectionBuffers;
    buffers[projection] = grow(buffers[projection], rows * outputs);
    return matmulResidentBatch(this.kernels, matrix, inputs, rows, outputs, columns, buffers[projection].subarray(0, rows * outputs));
  }
}
