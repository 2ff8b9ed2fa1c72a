import type { LlamaConfig } from "../model/llama-weights.js";
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

/**
 * RoPE on consecutive (even, odd) pairs within each head, as llama2.c run.c does, with its
 * float32 frequencies: freq = 1 / powf(θ, head_dim / (float)head_size).
 */
export class RopeTable {
  private readonly headDim: number;
  private readonly frequencies: Float32Array;
  private readonly cosines: Float32Array;
  private readonly sines: Float32Array;

  constructor(config: LlamaConfig) {
    this.headDim = config.headDim;
    const pairs = config.headDim / 2;
    this.frequencies = new Float32Array(pairs);
    for (let pair = 0; pair < pairs; pair++) this.frequencies[pair] = 1 / Math.pow(config.ropeTheta, (2 * pair) / config.headDim);
    this.cosines = new Float32Array(pairs);
    this.sines = new Float32Array(pairs);
  }

  /** Rotates the first `size` floats of each row (stride `stride`) in place, row r at `startPosition + r`. */
  rotateRows(vectors: Float32Array, stride: number, size: number, rows: number, startPosition: number): void {
    const { frequencies, cosines, sines, headDim } = this;
    for (let r = 0; r < rows; r++) {
      const position = startPosition + r;
      for (let pair = 0; pair < frequencies.length; pair++) {
        const angle = position * frequencies[pair];
        cosines[pair] = Math.cos(angle);
        sines[pair] = Math.sin(angle);
      }
      const base = r * stride;
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
