import { type GgufLlamaModel, KernelLlamaRuntime, ResidentLlamaWeights } from "@kvpack/adapters";
import { createWasmBackend } from "@kvpack/kernels";
import { SerialRunner } from "./serial-runner.js";
import type { ServedRuntime } from "./served-runtime.js";

/**
 * A GGUF Llama on the WASM kernel backend (KernelLlamaRuntime): Q8_0 / Q4_0 / F16 matrices stay the
 * file's blocks in WASM memory (others are dequantized once, on upload), prompts are prefilled in
 * chunks through each layer. Calls from concurrent generations take turns (SerialRunner).
 */
export async function wasmLlamaRuntime(loaded: GgufLlamaModel): Promise<ServedRuntime> {
  const backend = createWasmBackend();
  await backend.init();
  // The file's description: any architecture loadGgufLlama reads (llama, qwen2, qwen3, phi3, gemma2), its sliding windows in cacheShape.
  const runtime = new KernelLlamaRuntime(new ResidentLlamaWeights(backend, loaded.weights, { blocks: loaded.matrixBlocks }), { description: loaded.description });
  const turns = new SerialRunner();
  return {
    architecture: runtime.architecture,
    vocabSize: runtime.vocabSize,
    maxSequenceLength: runtime.maxSequenceLength,
    cacheShape: runtime.cacheShape,
    forward: (token, position, cache) => turns.run(() => runtime.forward(token, position, cache)),
    // A request cancelled while it waited for its turn skips its batch (many admitted requests may be queued).
    prefill: (tokens, startPosition, cache, signal) => turns.run(() => (signal?.aborted ? undefined : runtime.prefill(tokens, startPosition, cache))),
  };
}
