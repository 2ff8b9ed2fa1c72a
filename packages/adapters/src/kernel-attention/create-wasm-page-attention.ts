import { WasmPageAttention } from "./wasm-page-attention.js";

/**
 * Instantiates the paged-attention WASM module (@kvpack/kernels, loaded here on first use so that
 * importing adapters never loads WASM) and wraps it as the cache's attention backend. Rejects when
 * WebAssembly (or its SIMD) is unavailable; callers fall back to the cache's TypeScript attention.
 */
export async function createWasmPageAttention(): Promise<WasmPageAttention> {
  const { createPagedAttentionKernels } = await import("@kvpack/kernels");
  return new WasmPageAttention(await createPagedAttentionKernels());
}
