import { performance } from "node:perf_hooks";
import type { CompressedKVCache } from "@kvpack/cache";
import { ApiError } from "../http/api-error.js";
import { denseBytes, type KvCacheFactory } from "../kv/kv-cache-factory.js";
import { kvConfigKey, type KvConfig } from "../kv/kv-config.js";
import type { PrefixCache } from "../kv/prefix-cache.js";
import type { Session, SessionStore } from "../kv/session-store.js";
import type { ServerMetrics } from "../metrics/server-metrics.js";
import type { ServedModel } from "../model/load-served-model.js";
import { StopSequenceMatcher } from "../model/stop-sequence-matcher.js";
import { TokenSampler, type SamplingOptions } from "../model/token-sampler.js";
import type { FinishReason, KvpackUsage, Usage } from "../openai/response-types.js";
import type { AdmissionQueue } from "../scheduling/admission-queue.js";

export interface GenerationRequest {
  readonly keyId: string;
  readonly promptTokens: readonly number[];
  readonly maxTokens: number;
  readonly sampling: SamplingOptions;
  readonly stop: readonly string[];
  readonly kvConfig: KvConfig;
  readonly sessionId: string | null;
  /** Aborted when the client goes away. */
  readonly signal: AbortSignal;
  /** performance.now() when the request arrived (time to first token is measured from it). */
  readonly receivedAt: number;
}

export type GenerationEvent =
  | { readonly type: "text"; readonly text: string }
  | { readonly type: "finish"; readonly finishReason: FinishReason; readonly usage: Usage; readonly kvpack: KvpackUsage };

/** Prefill yields to the event loop every this many tokens so other requests keep streaming. */
const prefillSliceTokens = 32;

const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Longest common prefix of two token lists. */
function commonPrefixLength(a: readonly number[], b: readonly number[]): number {
  const limit = Math.min(a.length, b.length);
  let index = 0;
  while (index < limit && a[index] === b[index]) index++;
  return index;
}

/**
 * Runs generations: admission (slot + KV reservation), session or prefix reuse, prefill,
 * token-by-token decode with sampling and stop sequences, then hands the KV to the session.
 * Every generation yields to the event loop between tokens, so concurrent streams interleave.
 */
export class GenerationService {
  private readonly liveCaches = new Set<CompressedKVCache>();
  private readonly shutdown = new AbortController();
  private running = 0;
  private idleWaiters: (() => void)[] = [];

  constructor(
    private readonly model: ServedModel,
    private readonly factory: KvCacheFactory,
    private readonly queue: AdmissionQueue,
    private readonly sessions: SessionStore,
    private readonly prefix: PrefixCache | undefined,
    private readonly metrics: ServerMetrics,
  ) {}

  /** Caches of running generations (resident-bytes metrics). */
  activeCaches(): Iterable<CompressedKVCache> {
    return this.liveCaches;
  }

  get runningCount(): number {
    return this.running;
  }

  /** Ends running generations at their next token (finish_reason "length"). */
  abortAll(): void {
    this.shutdown.abort();
  }

  /** Resolves when no generation is running. */
  whenIdle(): Promise<void> {
    if (this.running === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Checks the request against the model before it queues (so bad input never waits). */
  validate(request: Pick<GenerationRequest, "promptTokens" | "maxTokens">): void {
    const { contextLength, vocabSize } = this.model;
    for (const token of request.promptTokens) {
      if (!(Number.isInteger(token) && token >= 0 && token < vocabSize)) {
        throw new ApiError(400, `token id ${token} is outside the model's vocabulary (0 … ${vocabSize - 1})`, { param: "prompt", code: "invalid_value" });
      }
    }
    if (request.promptTokens.length >= contextLength) {
      throw new ApiError(400, `the prompt is ${request.promptTokens.length} tokens; this model's context is ${contextLength} tokens (prompt and completion together)`, {
        param: "prompt",
        code: "context_length_exceeded",
      });
    }
  }

  async *generate(request: GenerationRequest): AsyncGenerator<GenerationEvent> {
    this.validate(request);
    const { model } = this;
    const { tokenizer, contextLength } = model;
    const promptTokens = request.promptTokens;
    const maxTokens = Math.min(request.maxTokens, contextLength - promptTokens.length);
    const reserve = this.factory.estimateBytes(request.kvConfig, promptTokens.length + maxTokens);
    const ticket = await this.queue.acquire(reserve, request.signal);
    this.running++;
    this.metrics.activeGenerations.set(this.running);
    let session: Session | undefined;
    let cache: CompressedKVCache | undefined;
    const fedTokens: number[] = [];
    let completed = false;
    let failed = false;
    try {
      if (request.sessionId !== null) session = await this.sessions.checkout(request.keyId, request.sessionId, request.kvConfig);
      // 1. Reuse: the session's KV (longest common token prefix), else shared prefix pages.
      let reusedTokens = 0;
      let prefixSource: KvpackUsage["prefix_source"] = null;
      const exactReplay = request.kvConfig.policy === null;
      if (session?.cache) {
        const common = commonPrefixLength(session.tokens, promptTokens);
        const cached = session.cache.length();
        if (common > 0 && (common === session.tokens.length || exactReplay) && cached === session.tokens.length) {
          // Keep at least one prompt token to compute: its logits start the generation.
          reusedTokens = Math.min(common, promptTokens.length - 1);
          if (reusedTokens < cached) session.cache.truncate(reusedTokens);
          cache = session.cache;
          prefixSource = reusedTokens > 0 ? "session" : null;
        }
      }
      // The scope isolates tenants, models and KV configurations in every prefix key.
      const scope = `${request.keyId}\u0000${this.model.fingerprint}\u0000${kvConfigKey(request.kvConfig)}`;
      cache ??= this.factory.create(request.kvConfig, scope);
      if (session && cache !== session.cache) session.cache = undefined;
      const sharePrefix = this.prefix !== undefined && exactReplay;
      if (reusedTokens === 0 && sharePrefix) {
        const restored = await this.prefix!.restore(promptTokens, cache);
        reusedTokens = restored.reusedTokens;
        prefixSource = restored.source;
        this.metrics.recordPrefixLookup(restored.reusedTokens > 0);
      }
      // Caches key their pages by the token ids they saw: record every token fed.
      const tokenRecorder = cache.recordedTokens().length === reusedTokens ? cache : undefined;
      tokenRecorder?.recordTokens(promptTokens.slice(reusedTokens), reusedTokens);
      for (let i = 0; i < reusedTokens; i++) fedTokens.push(promptTokens[i]);
      this.liveCaches.add(cache);
      this.metrics.promptTokens.inc(promptTokens.length);

      // 2. Prefill the rest of the prompt.
      const runCache = cache;
      let logits: Float32Array | undefined;
      for (let position = reusedTokens; position < promptTokens.length; position++) {
        logits = await model.forward(promptTokens[position], position, runCache);
        fedTokens.push(promptTokens[position]);
        if ((position - reusedTokens + 1) % prefillSliceTokens === 0) {
          await yieldToEventLoop();
          if (request.signal.aborted) return;
        }
      }
      if (sharePrefix && tokenRecorder) this.prefix!.publish(tokenRecorder);

      // 3. Decode.
      const sampler = new TokenSampler(request.sampling, model.vocabSize);
      const stops = new StopSequenceMatcher(request.stop);
      const decoder = new TextDecoder("utf-8");
      const stopTokens = new Set(tokenizer.stopTokenIds);
      let previous = promptTokens[promptTokens.length - 1];
      let generated = 0;
      let finishReason: FinishReason = "length";
      let firstTokenAt = 0;
      const decodeStart = performance.now();
      while (generated < maxTokens && logits) {
        const next = sampler.sample(logits);
        if (generated === 0) {
          firstTokenAt = performance.now();
          this.metrics.timeToFirstToken.observe((firstTokenAt - request.receivedAt) / 1000);
        }
        if (stopTokens.has(next)) {
          finishReason = "stop";
          break;
        }
        generated++;
        const text = stops.push(decoder.decode(tokenizer.tokenBytes(previous, next), { stream: true }));
        if (text.length > 0) yield { type: "text", text };
        if (stops.hasStopped) {
          finishReason = "stop";
          break;
        }
        previous = next;
        if (generated >= maxTokens) break;
        tokenRecorder?.recordTokens([next], fedTokens.length);
        logits = await model.forward(next, fedTokens.length, runCache);
        fedTokens.push(next);
        await yieldToEventLoop();
        if (request.signal.aborted) return;
        if (this.shutdown.signal.aborted) break;
      }
      // Pages completed while decoding (prompt + completion) serve a later turn that resends them.
      if (sharePrefix && tokenRecorder) this.prefix!.publish(tokenRecorder);
      const tail = stops.push(decoder.decode()) + stops.flush();
      if (tail.length > 0) yield { type: "text", text: tail };
      const decodeSeconds = (performance.now() - decodeStart) / 1000;
      const tokensPerSecond = decodeSeconds > 0 ? generated / decodeSeconds : 0;
      this.metrics.generatedTokens.inc(generated);
      if (generated > 0) this.metrics.tokensPerSecond.set(tokensPerSecond);
      const kvBytes = cache.byteLength();
      const dense = denseBytes(cache, cache.length());
      completed = true;
      yield {
        type: "finish",
        finishReason,
        usage: { prompt_tokens: promptTokens.length, completion_tokens: generated, total_tokens: promptTokens.length + generated },
        kvpack: {
          codec: request.kvConfig.codec,
          key_bits: request.kvConfig.keyBits,
          value_bits: request.kvConfig.valueBits,
          policy: request.kvConfig.policy,
          session: request.sessionId,
          reused_tokens: reusedTokens,
          prefix_source: prefixSource,
          kv_bytes: kvBytes,
          dense_kv_bytes: dense,
          compression_ratio: kvBytes > 0 ? dense / kvBytes : 0,
          time_to_first_token_ms: firstTokenAt > 0 ? firstTokenAt - request.receivedAt : 0,
          tokens_per_second: tokensPerSecond,
        },
      };
    } catch (error) {
      // A failure inside a forward step can leave layers of unequal length: never keep that cache.
      failed = true;
      throw error;
    } finally {
      if (cache) this.liveCaches.delete(cache);
      ticket.release();
      // The cache holds exactly fedTokens (an abort between tokens keeps what was computed).
      if (session) this.sessions.checkin(session, cache && !failed && (completed || fedTokens.length > 0) ? cache : undefined, fedTokens);
      this.running--;
      this.metrics.activeGenerations.set(this.running);
      if (this.running === 0) for (const resolve of this.idleWaiters.splice(0)) resolve();
    }
  }
}
