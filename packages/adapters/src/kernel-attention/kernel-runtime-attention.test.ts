import { CompressedKVCache, type KVCache } from "@kvpack/cache";
import type { CodecSpec } from "@kvpack/codecs";
import { createWasmBackend, type KernelBackend } from "@kvpack/kernels";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { argmax } from "../generation/sampler.js";
import { loadLlama2cCheckpoint } from "../llama2c/load-llama2c-checkpoint.js";
import { readModelsData, readModelsDataJson, type ModelReference } from "../model/test-models-data.js";
import { KernelLlamaRuntime, ResidentLlamaWeights } from "../runtime/kernel-llama-runtime.js";

/**
 * KernelLlamaRuntime on the WASM backend plugs WasmPageAttention into the CompressedKVCaches it is
 * given. stories260K (5 layers, 8 heads over 4 KV heads, head_dim 8) with
 * stories260K.reference.json: the greedy ids of a float64 re-implementation of llama2.c run.c.
 */
const weights = loadLlama2cCheckpoint(readModelsData("stories260K.bin"));
const reference = readModelsDataJson<ModelReference>("stories260K.reference.json");
const shape = { layers: weights.config.layers, kvHeads: weights.config.kvHeads, headDim: weights.config.headDim };
const dimension = shape.headDim;

/** Greedy decoding from the reference prompt to the reference length, the prompt through the batched prefill. */
async function greedyIds(runtime: KernelLlamaRuntime, cache: KVCache): Promise<number[]> {
  const ids = [...reference.prompt_token_ids];
  let logits = await runtime.prefill(ids, 0, cache, { chunkSize: 4 });
  while (ids.length < reference.greedy_token_ids.length) {
    ids.push(argmax(logits));
    if (ids.length === reference.greedy_token_ids.length) break;
    logits = await runtime.forward(ids[ids.length - 1], ids.length - 1, cache);
  }
  return ids;
}

function cache(keys: CodecSpec, values: CodecSpec): CompressedKVCache {
  // Small pages so the 65-token run spans several resident pages and flushes.
  return new CompressedKVCache({ ...shape, keys, values, pageSize: 16, residualWindow: 16 });
}

describe("KernelLlamaRuntime attends CompressedKVCaches on the WASM kernels (stories260K)", () => {
  let backend: KernelBackend;
  let resident: ResidentLlamaWeights;
  beforeAll(async () => {
    backend = createWasmBackend();
    await backend.init();
    resident = new ResidentLlamaWeights(backend, weights);
  });
  afterAll(() => {
    resident.dispose();
    backend.dispose();
  });

  it("fp32 pages on the kernel path reproduce the reference greedy ids", async () => {
    const runtime = new KernelLlamaRuntime(resident);
    const fp32 = cache({ kind: "fp32", dimension }, { kind: "fp32", dimension });
    expect(await greedyIds(runtime, fp32)).toEqual(reference.greedy_token_ids);
    expect(runtime.cacheAttention).toBe("wasm");
    expect(runtime.cacheAttentionFailure).toBeUndefined();
    expect(fp32.attentionBackendName()).toBe("wasm");
    // The attention kernels come from the backend: on its threads (its worker pool), or its one thread.
    expect(runtime.cacheAttentionThreads).toBe(backend.threading?.threads);
  });

  const compressed: Array<[string, CodecSpec, CodecSpec]> = [
    ["TurboQuant 4/4", { kind: "turboquant", dimension, bits: 4 }, { kind: "turboquant", dimension, bits: 4 }],
    ["FibQuant k=2 2/2", { kind: "fibquant", dimension, bits: 2, blockSize: 2 }, { kind: "fibquant", dimension, bits: 2, blockSize: 2 }],
    ["fp16 / fp16", { kind: "fp16", dimension }, { kind: "fp16", dimension }],
  ];
  it.each(compressed)("%s: greedy ids on the kernel path equal the TypeScript path's", async (_name, keys, values) => {
    const kernelCache = cache(keys, values);
    const typescriptCache = cache(keys, values);
    const kernelIds = await greedyIds(new KernelLlamaRuntime(resident), kernelCache);
    const typescriptIds = await greedyIds(new KernelLlamaRuntime(resident, { cacheAttention: "typescript" }), typescriptCache);
    expect(kernelCache.attentionBackendName()).toBe("wasm");
    expect(typescriptCache.attentionBackendName()).toBe("typescript");
    expect(kernelIds).toEqual(typescriptIds);
    expect(kernelIds).toHaveLength(reference.greedy_token_ids.length);
  });

  it("a cache that brings its own backend keeps it", async () => {
    const own = cache({ kind: "fp32", dimension }, { kind: "fp32", dimension });
    own.setAttentionBackend({ name: "mine", attendLayer: () => false });
    await new KernelLlamaRuntime(resident).forward(reference.prompt_token_ids[0], 0, own);
    expect(own.attentionBackendName()).toBe("mine");
  });
});
