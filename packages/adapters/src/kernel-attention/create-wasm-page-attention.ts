// Types only: the module is loaded on first use.
import type { PagedAttentionKernels } from "@kvpack/kernels";
import { WasmPageAttention, type WasmPageAttentionOptions } from "./wasm-page-attention.js";

export interface CreateWasmPageAttentionOptions extends WasmPageAttentionOptions {
  /**
   * Threads the kernels run long layers on (default 1; "auto": every core). Needs SharedArrayBuffer
   * and a worker API; without them attention runs on one thread and `threadsReason` of the kernels says why.
   */
  readonly threads?: number | "auto";
  /** Kernels already started (e.g. a WASM backend's, sharing its worker pool): used instead of new ones, `threads` ignored. */
  readonly kernels?: PagedAttentionKernels;
}

/**
 * Instantiates the paged-attention WASM module (@kvpack/kernels, loaded here on first use so that
 * importing adapters never loads WASM) and wraps it as the cache's attention backend. Rejects when
 * WebAssembly (or its SIMD) is unavailable; callers fall back to the cache's TypeScript attention.
 */
export async function createWasmPageAttention(options: CreateWasmPageAttentionOptions = {}): Promise<WasmPageAttention> {
  const { threads, kernels, ...attentionOptions } = options;
  if (kernels !== undefined) return new WasmPageAttention(kernels, attentionOptions);
  const { createPagedAttentionKernels } = await import("@kvpack/kernels");
  return new WasmPageAttention(await createPagedAttentionKernels({ threads }), attentionOptions);
}
