import { CompressedKVCache, DenseKVCache, type KVCache } from "@kvpack/cache";
import { fromHalfBits, toHalfBits } from "@kvpack/codecs";
import { describe, expect, it } from "vitest";
import { loadLlama2cCheckpoint } from "../llama2c/load-llama2c-checkpoint.js";
import { readModelsData, readModelsDataJson, type ModelReference } from "../model/test-models-data.js";
import { LlamaRuntime } from "./llama-runtime.js";

/**
 * The runtime over the kvpack compressed cache in its dense-equivalent configurations (no eviction),
 * against the same runtime over the dense cache, on the reference greedy sequence of stories260K
 * (stories260K.reference.json greedy_token_ids: 65 positions, 5 layers, 4 KV heads, head_dim 8).
 */
const weights = loadLlama2cCheckpoint(readModelsData("stories260K.bin"));
const reference = readModelsDataJson<ModelReference>("stories260K.reference.json");
const runtime = new LlamaRuntime(weights);
const shape = runtime.cacheShape;
const tokens = reference.greedy_token_ids;

/** A dense cache that stores keys and values rounded to fp16: the dense runtime with an fp16 KV cache. */
class HalfPrecisionDenseCache extends DenseKVCache {
  private readonly roundedKeys = new Float32Array(shape.kvHeads * shape.headDim);
  private readonly roundedValues = new Float32Array(shape.kvHeads * shape.headDim);

  override append(layer: number, keys: Float32Array, values: Float32Array): void {
    for (let index = 0; index < keys.length; index++) {
      this.roundedKeys[index] = fromHalfBits(toHalfBits(keys[index]));
      this.roundedValues[index] = fromHalfBits(toHalfBits(values[index]));
    }
    super.append(layer, this.roundedKeys, this.roundedValues);
  }
}

function maximumLogitDifference(first: KVCache, second: KVCache): number {
  let maximum = 0;
  tokens.forEach((token, position) => {
    const expected = Float32Array.from(runtime.forward(token, position, first));
    const actual = runtime.forward(token, position, second);
    for (let index = 0; index < expected.length; index++) maximum = Math.max(maximum, Math.abs(expected[index] - actual[index]));
  });
  return maximum;
}

describe("LlamaRuntime over CompressedKVCache (dense-equivalent configurations)", () => {
  it("fp32 pages reproduce the dense runtime's logits within 1e-4 at every position", () => {
    const compressed = new CompressedKVCache({ ...shape, keys: { kind: "fp32", dimension: shape.headDim }, values: { kind: "fp32", dimension: shape.headDim } });
    // Same arithmetic up to summation order across pages: 1e-4 absolute (issue: "within 1e-4").
    expect(maximumLogitDifference(new DenseKVCache({ ...shape, capacity: tokens.length }), compressed)).toBeLessThan(1e-4);
  });

  it("fp16 pages stay within the fp16 rounding of the keys and values (< 1e-2)", () => {
    const compressed = new CompressedKVCache({ ...shape, keys: { kind: "fp16", dimension: shape.headDim }, values: { kind: "fp16", dimension: shape.headDim } });
    // fp16 has 11 significant bits and layer-2 keys reach |12|, so one rounding step is 0.0078: logits move by
    // up to ~7e-3 (measured 6.5e-3). An exact comparison is not meaningful even against a dense cache that rounds
    // to fp16 itself: 1e-7 float32 summation differences in earlier layers flip single roundings (1 ulp) later.
    expect(maximumLogitDifference(new DenseKVCache({ ...shape, capacity: tokens.length }), compressed)).toBeLessThan(1e-2);
  });

  it("fp16 pages reproduce the dense runtime over an fp16 KV cache within 1e-4", () => {
    // Pages of one token and no full-precision window, so every cached row is fp16, as in the dense fp16 cache.
    const compressed = new CompressedKVCache({
      ...shape,
      keys: { kind: "fp16", dimension: shape.headDim },
      values: { kind: "fp16", dimension: shape.headDim },
      pageSize: 1,
      residualWindow: 0,
    });
    // Both caches round in the same order (float32 scores, float32 normalized weights), so the only
    // allowed difference is summation noise: 1e-4 absolute on the logits (issue: "within 1e-4").
    expect(maximumLogitDifference(new HalfPrecisionDenseCache({ ...shape, capacity: tokens.length }), compressed)).toBeLessThan(1e-4);
  });

  it("greedy decoding through fp16 pages gives the reference greedy ids", () => {
    const cache = new CompressedKVCache({ ...shape, keys: { kind: "fp16", dimension: shape.headDim }, values: { kind: "fp16", dimension: shape.headDim } });
    const generated = [...reference.prompt_token_ids];
    for (let position = 0; generated.length < tokens.length; position++) {
      const logits = runtime.forward(generated[position], position, cache);
      if (position + 1 < generated.length) continue;
      let best = 0;
      for (let index = 1; index < logits.length; index++) if (logits[index] > logits[best]) best = index;
      generated.push(best);
    }
    expect(generated).toEqual(tokens);
  });
});
