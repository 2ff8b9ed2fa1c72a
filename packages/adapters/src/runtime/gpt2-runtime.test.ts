import { describe, expect, it } from "vitest";
import { SeededRandom } from "../generation/seeded-random.js";
import { loadSafetensorsGpt2 } from "../safetensors/load-safetensors-gpt2.js";
import { type SafetensorsWriterTensor, writeSafetensors } from "../safetensors/safetensors-file.js";
import { createDenseCache } from "./create-dense-cache.js";
import { Gpt2Runtime } from "./gpt2-runtime.js";
import type { LayerActivations } from "./language-model-runtime.js";

// A tiny GPT-2 with seeded random weights in Hugging Face layout (Conv1D weights are [in, out]).
const dim = 8;
const heads = 2;
const layers = 2;
const vocabSize = 11;
const positions = 6;
const hidden = 4 * dim;
const random = new SeededRandom(2024);
const tensors: Record<string, { shape: number[]; data: Float32Array }> = {};
const make = (name: string, shape: number[], scale: number, offset = 0): void => {
  const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
  for (let i = 0; i < data.length; i++) data[i] = offset + scale * (2 * random.nextFloat() - 1);
  tensors[name] = { shape, data };
};
make("wte.weight", [vocabSize, dim], 0.5);
make("wpe.weight", [positions, dim], 0.3);
for (let layer = 0; layer < layers; layer++) {
  make(`h.${layer}.ln_1.weight`, [dim], 0.2, 1);
  make(`h.${layer}.ln_1.bias`, [dim], 0.1);
  make(`h.${layer}.attn.c_attn.weight`, [dim, 3 * dim], 0.6);
  make(`h.${layer}.attn.c_attn.bias`, [3 * dim], 0.1);
  make(`h.${layer}.attn.c_proj.weight`, [dim, dim], 0.4);
  make(`h.${layer}.attn.c_proj.bias`, [dim], 0.1);
  make(`h.${layer}.ln_2.weight`, [dim], 0.2, 1);
  make(`h.${layer}.ln_2.bias`, [dim], 0.1);
  make(`h.${layer}.mlp.c_fc.weight`, [dim, hidden], 0.4);
  make(`h.${layer}.mlp.c_fc.bias`, [hidden], 0.1);
  make(`h.${layer}.mlp.c_proj.weight`, [hidden, dim], 0.3);
  make(`h.${layer}.mlp.c_proj.bias`, [dim], 0.1);
}
make("ln_f.weight", [dim], 0.2, 1);
make("ln_f.bias", [dim], 0.1);
const config = { model_type: "gpt2", n_embd: dim, n_head: heads, n_layer: layers, vocab_size: vocabSize, n_positions: positions, layer_norm_epsilon: 1e-5, activation_function: "gelu_new" };

/** Float64 full-sequence GPT-2 forward (Hugging Face GPT2LMHeadModel equations), straight from the [in, out] tensors. */
function referenceLogits(tokens: number[]): number[][] {
  const t = (name: string): Float32Array => tensors[name].data;
  const linear = (x: number[], weight: Float32Array, bias: Float32Array, inSize: number, outSize: number): number[] =>
    Array.from({ length: outSize }, (_, o) => {
      let sum = bias[o];
      for (let i = 0; i < inSize; i++) sum += x[i] * weight[i * outSize + o];
      return sum;
    });
  const layerNorm = (x: number[], weight: Float32Array, bias: Float32Array): number[] => {
    const mean = x.reduce((a, b) => a + b, 0) / x.length;
    const variance = x.reduce((a, b) => a + (b - mean) ** 2, 0) / x.length;
    return x.map((value, i) => ((value - mean) / Math.sqrt(variance + 1e-5)) * weight[i] + bias[i]);
  };
  const gelu = (x: number): number => 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3)));
  let states = tokens.map((token, position) => Array.from({ length: dim }, (_, i) => t("wte.weight")[token * dim + i] + t("wpe.weight")[position * dim + i]));
  const headDim = dim / heads;
  for (let layer = 0; layer < layers; layer++) {
    const p = `h.${layer}.`;
    const qkv = states.map((x) => linear(layerNorm(x, t(`${p}ln_1.weight`), t(`${p}ln_1.bias`)), t(`${p}attn.c_attn.weight`), t(`${p}attn.c_attn.bias`), dim, 3 * dim));
    states = states.map((x, position) => {
      const attended = new Array<number>(dim).fill(0);
      for (let head = 0; head < heads; head++) {
        const q = qkv[position].slice(head * headDim, (head + 1) * headDim);
        const scores = qkv.slice(0, position + 1).map((row) => q.reduce((sum, value, i) => sum + value * row[dim + head * headDim + i], 0) / Math.sqrt(headDim));
        const maximum = Math.max(...scores);
        const weights = scores.map((score) => Math.exp(score - maximum));
        const total = weights.reduce((a, b) => a + b, 0);
        weights.forEach((weight, s) => {
          for (let i = 0; i < headDim; i++) attended[head * headDim + i] += (weight / total) * qkv[s][2 * dim + head * headDim + i];
        });
      }
      const afterAttention = linear(attended, t(`${p}attn.c_proj.weight`), t(`${p}attn.c_proj.bias`), dim, dim).map((value, i) => value + x[i]);
      const up = linear(layerNorm(afterAttention, t(`${p}ln_2.weight`), t(`${p}ln_2.bias`)), t(`${p}mlp.c_fc.weight`), t(`${p}mlp.c_fc.bias`), dim, hidden).map(gelu);
      return linear(up, t(`${p}mlp.c_proj.weight`), t(`${p}mlp.c_proj.bias`), hidden, dim).map((value, i) => value + afterAttention[i]);
    });
  }
  return states.map((x) => {
    const normed = layerNorm(x, t("ln_f.weight"), t("ln_f.bias"));
    return Array.from({ length: vocabSize }, (_, v) => normed.reduce((sum, value, i) => sum + value * t("wte.weight")[v * dim + i], 0));
  });
}

describe("Gpt2Runtime", () => {
  const file = writeSafetensors(
    Object.fromEntries(Object.entries(tensors).map(([name, tensor]) => [`transformer.${name}`, { dtype: "F32", ...tensor } satisfies SafetensorsWriterTensor])),
  );
  const weights = loadSafetensorsGpt2(file, config);

  it("incremental decoding over the KV cache matches a float64 full-sequence forward at every position", () => {
    const tokens = [3, 7, 0, 10, 7, 1];
    const expected = referenceLogits(tokens);
    const runtime = new Gpt2Runtime(weights);
    const cache = createDenseCache(runtime);
    tokens.forEach((token, position) => {
      const logits = runtime.forward(token, position, cache);
      // fp32 weights and activations against float64: 1e-4 absolute on logits of magnitude ~1–5.
      for (let v = 0; v < vocabSize; v++) expect(Math.abs(logits[v] - expected[position][v])).toBeLessThan(1e-4);
    });
    expect(cache.length()).toBe(tokens.length);
  });

  it("reports per-layer q, k, v and attention weights to an observer; rejects positions past n_positions", () => {
    const seen: { layer: number; keys: number[]; weights: number[] }[] = [];
    const runtime = new Gpt2Runtime(weights, {
      observer: {
        captureAttentionWeights: true,
        onLayer: (activations: LayerActivations) => seen.push({ layer: activations.layer, keys: Array.from(activations.keys), weights: Array.from(activations.attentionWeights ?? []) }),
      },
    });
    const cache = createDenseCache(runtime);
    runtime.forward(3, 0, cache);
    runtime.forward(7, 1, cache);
    expect(seen.map((entry) => entry.layer)).toEqual([0, 1, 0, 1]);
    // Second step, layer 0: 2 heads × 2 cached tokens of softmax weights, each head summing to 1.
    const weightsStep2 = seen[2].weights;
    expect(weightsStep2).toHaveLength(4);
    expect(weightsStep2[0] + weightsStep2[1]).toBeCloseTo(1, 6);
    // The observed keys are exactly what the cache holds (readLayer layout [kvHead][position][headDim]).
    const keys = new Float32Array(2 * 2 * 4);
    cache.readLayer(0, keys, new Float32Array(keys.length));
    expect(Array.from(keys.subarray(4, 8))).toEqual(seen[2].keys.slice(0, 4));
    expect(() => runtime.forward(1, positions, createDenseCache(runtime, positions + 1))).toThrowError(/learned positions only below 6/);
  });
});
