import type { CompressedKVCache } from "@kvpack/cache";
import { ApiError } from "../http/api-error.js";
import type { KvCacheFactory } from "../kv/kv-cache-factory.js";
import type { PrefixCache } from "../kv/prefix-cache.js";
import type { Session, SessionStore } from "../kv/session-store.js";
import type { ServerMetrics } from "../metrics/server-metrics.js";
import type { ServedModel } from "../model/load-served-model.js";
import type { AdmissionQueue } from "../scheduling/admission-queue.js";
import { decodeTokens, type DecodeResult } from "./decode-tokens.js";
import type { GenerationEvent, GenerationRequest } from "./generation-request.js";
import { kvpackReport, tokensPerSecond } from "./kvpack-report.js";
import { prefill } from "./prefill.js";
import { prepareCache } from "./prepare-cache.js";

export type { GenerationEvent, GenerationRequest } from "./generation-request.js";

/**
 * Runs generations: admission (slot + KV reservation), session or prefix reuse (prepare-cache),
 * prefill, token-by-token decode with sampling and stop sequences (decode-tokens), the kvpack
 * report, then hands the KV back to the session. Every generation yields to the event loop
 * between tokens, so concurrent streams interleave.
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
    const ticket = await this.admit(request);
    let session: Session | undefined;
    let cache: CompressedKVCache | undefined;
    const fedTokens: number[] = [];
    // This generation's caches (the prompt's, and forks for choices 2…n), for the memory metrics.
    const heldCaches: CompressedKVCache[] = [];
    const hold = (held: CompressedKVCache): CompressedKVCache => {
      heldCaches.push(held);
      this.liveCaches.add(held);
      return held;
    };
    let completed = false;
    let failed = false;
    try {
      if (request.sessionId !== null) session = await this.sessions.checkout(request.keyId, request.sessionId, request.kvConfig);
      const prepared = await prepareCache(request, session, this.factory, this.prefix, this.model.fingerprint, (hit) => this.metrics.recordPrefixLookup(hit));
      cache = hold(prepared.cache);
      this.metrics.promptTokens.inc(request.promptTokens.length);
      for (let i = 0; i < prepared.reusedTokens; i++) fedTokens.push(request.promptTokens[i]);

      const prefilled = await prefill(this.model, cache, request.promptTokens, prepared.reusedTokens, fedTokens, request.signal);
      if (!prefilled) return;
      if (prepared.sharesPrefix) this.prefix!.publish(cache);
      // The runtime may reuse its logits buffer on the next forward step: keep a copy for choices 2…n.
      const candidates = request.bestOf;
      const promptLogits = candidates > 1 ? Float32Array.from(prefilled) : prefilled;
      const promptLength = request.promptTokens.length;
      // best_of > n: candidates are decoded silently, then the best n are sent in rank order.
      const ranked = candidates > request.n;
      const buffered: { events: GenerationEvent[]; decoded: DecodeResult }[] = [];
      let total: DecodeResult | undefined;
      // Choices 2…n decode on copy-on-write forks of the prompt's cache: each sees exactly the
      // prompt's KV (cutting a tail back out of a flushed page would re-encode its rows) and the
      // prompt's codes are held once.
      // Not in the memory metrics: its pages are the running choice's (shared), only its window is its own.
      const promptCache = candidates > 1 ? cache.fork() : undefined;
      for (let index = 0; index < candidates; index++) {
        if (index > 0) {
          this.liveCaches.delete(cache);
          cache = index === candidates - 1 ? (promptCache as CompressedKVCache) : hold((promptCache as CompressedKVCache).fork());
          fedTokens.length = promptLength;
        }
        const decoding = decodeTokens({
          model: this.model,
          cache,
          request,
          choice: index,
          logits: promptLogits,
          fedTokens,
          recordTokens: prepared.recordsTokens,
          score: ranked,
          shutdown: this.shutdown.signal,
          onFirstToken: (at) => {
            if (index === 0) this.metrics.timeToFirstToken.observe((at - request.receivedAt) / 1000);
          },
        });
        const events: GenerationEvent[] = [];
        let step = await decoding.next();
        for (; !step.done; step = await decoding.next()) {
          const event: GenerationEvent = { type: "text", index, ...step.value };
          if (ranked) events.push(event);
          else yield event;
        }
        const decoded = step.value;
        if (decoded.finishReason === undefined) return;
        this.recordDecodeMetrics(decoded);
        total = combine(total, decoded);
        if (ranked) {
          events.push({ type: "finish", index, finishReason: decoded.finishReason });
          buffered.push({ events, decoded });
        } else if (index < candidates - 1) {
          yield { type: "finish", index, finishReason: decoded.finishReason };
        }
      }
      // Pages completed while decoding (prompt + last completion) serve a later turn that resends them.
      if (prepared.sharesPrefix) this.prefix!.publish(cache);
      completed = true;
      const final = {
        // usage counts every candidate's tokens: they were all computed.
        usage: { prompt_tokens: promptLength, completion_tokens: total!.generated, total_tokens: promptLength + total!.generated },
        kvpack: kvpackReport(request, prepared, cache, total!),
      };
      if (!ranked) {
        yield { type: "finish", index: candidates - 1, finishReason: total!.finishReason!, final };
        return;
      }
      const best = bestCandidates(buffered.map((candidate) => candidate.decoded.cumulativeLogprob), request.n);
      for (const [rank, candidate] of best.entries()) {
        const last = rank === best.length - 1;
        for (const event of buffered[candidate].events) {
          if (event.type === "text") yield { ...event, index: rank };
          else yield { type: "finish", index: rank, finishReason: event.finishReason, ...(last ? { final } : {}) };
        }
      }
    } catch (error) {
      // A failure inside a forward step can leave layers of unequal length: never keep that cache.
      failed = true;
      throw error;
    } finally {
      for (const held of heldCaches) this.liveCaches.delete(held);
      ticket.release();
      // The cache holds exactly fedTokens (an abort between tokens keeps what was computed).
      if (session) this.sessions.checkin(session, cache && !failed && (completed || fedTokens.length > 0) ? cache : undefined, fedTokens);
      this.finished();
    }
  }

  /**
   * Waits for a slot and the request's worst-case KV bytes (prompt + completion) in the budget:
   * once, whatever `n` and `best_of`, since the choices take turns on the one cache.
   */
  private async admit(request: GenerationRequest): Promise<{ release(): void }> {
    const maxTokens = Math.min(request.maxTokens, this.model.contextLength - request.promptTokens.length);
    const reserve = this.factory.estimateBytes(request.kvConfig, request.promptTokens.length + maxTokens);
    const ticket = await this.queue.acquire(reserve, request.signal);
    this.running++;
    this.metrics.activeGenerations.set(this.running);
    return ticket;
  }

  private finished(): void {
    this.running--;
    this.metrics.activeGenerations.set(this.running);
    if (this.running === 0) for (const resolve of this.idleWaiters.splice(0)) resolve();
  }

  private recordDecodeMetrics(decoded: DecodeResult): void {
    this.metrics.generatedTokens.inc(decoded.generated);
    if (decoded.generated > 0) this.metrics.tokensPerSecond.set(tokensPerSecond(decoded));
  }
}

/** Totals over the choices: tokens and decode time add up; time to first token is the first choice's. */
function combine(total: DecodeResult | undefined, next: DecodeResult): DecodeResult {
  if (!total) return next;
  return {
    finishReason: next.finishReason,
    generated: total.generated + next.generated,
    firstTokenAt: total.firstTokenAt,
    decodeSeconds: total.decodeSeconds + next.decodeSeconds,
    cumulativeLogprob: total.cumulativeLogprob + next.cumulativeLogprob,
  };
}

/**
 * Indices of the `n` highest scores, best first (ties: the lower index, i.e. the lower seed).
 * best_of ranks by the cumulative log probability of the sampled tokens, as vLLM does.
 */
export function bestCandidates(scores: readonly number[], n: number): number[] {
  return scores
    .map((score, index) => ({ score, index }))
    .sort((a, b) => b.score - a.score || a.index - b.index)
    .slice(0, n)
    .map((candidate) => candidate.index);
}
