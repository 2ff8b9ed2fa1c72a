import { DenseKVCache } from "@kvpack/cache";
import { describe, expect, it } from "vitest";
import { loadLlama2cCheckpoint } from "../llama2c/load-llama2c-checkpoint.js";
import { readModelsData } from "../model/test-models-data.js";
import { createDenseCache } from "./create-dense-cache.js";
import type { LayerActivations } from "./language-model-runtime.js";
import { LlamaRuntime } from "./llama-runtime.js";

const weights = loadLlama2cCheckpoint(readModelsData("stories260K.bin"));
const { layers, kvHeads, headDim, heads } = weights.config;

describe("LlamaRuntime observer and arguments", () => {
  it("hands each layer's post-RoPE keys and values (exactly what the cache stores) and softmax weights to the observer", () => {
    const captured: { layer: number; position: number; keys: Float32Array; values: Float32Array; weights: Float32Array }[] = [];
    const runtime = new LlamaRuntime(weights, {
      observer: {
        captureAttentionWeights: true,
        onLayer: (activations: LayerActivations) =>
          captured.push({
            layer: activations.layer,
            position: activations.position,
            keys: activations.keys.slice(),
            values: activations.values.slice(),
            weights: activations.attentionWeights!.slice(),
          }),
      },
    });
    const cache = createDenseCache(runtime, 8);
    const tokens = [1, 403, 407];
    tokens.forEach((token, position) => runtime.forward(token, position, cache));
    expect(captured).toHaveLength(layers * tokens.length);
    const keys = new Float32Array(kvHeads * tokens.length * headDim);
    const values = new Float32Array(keys.length);
    cache.readLayer(2, keys, values);
    for (let position = 0; position < tokens.length; position++) {
      const step = captured.find((entry) => entry.layer === 2 && entry.position === position)!;
      for (let kvHead = 0; kvHead < kvHeads; kvHead++) {
        const cached = keys.subarray((kvHead * tokens.length + position) * headDim, (kvHead * tokens.length + position + 1) * headDim);
        expect(Array.from(cached)).toEqual(Array.from(step.keys.subarray(kvHead * headDim, (kvHead + 1) * headDim)));
        const cachedValues = values.subarray((kvHead * tokens.length + position) * headDim, (kvHead * tokens.length + position + 1) * headDim);
        expect(Array.from(cachedValues)).toEqual(Array.from(step.values.subarray(kvHead * headDim, (kvHead + 1) * headDim)));
      }
      // heads × (position + 1) softmax weights, each head's row summing to 1.
      expect(step.weights).toHaveLength(heads * (position + 1));
      for (let head = 0; head < heads; head++) {
        const row = step.weights.subarray(head * (position + 1), (head + 1) * (position + 1));
        expect(row.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
      }
    }
    // RoPE at position 0 is the identity, so the layer-0 key of BOS is wk·rmsnorm(embedding) (checked on element 0).
    const first = captured.find((entry) => entry.layer === 0 && entry.position === 0)!;
    const embedding = weights.tokenEmbedding.subarray(1 * 64, 2 * 64);
    const rms = 1 / Math.sqrt(embedding.reduce((sum, value) => sum + value * value, 0) / 64 + 1e-5);
    let key0 = 0;
    for (let i = 0; i < 64; i++) key0 += weights.layers[0].wk[i] * weights.layers[0].attentionNorm[i] * rms * embedding[i];
    expect(first.keys[0]).toBeCloseTo(key0, 5);
  });

  it("rejects out-of-vocabulary tokens, bad positions and a cache of the wrong shape", () => {
    const runtime = new LlamaRuntime(weights);
    const cache = createDenseCache(runtime, 4);
    expect(() => runtime.forward(512, 0, cache)).toThrowError("forward: token 512 is outside the vocabulary [0, 512)");
    expect(() => runtime.forward(1, -1, cache)).toThrowError(/position must be a non-negative integer, got -1/);
    expect(() => runtime.forward(1, 0, new DenseKVCache({ layers, kvHeads, headDim: headDim * 2, capacity: 4 }))).toThrowError(/does not match the model/);
  });
});
