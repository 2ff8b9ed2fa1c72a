import { DenseKVCache } from "@kvpack/cache";
import { describe, expect, it } from "vitest";
import { loadLlama2cCheckpoint } from "../llama2c/load-llama2c-checkpoint.js";
import { LlamaRuntime } from "../runtime/llama-runtime.js";
import { describeLlamaModel } from "./llama-model-description.js";
import { readModelsData, readModelsDataJson, type ModelReference } from "./test-models-data.js";

const weights = loadLlama2cCheckpoint(readModelsData("stories260K.bin"));
const reference = readModelsDataJson<ModelReference>("stories260K.reference.json");

describe("describeLlamaModel", () => {
  it("defaults to llama2.c: interleaved RoPE at config.ropeTheta, full attention on every layer", () => {
    const description = describeLlamaModel(weights);
    expect(description.rope).toEqual({ style: "interleaved", freqBase: 10000 });
    expect(description.layerAttention).toEqual(Array.from({ length: 5 }, () => ({ kind: "full" })));
    // stories260K: headDim 8, so q·k is scaled by 1/√8; SwiGLU, no embedding scale, no soft caps.
    expect(description).toMatchObject({ architecture: "llama", activation: "silu", embeddingScale: 1, attentionScale: 1 / Math.sqrt(8) });
    expect(description.attentionLogitSoftCap).toBeUndefined();
    expect(description.finalLogitSoftCap).toBeUndefined();
  });

  it("rejects optional weights of the wrong length, a lone q/k norm, and bad scales, naming them", () => {
    const withLayer0 = (extra: object) => ({ ...weights, layers: weights.layers.map((layer, i) => (i === 0 ? { ...layer, ...extra } : layer)) });
    expect(() => describeLlamaModel(withLayer0({ bq: new Float32Array(63) }))).toThrowError("model description: layer 0 bq has 63 values, expected 64");
    expect(() => describeLlamaModel(withLayer0({ bk: new Float32Array(64) }))).toThrowError("model description: layer 0 bk has 64 values, expected 32");
    expect(() => describeLlamaModel(withLayer0({ queryNorm: new Float32Array(8) }))).toThrowError("model description: layer 0 has only one of queryNorm and keyNorm");
    expect(() => describeLlamaModel(withLayer0({ postFfnNorm: new Float32Array(8) }))).toThrowError("model description: layer 0 postFfnNorm has 8 values, expected 64");
    expect(() => describeLlamaModel({ ...weights, classifierBias: new Float32Array(3) })).toThrowError("classifierBias has 3 values, expected vocabSize 512");
    expect(() => describeLlamaModel(weights, { attentionLogitSoftCap: 0 })).toThrowError("attentionLogitSoftCap must be a positive finite number, got 0");
    expect(() => describeLlamaModel(weights, { architecture: "mamba" as never })).toThrowError(/architecture must be one of llama, qwen2, qwen3, phi3, gemma2, got "mamba"/);
  });

  it("a runtime built from the default description gives bit-identical logits to one built from the weights", () => {
    const shape = { layers: 5, kvHeads: 4, headDim: 8, capacity: 8 };
    const tokens = reference.prompt_token_ids;
    const fromWeights = new LlamaRuntime(weights).prefill(tokens, 0, new DenseKVCache(shape)).slice();
    const fromDescription = new LlamaRuntime(describeLlamaModel(weights)).prefill(tokens, 0, new DenseKVCache(shape));
    expect(Array.from(fromDescription)).toEqual(Array.from(fromWeights));
  });

  it("rejects a wrong number of layer kinds, a bad window, and a cache that does not hold the sliding windows", () => {
    expect(() => describeLlamaModel(weights, { layerAttention: [{ kind: "full" }] })).toThrowError("model description: 1 layer attention kinds for 5 layers");
    const windows = (window: number) => Array.from({ length: 5 }, (_, layer) => (layer % 2 ? { kind: "sliding-window" as const, window } : { kind: "full" as const }));
    expect(() => describeLlamaModel(weights, { layerAttention: windows(0) })).toThrowError(/layer 1 sliding window must be a positive integer, got 0/);
    const runtime = new LlamaRuntime(describeLlamaModel(weights, { layerAttention: windows(4) }));
    expect(runtime.cacheShape.layerWindows).toEqual([undefined, 4, undefined, 4, undefined]);
    expect(() => runtime.forward(1, 0, new DenseKVCache({ layers: 5, kvHeads: 4, headDim: 8, capacity: 8 }))).toThrowError(
      /layer 1 of the model attends a sliding window of 4 but the cache's layerWindows gives none/,
    );
    expect(runtime.forward(1, 0, new DenseKVCache({ ...runtime.cacheShape, capacity: 8 })).length).toBe(512);
  });
});
