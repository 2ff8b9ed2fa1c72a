import type { LanguageModelRuntime } from "@kvpack/adapters";
import type { KVCache, KVCacheShape } from "@kvpack/cache";

/** What the server needs of a model runtime: one token at a time, and a batched prompt where the runtime has one. */
export interface ServedRuntime {
  readonly architecture: string;
  readonly vocabSize: number;
  readonly maxSequenceLength: number;
  readonly cacheShape: KVCacheShape;
  forward(token: number, position: number, cache: KVCache): Float32Array | Promise<Float32Array>;
  /**
   * Runs `tokens` from `startPosition` into `cache` (several tokens through each layer at once); the
   * last token's logits, or undefined when `signal` was aborted before the batch started.
   */
  prefill?(tokens: readonly number[], startPosition: number, cache: KVCache, signal?: AbortSignal): Float32Array | undefined | Promise<Float32Array | undefined>;
}

/**
 * An in-process runtime (LlamaRuntime, Gpt2Runtime) as the server runs it: its batched prefill where it
 * has one (synchronous: each batch holds the event loop), skipped when the request was cancelled.
 */
export function inProcessRuntime(runtime: LanguageModelRuntime): ServedRuntime {
  const prefill = runtime.prefill;
  return {
    architecture: runtime.architecture,
    vocabSize: runtime.vocabSize,
    maxSequenceLength: runtime.maxSequenceLength,
    cacheShape: runtime.cacheShape,
    forward: (token, position, cache) => runtime.forward(token, position, cache),
    ...(prefill ? { prefill: (tokens: readonly number[], startPosition: number, cache: KVCache, signal?: AbortSignal) => (signal?.aborted ? undefined : prefill.call(runtime, tokens, startPosition, cache)) } : {}),
  };
}
