import type { KVCache, KVCacheShape } from "@kvpack/cache";
import type { LlamaConfig, LlamaWeights } from "../model/llama-weights.js";
import { toModelDescription, type LlamaModelDescription } from "../model/llama-model-description.js";
import type { RopeDescription } from "../model/rope.js";
import { HostLlamaOps } from "./host-llama-ops.js";
import type { LanguageModelRuntime, LayerObserver, PrefillOptions } from "./language-model-runtime.js";
import { LlamaForwardLoop, prefillChunkSize } from "./llama-forward-loop.js";
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

  /**
   * `model`: bare weights (llama2.c's rotation and full attention) or a model description
   * (model/llama-model-description.ts). `rope` overrides the description's rotation.
   */
  constructor(model: LlamaWeights | LlamaModelDescription, options: { observer?: LayerObserver; rope?: RopeDescription } = {}) {
    const description = toModelDescription(model);
    const { config, weights } = description;
    this.config = config;
    this.vocabSize = config.vocabSize;
    this.maxSequenceLength = config.maxSequenceLength;
    this.heads = config.heads;
    this.loop = new LlamaForwardLoop(description, options.observer);
    this.cacheShape = this.loop.cacheShape;
    this.ops = new HostLlamaOps(weights, options.rope ?? description.rope, description.activation);
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

  /**
   * Runs a prompt in chunks (each through every layer at once, matrix–matrix) and returns the last
   * token's logits. On this runtime the logits are bit-identical to calling `forward` per token:
   * each matmul output is the same four-accumulator sum either way.
   */
  prefill(tokens: readonly number[], startPosition: number, cache: KVCache, options?: PrefillOptions): Float32Array {
    const chunkSize = prefillChunkSize(options);
    this.loop.check(tokens, startPosition, cache);
    let logits: Float32Array | undefined;
    for (let start = 0; start < tokens.length; start += chunkSize) {
      const chunk = tokens.slice(start, start + chunkSize);
      logits = runSync(this.loop.steps(this.ops, chunk, startPosition + start, cache));
    }
    return logits!;
  }
}
