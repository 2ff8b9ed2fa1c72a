import { randomBytes } from "node:crypto";
import { performance } from "node:perf_hooks";
import type { FastifyReply, FastifyRequest } from "fastify";
import type { GenerationEvent, GenerationRequest } from "../generation/generation-request.js";
import type { LogprobEntry } from "../generation/logprob-entry.js";
import { ApiError } from "../http/api-error.js";
import { ServerSentEventStream } from "../http/server-sent-events.js";
import { toApiError } from "../http/error-handler.js";
import { resolveKvConfig } from "../kv/kv-config.js";
import type { FinishReason, KvpackUsage, Usage } from "../openai/response-types.js";
import { sessionIdSchema, type KvpackOptions } from "../openai/request-schemas.js";
import type { ServerContext } from "../server-context.js";

/** The fields both endpoints share, after validation. */
export interface GenerationParameters {
  model: string;
  max_tokens?: number | null;
  n?: number | null;
  temperature?: number | null;
  top_p?: number | null;
  top_k?: number | null;
  stop?: string | string[] | null;
  seed?: number | null;
  presence_penalty?: number | null;
  frequency_penalty?: number | null;
  stream?: boolean | null;
  stream_options?: { include_usage?: boolean } | null;
  kvpack?: KvpackOptions | null;
}

/** One finished choice of a non-streamed response. */
export interface CompletedChoice {
  readonly text: string;
  readonly finishReason: FinishReason;
  readonly logprobs: readonly LogprobEntry[] | undefined;
}

export interface ChunkWriter {
  /** The first chunk of choice `index` (chat sends the assistant role). */
  start?(index: number): unknown;
  /** A chunk of text; `logprobs` lists the tokens sampled since the previous chunk (when asked for). */
  text(index: number, text: string, logprobs: readonly LogprobEntry[] | undefined): unknown;
  /** Choice `index` ended; `final` (last choice only) adds the kvpack report and the usage chunk. */
  finish(index: number, finishReason: FinishReason, final: { usage: Usage; kvpack: KvpackUsage } | undefined, includeUsage: boolean): unknown[];
  /** The whole non-streamed response. */
  complete(choices: readonly CompletedChoice[], usage: Usage, kvpack: KvpackUsage): unknown;
}

export function newResponseId(prefix: string): string {
  return `${prefix}-${randomBytes(12).toString("base64url")}`;
}

/** Validates what depends on the server (model, limits, session header) and builds the generation request. */
export function buildGenerationRequest(
  context: ServerContext,
  request: FastifyRequest,
  keyId: string,
  parameters: GenerationParameters,
  promptTokens: number[],
  maxTokensOverride: number | null | undefined,
  signal: AbortSignal,
  logprobs: number | null = null,
  bestOf: number | null = null,
): GenerationRequest {
  const { config, model } = context;
  if (parameters.model !== model.id) {
    throw new ApiError(404, `the model '${parameters.model.slice(0, 256)}' does not exist; this server serves '${model.id}'`, { param: "model", code: "model_not_found" });
  }
  const requestedMaxTokens = maxTokensOverride ?? parameters.max_tokens ?? config.limits.defaultMaxTokens;
  if (requestedMaxTokens > config.limits.maxTokens) {
    throw new ApiError(400, `max_tokens is ${requestedMaxTokens}; this server allows at most ${config.limits.maxTokens}`, { param: "max_tokens", code: "invalid_value" });
  }
  const promptLimit = Math.min(config.limits.promptTokens, model.contextLength - 1);
  if (promptTokens.length > promptLimit) {
    throw new ApiError(400, `the prompt is ${promptTokens.length} tokens; the limit is ${promptLimit} (model context ${model.contextLength})`, {
      param: "prompt",
      code: "context_length_exceeded",
    });
  }
  const headerSession = request.headers["x-kvpack-session"];
  let sessionId = parameters.kvpack?.session ?? null;
  if (sessionId === null && headerSession !== undefined) {
    const parsed = sessionIdSchema.safeParse(Array.isArray(headerSession) ? headerSession[0] : headerSession);
    if (!parsed.success) throw new ApiError(400, `invalid x-kvpack-session header: ${parsed.error.issues[0].message}`, { param: "x-kvpack-session", code: "invalid_value" });
    sessionId = parsed.data;
  }
  const kvConfig = resolveKvConfig(parameters.kvpack, config.kv.defaults, context.policyNames);
  context.kvCaches.checkSupported(kvConfig);
  const n = parameters.n ?? 1;
  if (n > config.limits.maxChoices) throw new ApiError(400, `n is ${n}; this server allows at most ${config.limits.maxChoices}`, { param: "n", code: "invalid_value" });
  const candidates = bestOf ?? n;
  if (candidates < n) throw new ApiError(400, `best_of is ${candidates}; it must be at least n (${n})`, { param: "best_of", code: "invalid_value" });
  if (candidates > config.limits.maxChoices) {
    throw new ApiError(400, `best_of is ${candidates}; this server allows at most ${config.limits.maxChoices}`, { param: "best_of", code: "invalid_value" });
  }
  // OpenAI: best_of results cannot be streamed (the best are only known once all candidates finished).
  if (candidates > 1 && bestOf !== null && parameters.stream === true) {
    throw new ApiError(400, "best_of cannot be used with stream: true", { param: "best_of", code: "unsupported_value" });
  }
  // n takes precedence in the message: it is the parameter most clients set.
  const multiple = n > 1 ? "n" : candidates > 1 ? "best_of" : null;
  if (multiple !== null && sessionId !== null) {
    throw new ApiError(400, `${multiple} > 1 cannot be used with a session (which choice would the session continue?)`, { param: multiple, code: "unsupported_value" });
  }
  if (multiple !== null && kvConfig.policy !== null) {
    // Choices restart from the prompt's KV; an eviction policy has already changed it by then.
    throw new ApiError(400, `${multiple} > 1 needs a KV configuration without an eviction policy`, { param: multiple, code: "unsupported_value" });
  }
  const stop = parameters.stop == null ? [] : typeof parameters.stop === "string" ? [parameters.stop] : parameters.stop;
  return {
    keyId,
    promptTokens,
    maxTokens: requestedMaxTokens,
    sampling: {
      temperature: parameters.temperature ?? 1,
      topP: parameters.top_p ?? 1,
      topK: parameters.top_k ?? 0,
      seed: parameters.seed ?? undefined,
      presencePenalty: parameters.presence_penalty ?? 0,
      frequencyPenalty: parameters.frequency_penalty ?? 0,
    },
    stop: stop.filter((sequence) => sequence.length > 0),
    kvConfig,
    sessionId,
    n,
    bestOf: candidates,
    logprobs,
    signal,
    receivedAt: (request as FastifyRequest & { kvpackReceivedAt?: number }).kvpackReceivedAt ?? performance.now(),
  };
}

/** Aborts when the client closes the connection before the response finished. */
export function clientAbortSignal(reply: FastifyReply): AbortSignal {
  const controller = new AbortController();
  reply.raw.on("close", () => {
    if (!reply.raw.writableFinished) controller.abort();
  });
  return controller.signal;
}

/**
 * Drives one generation to the client: a JSON response, or server-sent events. Errors before
 * the first event (queue full, bad session…) are normal HTTP errors; after the stream opened
 * they are sent as an `error` event and the stream ends.
 */
export async function respondWithGeneration(
  context: ServerContext,
  reply: FastifyReply,
  generationRequest: GenerationRequest,
  stream: boolean,
  includeUsage: boolean,
  writer: ChunkWriter,
  route: string,
): Promise<unknown> {
  const started = performance.now();
  const events = context.generation.generate(generationRequest);
  // Run up to the first event here, so admission and prefill errors get a proper status code.
  try {
    return await deliver(context, reply, events, stream, includeUsage, writer, route, started, generationRequest.logprobs !== null);
  } finally {
    // Resumes the generator past its last yield so its cleanup (ticket, session) always runs.
    await events.return(undefined);
  }
}

async function deliver(
  context: ServerContext,
  reply: FastifyReply,
  events: AsyncGenerator<GenerationEvent>,
  stream: boolean,
  includeUsage: boolean,
  writer: ChunkWriter,
  route: string,
  started: number,
  wantsLogprobs: boolean,
): Promise<unknown> {
  const first = await events.next();
  if (!stream) {
    const choices: { text: string; finishReason: FinishReason; logprobs: LogprobEntry[] | undefined }[] = [];
    const choice = (index: number) => (choices[index] ??= { text: "", finishReason: "length", logprobs: wantsLogprobs ? [] : undefined });
    let event: IteratorResult<GenerationEvent> = first;
    while (!event.done) {
      const value = event.value;
      if (value.type === "text") {
        choice(value.index).text += value.text;
        if (value.logprobs) choice(value.index).logprobs?.push(...value.logprobs);
      } else {
        choice(value.index).finishReason = value.finishReason;
        if (value.final) {
          context.metrics.requestDuration.observe({ route }, (performance.now() - started) / 1000);
          return writer.complete(choices, value.final.usage, value.final.kvpack);
        }
      }
      event = await events.next();
    }
    // Only an aborted client ends without a finish event; nothing can be sent to it.
    return reply.code(499).send();
  }
  const sse = new ServerSentEventStream(reply);
  sse.open();
  try {
    let opened = -1; // the last choice whose first chunk went out
    let event: IteratorResult<GenerationEvent> = first;
    while (!event.done) {
      const value = event.value;
      if (writer.start && value.index > opened) sse.send(writer.start(value.index));
      opened = value.index;
      if (value.type === "text") sse.send(writer.text(value.index, value.text, value.logprobs));
      else for (const chunk of writer.finish(value.index, value.finishReason, value.final, includeUsage)) sse.send(chunk);
      if (sse.closed) break;
      event = await events.next();
    }
    sse.done();
  } catch (error) {
    const apiError = toApiError(error);
    if (apiError.status >= 500) reply.log.error({ err: error }, "stream failed");
    sse.send(apiError.toBody());
    sse.end();
  } finally {
    context.metrics.requestDuration.observe({ route }, (performance.now() - started) / 1000);
  }
  return reply;
}
