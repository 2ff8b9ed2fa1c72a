import type { CompressedKVCache } from "@kvpack/cache";
import type { ServedModel } from "../model/load-served-model.js";
import { StopSequenceMatcher } from "../model/stop-sequence-matcher.js";
import { TokenSampler } from "../model/token-sampler.js";
import type { FinishReason } from "../openai/response-types.js";
import type { GenerationRequest } from "./generation-request.js";
import { logprobEntry, type LogprobEntry } from "./logprob-entry.js";
import { yieldToEventLoop } from "./prefill.js";

export interface DecodeResult {
  /** Undefined when the client went away (nothing more is sent). */
  readonly finishReason: FinishReason | undefined;
  readonly generated: number;
  /** performance.now() of the first sampled token (0: none). */
  readonly firstTokenAt: number;
  readonly decodeSeconds: number;
  /** Sum of the generated tokens' log probabilities (0 unless the request scores choices: best_of). */
  readonly cumulativeLogprob: number;
}

export interface DecodeInput {
  readonly model: ServedModel;
  readonly cache: CompressedKVCache;
  readonly request: GenerationRequest;
  /** Which continuation this is: its sampler seed is the request's seed + choice. */
  readonly choice: number;
  /** Logits of the last prompt token (only read). */
  readonly logits: Float32Array;
  /** Tokens whose KV the cache holds; each fed token is appended. */
  readonly fedTokens: number[];
  /** Whether the cache records the token ids it is fed (prefix page keys). */
  readonly recordTokens: boolean;
  /** Add up the sampled tokens' log probabilities (best_of ranks candidates by it). */
  readonly score?: boolean;
  /** Ends the decode at the next token with finish_reason "length" (server shutdown). */
  readonly shutdown: AbortSignal;
  readonly onFirstToken: (at: number) => void;
}

/** Text released by one step, and the sampled token's logprobs when the request asked for them. */
export interface DecodedText {
  readonly text: string;
  readonly logprobs?: readonly LogprobEntry[];
}

/**
 * Token-by-token decode: sample from the logits (penalties, temperature, top-k/top-p), stop at a
 * stop token, `max_tokens` or a stop sequence, turn tokens into UTF-8 text (held back while it
 * may be the start of a stop sequence) and run the next forward step. Yields text as released.
 */
export async function* decodeTokens(input: DecodeInput): AsyncGenerator<DecodedText, DecodeResult> {
  const { model, cache, request, fedTokens } = input;
  const { tokenizer } = model;
  const maxTokens = Math.min(request.maxTokens, model.contextLength - request.promptTokens.length);
  const seed = request.sampling.seed === undefined ? undefined : request.sampling.seed + input.choice;
  const sampler = new TokenSampler({ ...request.sampling, seed }, model.vocabSize);
  const stops = new StopSequenceMatcher(request.stop);
  const decoder = new TextDecoder("utf-8");
  const stopTokens = new Set(tokenizer.stopTokenIds);
  let previous = request.promptTokens[request.promptTokens.length - 1];
  let logits = input.logits;
  let generated = 0;
  let finishReason: FinishReason = "length";
  let firstTokenAt = 0;
  let cumulativeLogprob = 0;
  // Scoring needs each sampled token's log probability even when the client did not ask for logprobs.
  const topN = request.logprobs ?? (input.score ? 0 : null);
  const decodeStart = performance.now();
  const result = (reason: FinishReason | undefined): DecodeResult => ({
    finishReason: reason,
    generated,
    firstTokenAt,
    decodeSeconds: (performance.now() - decodeStart) / 1000,
    cumulativeLogprob,
  });
  while (generated < maxTokens) {
    const { token: next, logprobs } = sampler.sampleWithLogprobs(logits, topN);
    if (generated === 0) {
      firstTokenAt = performance.now();
      input.onFirstToken(firstTokenAt);
    }
    if (stopTokens.has(next)) {
      finishReason = "stop";
      break;
    }
    generated++;
    // The stop token is not counted: the score is the sum of the token_logprobs a client gets back.
    if (logprobs) cumulativeLogprob += logprobs.logprob;
    const text = stops.push(decoder.decode(tokenizer.tokenBytes(previous, next), { stream: true }));
    if (logprobs && request.logprobs !== null) yield { text, logprobs: [logprobEntry(tokenizer, previous, logprobs)] };
    else if (text.length > 0) yield { text };
    if (stops.hasStopped) {
      finishReason = "stop";
      break;
    }
    previous = next;
    if (generated >= maxTokens) break;
    if (input.recordTokens) cache.recordTokens([next], fedTokens.length);
    logits = await model.forward(next, fedTokens.length, cache);
    fedTokens.push(next);
    await yieldToEventLoop();
    if (request.signal.aborted) return result(undefined);
    if (input.shutdown.aborted) break;
  }
  const tail = stops.push(decoder.decode()) + stops.flush();
  if (tail.length > 0) yield { text: tail };
  return result(finishReason);
}
