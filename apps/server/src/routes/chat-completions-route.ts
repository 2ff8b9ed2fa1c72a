import type { FastifyInstance } from "fastify";
import { chatCompletionRequestSchema } from "../openai/request-schemas.js";
import type { ChatCompletionResponse } from "../openai/response-types.js";
import { validateBody } from "../openai/validate-body.js";
import { ApiError } from "../http/api-error.js";
import type { LogprobEntry } from "../generation/logprob-entry.js";
import type { ServerContext } from "../server-context.js";
import { promptCharacterLimit } from "./prompt-character-limit.js";
import { buildGenerationRequest, clientAbortSignal, newResponseId, respondWithGeneration, type ChunkWriter } from "./run-generation.js";

/** POST /v1/chat/completions: the messages rendered by the model's chat format (its own template, else the plain join). */
export function registerChatCompletionsRoute(app: FastifyInstance, context: ServerContext): void {
  app.post("/v1/chat/completions", async (request, reply) => {
    const principal = context.authenticator.authenticate(request.headers.authorization);
    const body = validateBody(chatCompletionRequestSchema, request.body);
    const promptText = context.model.chatFormat.render(body.messages);
    const characterLimit = promptCharacterLimit(context);
    if (promptText.length > characterLimit) {
      throw new ApiError(400, `the messages have ${promptText.length} characters; the limit is ${characterLimit}`, { param: "messages", code: "context_length_exceeded" });
    }
    if (body.top_logprobs != null && body.logprobs !== true) {
      throw new ApiError(400, "top_logprobs needs logprobs: true", { param: "top_logprobs", code: "invalid_value" });
    }
    const logprobs = body.logprobs === true ? (body.top_logprobs ?? 0) : null;
    const promptTokens = context.model.tokenizer.encode(promptText, { bos: context.model.addBos, special: context.model.chatFormat.special });
    const generationRequest = buildGenerationRequest(
      context,
      request,
      principal.keyId,
      body,
      promptTokens,
      body.max_completion_tokens ?? body.max_tokens,
      clientAbortSignal(reply),
      logprobs,
    );
    const id = newResponseId("chatcmpl");
    const created = Math.floor(Date.now() / 1000);
    const model = context.model.id;
    const fingerprint = context.systemFingerprint;
    const chunk = (index: number, delta: Record<string, string>, finishReason: string | null, entries?: readonly LogprobEntry[]) => ({
      id,
      object: "chat.completion.chunk",
      created,
      model,
      system_fingerprint: fingerprint,
      choices: [{ index, delta, logprobs: entries ? { content: [...entries], refusal: null } : null, finish_reason: finishReason }],
    });
    const writer: ChunkWriter = {
      start: (index) => chunk(index, { role: "assistant", content: "" }, null),
      text: (index, text, entries) => chunk(index, { content: text }, null, entries),
      finish(index, finishReason, final, includeUsage) {
        if (!final) return [chunk(index, {}, finishReason)];
        const last = { ...chunk(index, {}, finishReason), kvpack: final.kvpack };
        if (!includeUsage) return [last];
        return [last, { ...chunk(index, {}, null), choices: [], usage: final.usage }];
      },
      complete(choices, usage, kvpack): ChatCompletionResponse {
        return {
          id,
          object: "chat.completion",
          created,
          model,
          system_fingerprint: fingerprint,
          choices: choices.map((choice, index) => ({
            index,
            message: { role: "assistant", content: choice.text, refusal: null },
            logprobs: choice.logprobs ? { content: [...choice.logprobs], refusal: null } : null,
            finish_reason: choice.finishReason,
          })),
          usage,
          kvpack,
        };
      },
    };
    return respondWithGeneration(context, reply, generationRequest, body.stream === true, body.stream_options?.include_usage === true, writer, "chat");
  });
}
