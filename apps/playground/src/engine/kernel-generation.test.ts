import { KernelLlamaRuntime, ResidentLlamaWeights } from "@kvpack/adapters";
import { DenseKVCache } from "@kvpack/cache";
import { createTypeScriptBackend, createWasmBackend } from "@kvpack/kernels";
import { beforeAll, describe, expect, it } from "vitest";
import { createCompressedCache } from "./compressed-cache.js";
import { generateSideBySide } from "./dual-generation.js";
import { KVCapture } from "./kv-capture.js";
import { loadLlama2c, type LoadedModel } from "./model-loader.js";
import { replayCapture } from "./replay.js";
import { readModelsData, readStoriesReference } from "./test-models-data.js";

const reference = readStoriesReference();
let model: LoadedModel;

beforeAll(() => {
  model = loadLlama2c({ name: "stories260K.bin", bytes: readModelsData("stories260K.bin") }, { name: "tok512.bin", bytes: readModelsData("tok512.bin") });
});

// KernelLlamaRuntime itself (reference logits and greedy ids on ts and wasm) is tested in @kvpack/adapters;
// these cases cover the playground around it: side-by-side generation, KV capture and replay.
describe("playground generation with KernelLlamaRuntime on stories260K", () => {
  it("generates the reference greedy text on both the dense and the fp16-compressed side", async () => {
    const backend = createWasmBackend();
    await backend.init();
    const resident = new ResidentLlamaWeights(backend, model.weights);
    const config = model.weights.config;
    const shape = { layers: config.layers, kvHeads: config.kvHeads, headDim: config.headDim };
    const capture = new KVCapture({ ...shape, heads: config.heads, capacity: reference.steps + 1 });
    const promptIds = model.tokenizer.encode(reference.prompt, { bos: true });
    expect(promptIds).toEqual(reference.prompt_token_ids);
    const result = await generateSideBySide(
      model.tokenizer,
      { model: new KernelLlamaRuntime(resident, { observer: capture, vectorKernels: "host" }), cache: new DenseKVCache({ ...shape, capacity: reference.steps + 1 }) },
      { model: new KernelLlamaRuntime(resident, { vectorKernels: "host" }), cache: createCompressedCache(shape, { codec: "fp16", keyBits: 16, valueBits: 16, blockSize: 2, policy: "none", budget: 0 }) },
      // run.c -n 64: positions 0..63 produce 64 tokens after BOS, i.e. 64 + 1 − 5 prompt ids = 60 generated.
      { promptIds, maxTokens: reference.steps + 1 - promptIds.length, temperature: 0, topK: 0, topP: 1, seed: 42, stopTokenIds: model.tokenizer.stopTokenIds, onStep: () => {} },
    );
    const expectedIds = reference.greedy_token_ids.slice(promptIds.length);
    expect(result.denseTokens).toEqual(expectedIds);
    expect(result.compressedTokens).toEqual(expectedIds);
    expect(result.firstDivergence).toBe(-1);
    expect(reference.prompt + result.denseText).toBe(reference.greedy_text);
    expect(capture.length).toBe(reference.steps);

    // Replaying the captured KV through an fp32 cache reproduces the dense attention outputs (cosine 1
    // up to float rounding of the 8-dim head outputs), fp16 stays within 1e-5 of it.
    const fp32 = replayCapture(capture, createCompressedCache(shape, { codec: "fp32", keyBits: 32, valueBits: 32, blockSize: 2, policy: "none", budget: 0 }));
    expect(fp32.meanCosine).toBeGreaterThan(1 - 1e-6);
    const fp16 = replayCapture(capture, createCompressedCache(shape, { codec: "fp16", keyBits: 16, valueBits: 16, blockSize: 2, policy: "none", budget: 0 }));
    expect(fp16.meanCosine).toBeGreaterThan(1 - 1e-5);
    expect(fp16.capture.attentionMatrix(0, 0).length).toBe(capture.length * capture.length);
    backend.dispose();
  });

  it("a retention policy drops tokens: H2O at a 16-token budget holds fewer live tokens and attends less faithfully", async () => {
    const backend = createTypeScriptBackend();
    await backend.init();
    const resident = new ResidentLlamaWeights(backend, model.weights);
    const config = model.weights.config;
    const shape = { layers: config.layers, kvHeads: config.kvHeads, headDim: config.headDim };
    const capture = new KVCapture({ ...shape, heads: config.heads, capacity: reference.steps + 1 });
    const promptIds = model.tokenizer.encode(reference.prompt, { bos: true });
    const runtime = new KernelLlamaRuntime(resident, { observer: capture, vectorKernels: "host" });
    const cache = new DenseKVCache({ ...shape, capacity: reference.steps + 1 });
    for (const [position, token] of reference.greedy_token_ids.slice(0, reference.steps).entries()) await runtime.forward(token, position, cache);
    expect(capture.length).toBe(reference.steps);
    expect(promptIds.length).toBe(5);

    const keepAll = { codec: "fp16", keyBits: 16, valueBits: 16, blockSize: 2, policy: "none", budget: 16 } as const;
    const full = replayCapture(capture, createCompressedCache(shape, keepAll));
    const evicting = replayCapture(capture, createCompressedCache(shape, { ...keepAll, policy: "h2o" }));
    const liveTokens = (result: typeof full) => (result.cache as ReturnType<typeof createCompressedCache>).memoryReport().totals.liveTokens;
    // 64 tokens × 5 layers × 4 KV heads without a policy; after the last step's decision H2O holds
    // exactly its budget of 16 per layer and KV head.
    expect(liveTokens(full)).toBe(64 * 5 * 4);
    expect(liveTokens(evicting)).toBe(16 * 5 * 4);
    expect(evicting.meanCosine).toBeLessThan(full.meanCosine);
    expect(evicting.meanCosine).toBeGreaterThan(0.5);
  });
});
