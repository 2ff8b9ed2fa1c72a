import { CompressedKVCache } from "@kvpack/cache";
import { createWasmBackend } from "@kvpack/kernels";
import { describe, expect, it, vi } from "vitest";
import { loadLlama2cCheckpoint } from "../llama2c/load-llama2c-checkpoint.js";
import { readModelsData, readModelsDataJson, type ModelReference } from "../model/test-models-data.js";
import { KernelLlamaRuntime, ResidentLlamaWeights } from "../runtime/kernel-llama-runtime.js";

// The kernel module fails to start (as without WebAssembly SIMD).
vi.mock("./create-wasm-page-attention.js", () => ({
  createWasmPageAttention: () => Promise.reject(new Error("WebAssembly SIMD is not available")),
}));

const weights = loadLlama2cCheckpoint(readModelsData("stories260K.bin"));
const reference = readModelsDataJson<ModelReference>("stories260K.reference.json");
const shape = { layers: weights.config.layers, kvHeads: weights.config.kvHeads, headDim: weights.config.headDim };

describe("KernelLlamaRuntime when the paged-attention kernels fail to start", () => {
  it("logs the reason once and leaves caches on TypeScript attention, with the TypeScript answer", async () => {
    const backend = createWasmBackend();
    await backend.init();
    const resident = new ResidentLlamaWeights(backend, weights);
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    const spec = { kind: "fp32" as const, dimension: shape.headDim };
    const failing = new CompressedKVCache({ ...shape, keys: spec, values: spec });
    const plain = new CompressedKVCache({ ...shape, keys: spec, values: spec });
    const runtime = new KernelLlamaRuntime(resident);
    const tokens = reference.prompt_token_ids;
    const logits = await runtime.prefill(tokens, 0, failing);
    const second = new CompressedKVCache({ ...shape, keys: spec, values: spec });
    await runtime.forward(tokens[0], 0, second);
    const expected = await new KernelLlamaRuntime(resident, { cacheAttention: "typescript" }).prefill(tokens, 0, plain);
    expect(Array.from(logits)).toEqual(Array.from(expected));
    expect(failing.attentionBackendName()).toBe("typescript");
    expect(runtime.cacheAttention).toBeUndefined();
    expect(runtime.cacheAttentionFailure).toBe("WebAssembly SIMD is not available");
    expect(warn).toHaveBeenCalledTimes(1);
    expect(String(warn.mock.calls[0][0])).toContain("WebAssembly SIMD is not available");
    warn.mockRestore();
    resident.dispose();
    backend.dispose();
  });
});
