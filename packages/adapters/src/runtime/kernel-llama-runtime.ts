import { CompressedKVCache, type KVCache, type KVCacheShape } from "@kvpack/cache";
// Types only: the caller picks and initialises the backend, so loading adapters never loads WASM or WebGPU code.
import type { KernelBackend, WasmKernelBackend } from "@kvpack/kernels";
import type { LlamaConfig } from "../model/llama-weights.js";
import { describeLlamaModel, type LlamaModelDescription } from "../model/llama-model-description.js";
import { ModelArgumentError } from "../model/model-format-error.js";
import type { RopeDescription } from "../model/rope.js";
import { BackendLlamaOps } from "./backend-llama-ops.js";
import type { LayerObserver, PrefillOptions } from "./language-model-runtime.js";
import { LlamaForwardLoop, prefillChunkSize } from "./llama-forward-loop.js";
import { KernelAttentionAttacher, type CacheAttention } from "../kernel-attention/kernel-attention-attacher.js";
import type { ResidentLlamaWeights } from "./resident-llama-weights.js";
import { runAsync } from "./run-steps.js";

export { ResidentLlamaWeights } from "./resident-llama-weights.js";

export interface KernelLlamaRuntimeOptions {
  observer?: LayerObserver;
  /**
   * Where RMSNorm, RoPE and SwiGLU run. "host" (default) runs RMSNorm and RoPE, steps of a few
   * hundred floats, in plain TypeScript, a prefill chunk's rows in one pass; "backend" runs them as
   * kernels, one call per row. A kernel call costs more than those steps on both WASM (bench:runtime,
   * stories260K: 2,648 vs 1,505 tok/s) and WebGPU (a round trip per step). SwiGLU (hidden × rows
   * floats, one exp each) is one kernel call per chunk on WASM either way, where the SIMD exp beats
   * Math.exp; on other backends it follows this option.
   */
  vectorKernels?: "backend" | "host";
  /** The model's rotation (model/rope.ts); default the description's, else llama2.c's. NeoX or scaled RoPE runs on the host. */
  rope?: RopeDescription;
  /** The model description the resident weights came from (its rotation and per-layer attention). */
  description?: LlamaModelDescription;
  /**
   * How a CompressedKVCache given to forward/prefill attends. "kernel" (default): on the WASM
   * backend the runtime plugs WasmPageAttention into the cache (pages resident in the kernels'
   * heap) unless the cache already has a non-TypeScript backend; if the kernel module fails to
   * start it logs why and the cache keeps attending in TypeScript. "typescript": leave caches as
   * they are. Other caches (DenseKVCache, wrappers) always attend on their own.
   */
  cacheAttention?: CacheAttention;
}

/**
 * The Llama forward loop (llama-forward-loop.ts, shared with LlamaRuntime) on a kernel backend:
 * the matmuls, RMSNorm, RoPE and SwiGLU are backend kernels; attention goes through `cache.attend`,
 * so any kvpack cache (dense, compressed, with a retention policy) plugs in. Kernels are async, so
 * `forward` is too; it returns a fresh logits array per call. Await each call before the next on the
 * same runtime (its buffers are reused); separate runtimes may share one ResidentLlamaWeights.
 */
export class KernelLlamaRuntime {
  readonly architecture = "llama" as const;
  readonly config: LlamaConfig;
  readonly vocabSize: number;
  readonly maxSequenceLength: number;
  readonly heads: number;
  readonly cacheShape: KVCacheShape;
  readonly backend: KernelBackend;
  private readonly loop: LlamaForwardLoop;
  private readonly ops: BackendLlamaOps;
  private readonly attacher: KernelAttentionAttacher;

  constructor(weights: ResidentLlamaWeights, options: KernelLlamaRuntimeOptions = {}) {
    const config = weights.config;
    this.backend = weights.backend;
    this.config = config;
    this.vocabSize = config.vocabSize;
    this.maxSequenceLength = config.maxSequenceLength;
    this.heads = config.heads;
    if (options.description && options.description.weights !== weights.host) {
      throw new ModelArgumentError("KernelLlamaRuntime: options.description must describe the resident weights (description.weights === weights.host)");
    }
    const description = options.description ?? describeLlamaModel(weights.host);
    this.loop = new LlamaForwardLoop(description, options.observer, weights.embeddingRows);
    this.cacheShape = this.loop.cacheShape;
    this.ops = new BackendLlamaOps(weights, options.vectorKernels ?? "host", options.rope ?? description.rope, description.activation);
    // On the WASM backend the attention kernels come from it: long layers split over its worker pool.
    const backend = this.backend as Partial<WasmKernelBackend>;
    this.attacher = new KernelAttentionAttacher(
      options.cacheAttention === "typescript" || this.backend.name !== "wasm" ? undefined : "wasm",
      typeof backend.pagedAttentionKernels === "function" ? () => (backend as WasmKernelBackend).pagedAttentionKernels() : undefined,
    );
  }

  /**
   * The attention backend the runtime plugs into the CompressedKVCaches it is given ("wasm"), or
   * undefined: a non-WASM backend, `cacheAttention: "typescript"`, or a kernel module that failed
   * to start (see `cacheAttentionFailure`). Resolves after the first forward/prefill.
   */
  get cacheAttention(): string | undefined {
    return this.attacher.attached;
  }

  /** Threads the kernel attention runs long layers on (after the first forward/prefill), or undefined. */
  get cacheAttentionThreads(): number | undefined {
    return this.attacher.threadsUsed;
  }

  /** Why the kernel attention could not start (logged once), or undefined. */
  get cacheAttentionFailure(): string | undefined {
    return this.attacher.failure;
  }

  get observer(): LayerObserver | undefined {
    return this.loop.observer;
  }

  set observer(observer: LayerObserver | undefined) {
    this.loop.observer = observer;
  }

  /** Runs one token at `position`, appending its keys and values to `cache`; resolves to its logits. */
  async forward(token: number, position: number, cache: KVCache): Promise<Float32Array> {
    const tokens = [token];
    this.loop.check(tokens, position, cache);
    if (cache instanceof CompressedKVCache) await this.attacher.attach(cache);
    return runAsync(this.loop.steps(this.ops, tokens, position, cache));
  }

  /**
   * Runs a prompt in chunks: each chunk goes through every layer at once (`matmulBatch`, one read
   * of each weight matrix per chunk), its tokens appended and attended one after the other within
   * the layer (causal). Resolves to the last token's logits, the same as `forward` per token up to
   * float32 summation order (on ts and wasm each matmul row is bit-identical to `matmul`).
   */
  async prefill(tokens: readonly number[], startPosition: number, cache: KVCache, options?: PrefillOptions): Promise<Float32Array> {
    const chunkSize = prefillChunkSize(options);
    this.loop.check(tokens, startPosition, cache);
    if (cache instanceof CompressedKVCache) await this.attacher.attach(cache);
    let logits: Float32Array | undefined;
    for (let start = 0; start < tokens.length; start += chunkSize) {
      const chunk = tokens.slice(start, start + chunkSize);
      logits = await runAsync(this.loop.steps(this.ops, chunk, startPosition + start, cache));
    }
    return logits!;
  }
}
