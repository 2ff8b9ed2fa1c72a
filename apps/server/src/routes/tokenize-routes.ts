import type { FastifyInstance } from "fastify";
import { ApiError } from "../http/api-error.js";
import { detokenizeRequestSchema, tokenizeRequestSchema } from "../openai/request-schemas.js";
import { validateBody } from "../openai/validate-body.js";
import type { ServerContext } from "../server-context.js";
import { promptCharacterLimit } from "./prompt-character-limit.js";

const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

/** A token's piece as llama.cpp reports it: its text, or its bytes when they are not valid UTF-8 alone. */
function piece(bytes: Uint8Array): string | number[] {
  try {
    return strictUtf8.decode(bytes);
  } catch {
    return Array.from(bytes);
  }
}

/**
 * POST /tokenize `{ content, add_special?, with_pieces? }` → `{ tokens }` and POST /detokenize
 * `{ tokens }` → `{ content }`, in llama.cpp server's shapes, with the served model's tokenizer.
 * Both need an API key like the generation endpoints; bad input is a 400 in OpenAI's error shape.
 */
export function registerTokenizeRoutes(app: FastifyInstance, context: ServerContext): void {
  const { tokenizer } = context.model;

  app.post("/tokenize", async (request) => {
    context.authenticator.authenticate(request.headers.authorization);
    const body = validateBody(tokenizeRequestSchema, request.body);
    const limit = promptCharacterLimit(context);
    if (body.content.length > limit) {
      throw new ApiError(400, `the content has ${body.content.length} characters; the limit is ${limit}`, { param: "content", code: "context_length_exceeded" });
    }
    const tokens = tokenizer.encode(body.content, { bos: body.add_special === true });
    if (body.with_pieces !== true) return { tokens };
    // Pieces as stored (no run.c leading-space strip after BOS): they concatenate to the tokenizer's text.
    return { tokens: tokens.map((id) => ({ id, piece: piece(tokenizer.tokenBytes(-1, id)) })) };
  });

  app.post("/detokenize", async (request) => {
    context.authenticator.authenticate(request.headers.authorization);
    const body = validateBody(detokenizeRequestSchema, request.body);
    const bad = body.tokens.findIndex((id) => id >= tokenizer.vocabSize);
    if (bad >= 0) {
      throw new ApiError(400, `token id ${body.tokens[bad]} at tokens[${bad}] is outside the vocabulary (0 … ${tokenizer.vocabSize - 1})`, {
        param: "tokens",
        code: "invalid_value",
      });
    }
    return { content: tokenizer.decode(body.tokens) };
  });
}
