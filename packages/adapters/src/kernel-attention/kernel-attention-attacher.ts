import type { CompressedKVCache } from "@kvpack/cache";
import type { PagedAttentionKernels } from "@kvpack/kernels";
import { createWasmPageAttention } from "./create-wasm-page-attention.js";
import type { WasmPageAttention } from "./wasm-page-attention.js";

/** How a runtime's CompressedKVCaches attend: on the kernels of its backend, or as they are. */
export type CacheAttention = "kernel" | "typescript";

/**
 * Plugs one WasmPageAttention (started on first use, shared by every cache the runtime is given)
 * into CompressedKVCaches that attend in TypeScript. A module that fails to start is logged once
 * and leaves the caches on TypeScript attention: slower, never a different answer.
 */
export class KernelAttentionAttacher {
  private starting: Promise<WasmPageAttention | undefined> | undefined;
  private readonly seen = new WeakSet<CompressedKVCache>();
  attached: string | undefined;
  /** Threads the attention kernels run on, once started. */
  threadsUsed: number | undefined;
  failure: string | undefined;

  /** `kernels`: where the kernels come from (the runtime's WASM backend, sharing its worker pool); new single-thread ones by default. */
  constructor(
    private readonly kind: "wasm" | undefined,
    private readonly kernels?: () => Promise<PagedAttentionKernels>,
  ) {}

  async attach(cache: CompressedKVCache): Promise<void> {
    if (this.kind === undefined || this.seen.has(cache)) return;
    this.seen.add(cache);
    // A cache given its own backend (or a fork of one that has ours) keeps it.
    if (cache.attentionBackendName() !== "typescript") return;
    const attention = await this.start();
    if (attention !== undefined) cache.setAttentionBackend(attention);
  }

  private start(): Promise<WasmPageAttention | undefined> {
    this.starting ??= (this.kernels ? this.kernels().then((kernels) => createWasmPageAttention({ kernels })) : createWasmPageAttention()).then(
      (attention) => {
        this.attached = attention.name;
        this.threadsUsed = attention.threads;
        return attention;
      },
      (error: unknown) => {
        this.failure = error instanceof Error ? error.message : String(error);
        console.warn(`KernelLlamaRuntime: the WASM paged-attention kernels did not start (${this.failure}); caches attend in TypeScript`);
        return undefined;
      },
    );
    return this.starting;
  }
}
