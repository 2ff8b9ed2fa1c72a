import type { FastifyInstance } from "fastify";
import { ApiError } from "../http/api-error.js";
import { completionRequestSchema } from "../openai/request-schemas.js";
import type { CompletionResponse } from "../openai/response-types.js";
import { validateBody } from "../openai/validate-body.js";
import { completionLogprobs, type CompletionLogprobs } from "../generation/logprob-entry.js";
import type { ServerContext } from "../server-context.js";
import { promptCharacterLimit } from "./prompt-character-limit.js";
import { buildGenerationRequest, clientAbortSignal, newResponseId, respondWithGeneration, type ChunkWriter } from "./run-generation.js";

/** POST /v1/completions (OpenAI legacy completions: one prompt, n choices out of best_of, optional logprobs). */
export function registerCompletionsRoute(app: FastifyInstance, context: ServerContext): void {
  app.post("/v1/completions", async (request, reply) => {
    const principal = context.authenticator.authenticate(request.headers.authorization);
    const body = validateBody(completionRequestSchema, request.body);
    const { tokenizer } = context.model;
    const prompt = body.prompt;
    let promptText: string | undefined;
    let promptTokens: number[];
    if (typeof prompt === "string" || typeof prompt[0] === "string") {
      promptText = typeof prompt === "string" ? prompt : (prompt[0] as string);
      // Bound the work before tokenizing: a token is at least one byte of text.
      const characterLimit = promptCharacterLimit(context);
      if (promptText.length > characterLimit) {
        throw new ApiError(400, `the prompt has ${promptText.length} characters; the limit is ${characterLimit}`, { param: "prompt", code: "context_length_exceeded" });
      }
      promptTokens = tokenizer.encode(promptText, { bos: context.model.addBos });
    } else {
      promptTokens = (Array.isArray(prompt[0]) ? prompt[0] : prompt) as number[];
    }
    const logprobs = body.logprobs ?? null;
    if (logprobs !== null && body.echo === true) {
      throw new ApiError(400, "logprobs with echo (log probabilities of the prompt tokens) is not supported", { param: "logprobs", code: "unsupported_value" });
    }
    const generationRequest = buildGenerationRequest(context, request, principal.keyId, body, promptTokens, undefined, clientAbortSignal(reply), logprobs, body.best_of ?? null);
    const id = newResponseId("cmpl");
    const created = Math.floor(Date.now() / 1000);
    const model = context.model.id;
    const fingerprint = context.systemFingerprint;
    const echo = body.echo === true && promptText !== undefined ? promptText : "";
    const chunk = (index: number, text: string, finishReason: string | null, chunkLogprobs: CompletionLogprobs | null = null) => ({
      id,
      object: "text_completion",
      created,
      model,
      system_fingerprint: fingerprint,
      choices: [{ index, text, logprobs: chunkLogprobs, finish_reason: finishReason }],
    });
    // Per choice: whether its echo went out, and where its next token's text starts (text_offset,
    // counted in characters of the token texts from the start of the completion).
    const echoed = new Set<number>();
    const textOffsets: number[] = [];
    const echoOnce = (index: number): string => {
      if (echoed.has(index)) return "";
      echoed.add(index);
      return echo;
    };
    const writer: ChunkWriter = {
      text(index, text, entries) {
        const prefix = echoOnce(index);
        const offset = textOffsets[index] ?? 0;
        const chunkLogprobs = entries ? completionLogprobs(entries, offset) : null;
        if (entries) textOffsets[index] = entries.reduce((sum, entry) => sum + entry.token.length, offset);
        return chunk(index, prefix + text, null, chunkLogprobs);
      },
      finish(index, finishReason, final, includeUsage) {
        const ended = chunk(index, echoOnce(index), finishReason);
        if (!final) return [ended];
        const last = { ...ended, kvpack: final.kvpack };
        if (!includeUsage) return [last];
        return [last, { ...chunk(index, "", null), choices: [], usage: final.usage }];
      },
      complete(choices, usage, kvpack): CompletionResponse {
        return {
          id,
          object: "text_completion",
          created,
          model,
          system_fingerprint: fingerprint,
          choices: choices.map((choice, index) => ({
            index,
            text: echo + choice.text,
            logprobs: choice.logprobs ? completionLogprobs(choice.logprobs, 0) : null,
            finish_reason: choice.finishReason,
          })),
          usage,
          kvpack,
        };
      },
    };
    return respondWithGeneration(context, reply, generationRequest, body.stream === true, body.stream_options?.include_usage === true, writer, "completions");
  });
}
