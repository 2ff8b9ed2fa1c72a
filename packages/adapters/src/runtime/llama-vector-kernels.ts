import type { LlamaConfig } from "../model/llama-weights.js";
import { defaultRope, ropeFrequencies, type RopeDescription, type RopeStyle } from "../model/rope.js";
import { rmsNorm } from "./kernels.js";

// The few-hundred-float steps of a Llama layer in plain TypeScript, row by row. The synchronous
// runtime uses them, and so does KernelLlamaRuntime with vectorKernels "host".

/** RMSNorm of each of `rows` rows of `width` floats. */
export function rmsNormRows(out: Float32Array, x: Float32Array, weight: Float32Array, width: number, rows: number, epsilon: number): void {
  for (let r = 0; r < rows; r++) rmsNorm(out.subarray(r * width, (r + 1) * width), x.subarray(r * width, (r + 1) * width), weight, width, epsilon);
}

/** out[r] = silu(gate) ⊙ up for rows laid out [gate | up] (2·hiddenDim each). */
export function swigluRows(out: Float32Array, gateUp: Float32Array, hiddenDim: number, rows: number): void {
  for (let r = 0; r < rows; r++) {
    const gate = r * 2 * hiddenDim;
    const up = gate + hiddenDim;
    const target = r * hiddenDim;
    for (let i = 0; i < hiddenDim; i++) {
      const value = gateUp[gate + i];
      out[target + i] = (value / (1 + Math.exp(-value))) * gateUp[up + i];
    }
  }
}

const geluCoefficient = Math.sqrt(2 / Math.PI);

/** out[r] = gelu_tanh(gate) ⊙ up for rows laid out [gate | up] (Gemma 2's GeGLU; gelu_pytorch_tanh, ggml_gelu). */
export function geluTanhRows(out: Float32Array, gateUp: Float32Array, hiddenDim: number, rows: number): void {
  for (let r = 0; r < rows; r++) {
    const gate = r * 2 * hiddenDim;
    const up = gate + hiddenDim;
    const target = r * hiddenDim;
    for (let i = 0; i < hiddenDim; i++) {
      const value = gateUp[gate + i];
      out[target + i] = 0.5 * value * (1 + Math.tanh(geluCoefficient * (value + 0.044715 * value * value * value))) * gateUp[up + i];
    }
  }
}

/**
 * RMSNorm of each query and key head in place (Qwen3's q_norm / k_norm, before RoPE): rows of
 * `stride` floats laid out [queries | keys | …], heads of `headDim`.
 */
export function headRmsNormRows(
  rows: Float32Array,
  stride: number,
  queryDim: number,
  kvDim: number,
  headDim: number,
  queryNorm: Float32Array,
  keyNorm: Float32Array,
  count: number,
  epsilon: number,
): void {
  for (let r = 0; r < count; r++) {
    const base = r * stride;
    for (let head = 0; head < queryDim + kvDim; head += headDim) {
      const vector = rows.subarray(base + head, base + head + headDim);
      rmsNorm(vector, vector, head < queryDim ? queryNorm : keyNorm, headDim, epsilon);
    }
  }
}

/** Adds `bias` to `width` floats at `offset` of each row (stride `stride`). */
export function addBiasRows(rows: Float32Array, stride: number, offset: number, bias: Float32Array, count: number): void {
  for (let r = 0; r < count; r++) {
    const base = r * stride + offset;
    for (let i = 0; i < bias.length; i++) rows[base + i] += bias[i];
  }
}

/**
 * RoPE per row with a model's rotation (model/rope.ts): interleaved pairs (2i, 2i+1) of each head as
 * llama2.c run.c does, or NeoX pairs (i, i + headDim/2); float32 frequencies like run.c's
 * 1 / powf(θ, head_dim / (float)head_size), Llama 3 scaling applied to them.
 */
export class RopeTable {
  private readonly headDim: number;
  private readonly style: RopeStyle;
  private readonly frequencies: Float32Array;
  private readonly cosines: Float32Array;
  private readonly sines: Float32Array;

  constructor(config: LlamaConfig, rope: RopeDescription = defaultRope(config)) {
    this.headDim = config.headDim;
    this.style = rope.style;
    this.frequencies = ropeFrequencies(config.headDim, rope);
    this.cosines = new Float32Array(this.frequencies.length);
    this.sines = new Float32Array(this.frequencies.length);
  }

  /** Rotates the first `size` floats of each row (stride `stride`, whole heads) in place, row r at `startPosition + r`. */
  rotateRows(vectors: Float32Array, stride: number, size: number, rows: number, startPosition: number): void {
    const { frequencies, cosines, sines, headDim } = this;
    const half = headDim >> 1;
    for (let r = 0; r < rows; r++) {
      const position = startPosition + r;
      for (let pair = 0; pair < frequencies.length; pair++) {
        const angle = position * frequencies[pair];
        cosines[pair] = Math.cos(angle);
        sines[pair] = Math.sin(angle);
      }
      const base = r * stride;
      if (this.style === "neox") {
        for (let head = 0; head < size; head += headDim) {
          for (let pair = 0; pair < half; pair++) {
            const first = base + head + pair;
            const v0 = vectors[first];
            const v1 = vectors[first + half];
            vectors[first] = v0 * cosines[pair] - v1 * sines[pair];
            vectors[first + half] = v0 * sines[pair] + v1 * cosines[pair];
          }
        }
        continue;
      }
      for (let i = 0; i < size; i += 2) {
        const pair = (i % headDim) >> 1;
        const cosine = cosines[pair];
        const sine = sines[pair];
        const v0 = vectors[base + i];
        const v1 = vectors[base + i + 1];
        vectors[base + i] = v0 * cosine - v1 * sine;
        vectors[base + i + 1] = v0 * sine + v1 * cosine;
      }
    }
  }
}

/** A Float32Array of at least `length`, reallocated (doubling) only when too small. */
export function grow(buffer: Float32Array, length: number): Float32Array {
  return buffer.length >= length ? buffer : new Float32Array(Math.max(length, buffer.length * 2));
}
