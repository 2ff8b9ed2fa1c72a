import type { KVCache, KVCacheShape } from "@kvpack/cache";
import type { LlamaConfig, LlamaWeights } from "../model/llama-weights.js";
import { HostLlamaOps } from "./host-llama-ops.js";
import type { LanguageModelRuntime, LayerObserver } from "./language-model-runtime.js";
import { LlamaForwardLoop } from "./llama-forward-loop.js";
import { runSync } from "./run-steps.js";

/**
 * Llama-family reference runtime, synchronous TypeScript: the Llama forward loop
 * (llama-forward-loop.ts, shared with KernelLlamaRuntime) over HostLlamaOps. All buffers are
 * reused across calls.
 */
export class LlamaRuntime implements LanguageModelRuntime {
  readonly architecture = "llama" as const;
  readonly config: LlamaConfig;
  readonly vocabSize: number;
  readonly maxSequenceLength: number;
  readonly heads: number;
  readonly cacheShape: KVCacheShape;
  private readonly loop: LlamaForwardLoop;
  private readonly ops: HostLlamaOps;
  private readonly single = [0];

  constructor(weights: LlamaWeights, options: { observer?: LayerObserver } = {}) {
    const config = weights.config;
    this.config = config;
    this.vocabSize = config.vocabSize;
    this.maxSequenceLength = config.maxSequenceLength;
    this.heads = config.heads;
    this.loop = new LlamaForwardLoop(config, weights.tokenEmbedding, options.observer);
    this.cacheShape = this.loop.cacheShape;
    this.ops = new HostLlamaOps(weights);
  }

  get observer(): LayerObserver | undefined {
    return this.loop.observer;
  }

  set observer(observer: LayerObserver | undefined) {
    this.loop.observer = observer;
  }

  forward(token: number, position: number, cache: KVCache): Float32Array {
    const tokens = this.single;
    tokens[0] = token;
    this.loop.check(tokens, position, cache);
    return runSync(this.loop.steps(this.ops, tokens, position, cache));
  }
}
