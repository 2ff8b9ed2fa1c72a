import { DenseKVCache } from "@kvpack/cache";
import { createWasmBackend } from "@kvpack/kernels";
import { describe, expect, it } from "vitest";
import { loadLlama2cCheckpoint } from "../llama2c/load-llama2c-checkpoint.js";
import { KernelLlamaRuntime, ResidentLlamaWeights } from "../runtime/kernel-llama-runtime.js";
import { LlamaRuntime } from "../runtime/llama-runtime.js";
import { RopeTable } from "../runtime/llama-vector-kernels.js";
import { maxAbsoluteDifference } from "../runtime/test-prompt-logits.js";
import { permuteRotaryRows } from "../safetensors/load-safetensors-llama.js";
import type { LlamaConfig, LlamaWeights } from "./llama-weights.js";
import { defaultRope, ropeFrequencies, type RopeDescription } from "./rope.js";
import { readModelsData, readModelsDataJson, type ModelReference } from "./test-models-data.js";

describe("ropeFrequencies", () => {
  it("is run.c's θ^(−2i/d) by default (θ = 10000, d = 8: 1, 0.1, 0.01, 0.001 in float32)", () => {
    expect(Array.from(ropeFrequencies(8, { style: "interleaved", freqBase: 10000 }))).toEqual(Array.from(Float32Array.of(1, 0.1, 0.01, 0.001)));
  });

  it("applies Llama 3 scaling (Llama 3.2: θ 500000, factor 32, low 1, high 4, original 8192; d = 64)", () => {
    const rope: RopeDescription = { style: "interleaved", freqBase: 500000, scaling: { kind: "llama3", factor: 32, lowFrequencyFactor: 1, highFrequencyFactor: 4, originalContextLength: 8192 } };
    const plain = ropeFrequencies(64, { style: "interleaved", freqBase: 500000 });
    const scaled = ropeFrequencies(64, rope);
    // Pair 0: wavelength 2π < 8192/4, kept. Pair 31: wavelength ≈ 2.1e6 > 8192, divided by 32.
    expect(scaled[0]).toBe(plain[0]);
    expect(scaled[31]).toBeCloseTo(plain[31] / 32, 12);
    // Pair 16: freq 500000^(−1/2) ≈ 1.414e-3, wavelength ≈ 4443 (between 2048 and 8192): by hand,
    // smooth = (8192 / 4443 − 1) / 3 ≈ 0.2813, so freq · ((1 − 0.2813) / 32 + 0.2813) ≈ 0.3037 · freq.
    expect(scaled[16] / plain[16]).toBeCloseTo(0.3037, 3);
  });

  it("applies linear scaling: every frequency divided by the factor (Hugging Face rope_type linear)", () => {
    const plain = ropeFrequencies(16, { style: "neox", freqBase: 10000 });
    const scaled = ropeFrequencies(16, { style: "neox", freqBase: 10000, scaling: { kind: "linear", factor: 4 } });
    scaled.forEach((frequency, pair) => expect(frequency).toBe(Math.fround(plain[pair] / 4)));
    expect(() => ropeFrequencies(16, { style: "neox", freqBase: 10000, scaling: { kind: "linear", factor: 0 } })).toThrowError(/linear scaling/);
  });

  it("rejects a non-positive base and inconsistent scaling factors", () => {
    expect(() => ropeFrequencies(8, { style: "interleaved", freqBase: 0 })).toThrowError(/freqBase must be positive/);
    expect(() => ropeFrequencies(8, { style: "interleaved", freqBase: 1e4, scaling: { kind: "llama3", factor: 8, lowFrequencyFactor: 4, highFrequencyFactor: 1, originalContextLength: 8192 } })).toThrowError(/llama3 scaling/);
  });
});

const config = { headDim: 8, ropeTheta: 10000 } as LlamaConfig;

describe("RopeTable", () => {
  it("NeoX on (x_0…x_3 | x_4…x_7) equals interleaved on (x_0, x_4, x_1, x_5, …), exactly", () => {
    const head = Float32Array.from({ length: 8 }, (_, i) => Math.sin(i + 1));
    const interleavedInput = Float32Array.from({ length: 8 }, (_, i) => head[(i >> 1) + (i & 1) * 4]);
    const neox = head.slice();
    new RopeTable(config, { style: "neox", freqBase: 10000 }).rotateRows(neox, 8, 8, 1, 7);
    new RopeTable(config, defaultRope(config)).rotateRows(interleavedInput, 8, 8, 1, 7);
    const back = Float32Array.from({ length: 8 }, (_, i) => interleavedInput[i < 4 ? 2 * i : 2 * (i - 4) + 1]);
    expect(Array.from(neox)).toEqual(Array.from(back));
  });
});

describe("NeoX RoPE in the runtimes", () => {
  // stories260K with wq / wk rows in the Hugging Face (NeoX) layout, run with style "neox", is the
  // same model: only the order of each head's coordinates changes, so q·k and the logits agree up
  // to float32 summation order over head_dim 8 (measured ≈ 1e-6; 1e-5 leaves room).
  const weights = loadLlama2cCheckpoint(readModelsData("stories260K.bin"));
  const reference = readModelsDataJson<ModelReference>("stories260K.reference.json");
  const { heads, kvHeads, headDim, dim } = weights.config;
  const neoxWeights: LlamaWeights = {
    ...weights,
    layers: weights.layers.map((layer) => ({ ...layer, wq: permuteRotaryRows(layer.wq, heads, headDim, dim), wk: permuteRotaryRows(layer.wk, kvHeads, headDim, dim) })),
  };
  const neox: RopeDescription = { style: "neox", freqBase: weights.config.ropeTheta };
  const shape = { layers: weights.config.layers, kvHeads, headDim, capacity: reference.prompt_token_ids.length };
  const tokens = reference.prompt_token_ids;
  const expected = new LlamaRuntime(weights).prefill(tokens, 0, new DenseKVCache(shape)).slice();

  it("LlamaRuntime gives the interleaved model's logits", () => {
    const logits = new LlamaRuntime(neoxWeights, { rope: neox }).prefill(tokens, 0, new DenseKVCache(shape));
    expect(maxAbsoluteDifference(logits, expected)).toBeLessThan(1e-5);
    // And the permuted weights with the wrong (interleaved) rotation are a different model.
    expect(maxAbsoluteDifference(new LlamaRuntime(neoxWeights).prefill(tokens, 0, new DenseKVCache(shape)), expected)).toBeGreaterThan(1e-3);
  });

  it("KernelLlamaRuntime on wasm (backend vector kernels; RoPE falls back to the host) gives them too", async () => {
    const backend = createWasmBackend();
    await backend.init();
    const runtime = new KernelLlamaRuntime(new ResidentLlamaWeights(backend, neoxWeights), { rope: neox });
    const logits = await runtime.prefill(tokens, 0, new DenseKVCache(shape));
    // wasm float32 kernels vs the TypeScript runtime: 1e-3, as in kernel-llama-runtime.test.ts.
    expect(maxAbsoluteDifference(logits, expected)).toBeLessThan(1e-3);
    backend.dispose();
  });
});
