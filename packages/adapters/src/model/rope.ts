import type { LlamaConfig } from "./llama-weights.js";
import { ModelArgumentError } from "./model-format-error.js";

/**
 * How a model rotates queries and keys (part of the model description the runtimes read).
 * "interleaved": pairs (2i, 2i+1) of each head, llama2.c / GGUF `llama`. "neox": pairs (i, i + d/2),
 * GPT-NeoX / Hugging Face `rotate_half` (GGUF `qwen2`, `phi3`, `gemma2` …).
 */
export type RopeStyle = "interleaved" | "neox";

/** Llama 3.x frequency scaling (`rope.scaling.type = llama3`, Hugging Face `rope_type: "llama3"`). */
export interface Llama3RopeScaling {
  readonly kind: "llama3";
  readonly factor: number;
  readonly lowFrequencyFactor: number;
  readonly highFrequencyFactor: number;
  /** The context the model was pretrained with (`original_max_position_embeddings`). */
  readonly originalContextLength: number;
}

/** Position interpolation (`rope.scaling.type = linear`, Hugging Face `rope_type: "linear"`): every frequency divided by `factor`. */
export interface LinearRopeScaling {
  readonly kind: "linear";
  readonly factor: number;
}

export interface RopeDescription {
  readonly style: RopeStyle;
  /** θ of freq_i = θ^(−2i/headDim) (`rope.freq_base`). */
  readonly freqBase: number;
  readonly scaling?: Llama3RopeScaling | LinearRopeScaling;
  /**
   * Per-pair divisors of the frequencies, as llama.cpp's `rope_freqs.weight` tensor (its
   * freq_factors: Llama 3.x GGUF files carry the llama3 scaling this way, since GGUF has no
   * metadata for it). headDim/2 values; freq_i becomes freq_i / factor_i after any `scaling`.
   */
  readonly frequencyFactors?: Float32Array;
}

/** The llama2.c rotation every loader produces today: interleaved pairs, θ = config.ropeTheta, no scaling. */
export function defaultRope(config: LlamaConfig): RopeDescription {
  return { style: "interleaved", freqBase: config.ropeTheta };
}

/** True when `rope` is the plain llama2.c rotation (what the kernels' `rope` computes). */
export function isPlainRope(rope: RopeDescription): boolean {
  return rope.style === "interleaved" && rope.scaling === undefined && rope.frequencyFactors === undefined;
}

/**
 * freq_i for i < headDim/2, stored as float32 like run.c (1 / powf(θ, 2i/headDim)), with Llama 3
 * scaling applied as Hugging Face `_compute_llama3_parameters` does: wavelengths shorter than
 * original/highFrequencyFactor keep their frequency, longer than original/lowFrequencyFactor are
 * divided by `factor`, and those between are interpolated. Linear scaling divides every frequency
 * by its factor (Hugging Face `_compute_linear_scaling_rope_parameters`: position / factor).
 */
export function ropeFrequencies(headDim: number, rope: RopeDescription): Float32Array {
  if (!(rope.freqBase > 0) || !Number.isFinite(rope.freqBase)) throw new ModelArgumentError(`rope: freqBase must be positive, got ${rope.freqBase}`);
  const pairs = headDim / 2;
  const frequencies = new Float32Array(pairs);
  for (let pair = 0; pair < pairs; pair++) frequencies[pair] = 1 / Math.pow(rope.freqBase, (2 * pair) / headDim);
  const factors = rope.frequencyFactors;
  if (factors !== undefined && (factors.length !== pairs || !factors.every((factor) => factor > 0 && Number.isFinite(factor)))) {
    throw new ModelArgumentError(`rope: frequencyFactors must hold ${pairs} positive numbers, got ${factors.length}`);
  }
  applyScaling(frequencies, rope.scaling);
  if (factors !== undefined) for (let pair = 0; pair < pairs; pair++) frequencies[pair] = frequencies[pair] / factors[pair];
  return frequencies;
}

function applyScaling(frequencies: Float32Array, scaling: Llama3RopeScaling | LinearRopeScaling | undefined): void {
  const pairs = frequencies.length;
  if (scaling === undefined) return;
  if (scaling.kind === "linear") {
    if (!(scaling.factor > 0) || !Number.isFinite(scaling.factor)) throw new ModelArgumentError(`rope: linear scaling needs a positive factor, got ${scaling.factor}`);
    for (let pair = 0; pair < pairs; pair++) frequencies[pair] = frequencies[pair] / scaling.factor;
    return;
  }
  const { factor, lowFrequencyFactor, highFrequencyFactor, originalContextLength } = scaling;
  if (!(factor >= 1) || !(highFrequencyFactor > lowFrequencyFactor) || !(lowFrequencyFactor > 0) || !(originalContextLength > 0)) {
    throw new ModelArgumentError(`rope: llama3 scaling needs factor ≥ 1 and highFrequencyFactor > lowFrequencyFactor > 0, got ${JSON.stringify(scaling)}`);
  }
  const lowFrequencyWavelength = originalContextLength / lowFrequencyFactor;
  const highFrequencyWavelength = originalContextLength / highFrequencyFactor;
  for (let pair = 0; pair < pairs; pair++) {
    const frequency = frequencies[pair];
    const wavelength = (2 * Math.PI) / frequency;
    if (wavelength < highFrequencyWavelength) continue;
    if (wavelength > lowFrequencyWavelength) {
      frequencies[pair] = frequency / factor;
      continue;
    }
    const smooth = (originalContextLength / wavelength - lowFrequencyFactor) / (highFrequencyFactor - lowFrequencyFactor);
    frequencies[pair] = (1 - smooth) * (frequency / factor) + smooth * frequency;
  }
}
