import { type GgufLlamaModel, KernelLlamaRuntime, ResidentLlamaWeights } from "@kvpack/adapters";
import type { KVCache, KVCacheShape } from "@kvpack/cache";
import { createWasmBackend } from "@kvpack/kernels";
import { SerialRunner } from "./serial-runner.js";

/** What the server needs of a model runtime: one token at a time, and a batched prompt where the runtime has one. */
export interface ServedRuntime {
  readonly architecture: string;
  readonly vocabSize: number;
  readonly maxSequenceLength: number;
  readonly cacheShape: KVCacheShape;
  forward(token: number, position: number, cache: KVCache): Float32Array | Promise<Float32Array>;
  /** Runs `tokens` from `startPosition` into `cache` (several tokens through each layer at once); the last token's logits. */
  prefill?(tokens: readonly number[], startPosition: number, cache: KVCache): Float32Array | Promise<Float32Array>;
}

/**
 * A GGUF Llama on the WASM kernel backend (KernelLlamaRuntime): Q8_0 / Q4_0 / F16 matrices stay the
 * file's blocks in WASM memory (others are dequantized once, on upload), prompts are prefilled in
 * chunks through each layer. Calls from concurrent generations take turns (SerialRunner).
 */
export async function wasmLlamaRuntime(loaded: GgufLlamaModel): Promise<ServedRuntime> {
  const backend = createWasmBackend();
  await backend.init();
  const runtime = new KernelLlamaRuntime(new ResidentLlamaWeights(backend, loaded.weights, { blocks: loaded.matrixBlocks }));
  const turns = new SerialRunner();
  return {
    architecture: runtime.architecture,
    vocabSize: runtime.vocabSize,
    maxSequenceLength: runtime.maxSequenceLength,
    cacheShape: runtime.cacheShape,
    forward: (token, position, cache) => turns.run(() => runtime.forward(token, position, cache)),
    prefill: (tokens, startPosition, cache) => turns.run(() => runtime.prefill(tokens, startPosition, cache)),
  };
}
