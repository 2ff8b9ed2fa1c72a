import { z } from "zod";
import { codecKindSchema } from "../config/server-config.js";

/** Session ids are opaque to the server but kept short and printable: they end up in storage keys. */
export const sessionIdSchema = z.string().regex(/^[A-Za-z0-9_.:-]{1,128}$/, "session ids are 1–128 of A–Z a–z 0–9 _ . : -");

/** The per-request `kvpack` extension: how this request's KV cache is compressed and kept. */
export const kvpackOptionsSchema = z.strictObject({
  /** "dense" is an alias of fp32: the uncompressed baseline. */
  codec: z.union([codecKindSchema, z.literal("dense")]).optional(),
  keyBits: z.number().finite().positive().max(32).optional(),
  valueBits: z.number().finite().positive().max(32).optional(),
  /** Eviction policy name (see GET /v1/models → kvpack.policies). */
  policy: z.string().min(1).max(64).optional(),
  /** Token budget for the policy: the most tokens kept resident for this request or session. */
  budget: z.number().int().min(4).max(1_000_000).optional(),
  residualWindow: z.number().int().min(0).max(4096).optional(),
  /** How FibQuant/TurboQuant store each vector's norm; log8 (the default) suits small head dims. */
  norm: z.enum(["fp32", "fp16", "bf16", "log8"]).optional(),
  session: sessionIdSchema.optional(),
});
export type KvpackOptions = z.infer<typeof kvpackOptionsSchema>;

const stopSchema = z.union([z.string().max(256), z.array(z.string().max(256)).max(4)]).nullish();

/** Sampling and limit fields shared by both endpoints (OpenAI names and ranges). */
const samplingFields = {
  model: z.string().min(1).max(256),
  max_tokens: z.number().int().min(0).nullish(),
  temperature: z.number().finite().min(0).max(2).nullish(),
  top_p: z.number().finite().gt(0).max(1).nullish(),
  /** Not OpenAI, but common in OpenAI-compatible servers. */
  top_k: z.number().int().min(0).max(1_000_000).nullish(),
  /** Choices (continuations of the prompt); the server's limit is limits.maxChoices. */
  n: z.number().int().min(1).max(128).nullish(),
  stream: z.boolean().nullish(),
  stream_options: z.object({ include_usage: z.boolean().optional() }).nullish(),
  stop: stopSchema,
  seed: z.number().int().min(-(2 ** 53)).max(2 ** 53).nullish(),
  presence_penalty: z.number().finite().min(-2).max(2).nullish(),
  frequency_penalty: z.number().finite().min(-2).max(2).nullish(),
  user: z.string().max(256).nullish(),
  kvpack: kvpackOptionsSchema.nullish(),
};

const tokenIdArray = z.array(z.number().int().min(0)).min(1);

export const completionRequestSchema = z.looseObject({
  ...samplingFields,
  prompt: z.union([z.string(), z.array(z.string()).length(1, "only one prompt per request"), tokenIdArray, z.array(tokenIdArray).length(1)]),
  echo: z.boolean().nullish(),
  /** Log probabilities of each generated token and of the N most likely alternatives (OpenAI: 0–5). */
  logprobs: z.number().int().min(0).max(5).nullish(),
  suffix: z.null().optional(),
  /** Candidates decoded server-side, the n most likely returned (≥ n; limit limits.maxChoices; not with stream). */
  best_of: z.number().int().min(1).max(128).nullish(),
});
export type CompletionRequest = z.infer<typeof completionRequestSchema>;

const textPartSchema = z.looseObject({ type: z.literal("text"), text: z.string() });

export const chatMessageSchema = z.looseObject({
  role: z.enum(["system", "developer", "user", "assistant", "tool"]),
  content: z.union([z.string(), z.array(textPartSchema), z.null()]),
  name: z.string().max(64).optional(),
});
export type ChatMessage = z.infer<typeof chatMessageSchema>;

export const chatCompletionRequestSchema = z.looseObject({
  ...samplingFields,
  messages: z.array(chatMessageSchema).min(1).max(1024),
  max_completion_tokens: z.number().int().min(0).nullish(),
  logprobs: z.boolean().nullish(),
  /** Alternatives per token (OpenAI: 0–20); needs `logprobs: true`. */
  top_logprobs: z.number().int().min(0).max(20).nullish(),
});
export type ChatCompletionRequest = z.infer<typeof chatCompletionRequestSchema>;

/** POST /tokenize (llama.cpp server's shape). */
export const tokenizeRequestSchema = z.looseObject({
  content: z.string(),
  /** Prepend BOS (llama.cpp: add_special, default false). */
  add_special: z.boolean().nullish(),
  /** Answer `{ id, piece }` per token instead of bare ids. */
  with_pieces: z.boolean().nullish(),
});

/** POST /detokenize (llama.cpp server's shape). */
export const detokenizeRequestSchema = z.looseObject({
  tokens: z.array(z.number().int().min(0)).max(1_048_576),
});
