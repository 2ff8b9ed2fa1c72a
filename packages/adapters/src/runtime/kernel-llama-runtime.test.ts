import { CompressedKVCache, DenseKVCache, type KVCache } from "@kvpack/cache";
import { createTypeScriptBackend, createWasmBackend, type KernelBackend } from "@kvpack/kernels";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { argmax } from "../generation/sampler.js";
import { loadLlama2cCheckpoint } from "../llama2c/load-llama2c-checkpoint.js";
import { readModelsData, readModelsDataJson, type ModelReference } from "../model/test-models-data.js";
import { KernelLlamaRuntime, ResidentLlamaWeights, type KernelLlamaRuntimeOptions } from "./kernel-llama-runtime.js";
import type { LayerActivations } from "./language-model-runtime.js";
import { LlamaRuntime } from "./llama-runtime.js";
import { maxAbsoluteDifference } from "./test-prompt-logits.js";

/**
 * KernelLlamaRuntime on stories260K (dim 64, 5 layers, 8 heads, 4 KV heads, head_dim 8) against
 * stories260K.reference.json: a float64 numpy re-implementation of llama2.c run.c.
 */
const weights = loadLlama2cCheckpoint(readModelsData("stories260K.bin"));
const reference = readModelsDataJson<ModelReference>("stories260K.reference.json");
const shape = { layers: weights.config.layers, kvHeads: weights.config.kvHeads, headDim: weights.config.headDim };

async function promptLogits(runtime: KernelLlamaRuntime, cache: KVCache): Promise<Float32Array> {
  let logits: Float32Array = new Float32Array(0);
  for (const [position, token] of reference.prompt_token_ids.entries()) logits = await runtime.forward(token, position, cache);
  return logits;
}

/** Greedy decoding from the reference prompt up to the reference length (run.c -n steps + 1 ids with BOS). */
async function greedyIds(runtime: KernelLlamaRuntime, cache: KVCache): Promise<number[]> {
  const ids = [...reference.prompt_token_ids];
  for (let position = 0; ids.length < reference.greedy_token_ids.length; position++) {
    const logits = await runtime.forward(ids[position], position, cache);
    if (position + 1 === ids.length) ids.push(argmax(logits));
  }
  return ids;
}

const cases: { name: string; create: () => KernelBackend; tolerance: number; why: string }[] = [
  // ts kernels accumulate in float64 and round once to float32: as close as the fp32 LlamaRuntime (1e-4).
  { name: "ts", create: createTypeScriptBackend, tolerance: 1e-4, why: "float64 accumulation" },
  // wasm accumulates in float32 over dim 64 / hidden 172: within 1e-3 of the float64 reference.
  { name: "wasm", create: createWasmBackend, tolerance: 1e-3, why: "float32 SIMD accumulation" },
];

for (const { name, create, tolerance, why } of cases) {
  describe(`KernelLlamaRuntime on the ${name} backend (stories260K)`, () => {
    let backend: KernelBackend;
    let resident: ResidentLlamaWeights;
    beforeAll(async () => {
      backend = create();
      await backend.init();
      resident = new ResidentLlamaWeights(backend, weights);
    });
    afterAll(() => {
      resident.dispose();
      backend.dispose();
    });

    for (const vectorKernels of ["backend", "host"] as const) {
      it(`reproduces the reference last-position prompt logits (${why}, ${vectorKernels} vector kernels)`, async () => {
        const runtime = new KernelLlamaRuntime(resident, { vectorKernels });
        const logits = await promptLogits(runtime, new DenseKVCache({ ...shape, capacity: 8 }));
        expect(logits.length).toBe(512);
        expect(maxAbsoluteDifference(logits, reference.last_position_logits_for_prompt)).toBeLessThan(tolerance);
      });
    }

    it("greedy decoding over a dense cache gives the reference greedy ids exactly", async () => {
      const runtime = new KernelLlamaRuntime(resident);
      const ids = await greedyIds(runtime, new DenseKVCache({ ...shape, capacity: reference.greedy_token_ids.length }));
      expect(ids).toEqual(reference.greedy_token_ids);
    });

    it("greedy decoding over fp16 compressed pages (attention through cache.attend) gives the reference ids", async () => {
      // Same check as LlamaRuntime over CompressedKVCache fp16 (compressed-cache-runtime.test.ts).
      const cache = new CompressedKVCache({ ...shape, keys: { kind: "fp16", dimension: shape.headDim }, values: { kind: "fp16", dimension: shape.headDim } });
      expect(await greedyIds(new KernelLlamaRuntime(resident), cache)).toEqual(reference.greedy_token_ids);
    });
  });
}

describe("KernelLlamaRuntime against LlamaRuntime", () => {
  let backend: KernelBackend;
  let resident: ResidentLlamaWeights;
  beforeAll(async () => {
    backend = createTypeScriptBackend();
    await backend.init();
    resident = new ResidentLlamaWeights(backend, weights);
  });

  it("agrees with the synchronous runtime at every reference position over a 4-bit TurboQuant cache", async () => {
    const spec = (bits: number) => ({ kind: "turboquant" as const, dimension: shape.headDim, bits });
    const kernelCache = new CompressedKVCache({ ...shape, keys: spec(4), values: spec(4) });
    const referenceCache = new CompressedKVCache({ ...shape, keys: spec(4), values: spec(4) });
    const runtime = new KernelLlamaRuntime(resident);
    const synchronous = new LlamaRuntime(weights);
    let largest = 0;
    for (const [position, token] of reference.greedy_token_ids.entries()) {
      const expected = synchronous.forward(token, position, referenceCache);
      largest = Math.max(largest, maxAbsoluteDifference(await runtime.forward(token, position, kernelCache), expected));
    }
    // Both runtimes feed the same codec; keys differ only by float32 rounding (≈1e-6), which could flip a
    // 4-bit code at a decision boundary: 1e-3 leaves room for that (measured 5.7e-6, i.e. no flip).
    expect(largest).toBeLessThan(1e-3);
  });

  it("hands the observer exactly the keys and values it appended, and softmax weights that sum to 1", async () => {
    const steps: { layer: number; position: number; keys: Float32Array; values: Float32Array; weights: Float32Array }[] = [];
    const options: KernelLlamaRuntimeOptions = {
      observer: {
        captureAttentionWeights: true,
        onLayer: (activations: LayerActivations) =>
          steps.push({
            layer: activations.layer,
            position: activations.position,
            keys: activations.keys.slice(),
            values: activations.values.slice(),
            weights: activations.attentionWeights!.slice(),
          }),
      },
    };
    const runtime = new KernelLlamaRuntime(resident, options);
    const cache = new DenseKVCache({ ...shape, capacity: 4 });
    const tokens = reference.prompt_token_ids.slice(0, 3);
    for (const [position, token] of tokens.entries()) await runtime.forward(token, position, cache);
    expect(steps).toHaveLength(shape.layers * tokens.length);
    const keys = new Float32Array(shape.kvHeads * tokens.length * shape.headDim);
    const values = new Float32Array(keys.length);
    cache.readLayer(3, keys, values);
    const { headDim, kvHeads } = shape;
    for (let position = 0; position < tokens.length; position++) {
      const step = steps.find((entry) => entry.layer === 3 && entry.position === position)!;
      for (let kvHead = 0; kvHead < kvHeads; kvHead++) {
        const row = (kvHead * tokens.length + position) * headDim;
        expect(Array.from(keys.subarray(row, row + headDim))).toEqual(Array.from(step.keys.subarray(kvHead * headDim, (kvHead + 1) * headDim)));
        expect(Array.from(values.subarray(row, row + headDim))).toEqual(Array.from(step.values.subarray(kvHead * headDim, (kvHead + 1) * headDim)));
      }
      expect(step.weights).toHaveLength(runtime.heads * (position + 1));
      for (let head = 0; head < runtime.heads; head++) {
        const sum = step.weights.subarray(head * (position + 1), (head + 1) * (position + 1)).reduce((a, b) => a + b, 0);
        expect(sum).toBeCloseTo(1, 5);
      }
    }
  });

  it("rejects out-of-vocabulary tokens, bad positions and a cache of the wrong shape", async () => {
    const runtime = new KernelLlamaRuntime(resident);
    const cache = new DenseKVCache({ ...shape, capacity: 4 });
    await expect(runtime.forward(512, 0, cache)).rejects.toThrowError("forward: token 512 is outside the vocabulary [0, 512)");
    await expect(runtime.forward(1, -1, cache)).rejects.toThrowError(/position must be a non-negative integer, got -1/);
    await expect(runtime.forward(1, 0, new DenseKVCache({ ...shape, headDim: 16, capacity: 4 }))).rejects.toThrowError(/does not match the model/);
  });
});
