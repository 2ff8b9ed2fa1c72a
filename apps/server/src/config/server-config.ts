import { z } from "zod";

/** One bearer token. `id` (never the secret) names the tenant in session and prefix keys, logs and metrics. */
export const apiKeySchema = z.object({
  id: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, "API key id: 1–64 of A–Z a–z 0–9 _ . -"),
  key: z.string().min(8, "API keys need at least 8 characters"),
});

export const codecKindSchema = z.enum(["fibquant", "turboquant", "kivi", "quarot", "int8", "fp16", "fp32"]);

export const kvDefaultsSchema = z.object({
  codec: codecKindSchema.default("turboquant"),
  keyBits: z.number().positive().max(8).optional(),
  valueBits: z.number().positive().max(8).optional(),
  /** Most recent tokens kept in full precision before compression (KIVI-style residual window). */
  residualWindow: z.number().int().min(0).max(4096).default(32),
  /** Norm storage of FibQuant/TurboQuant: at small head dims the norm dominates, so 8-bit log scale. */
  norm: z.enum(["fp32", "fp16", "bf16", "log8"]).default("log8"),
});

export const serverConfigSchema = z.object({
  host: z.string().min(1).default("127.0.0.1"),
  port: z.number().int().min(0).max(65_535).default(8080),
  logLevel: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  model: z
    .object({
      /** Weights file; absent: the embedded stories260K. */
      path: z.string().min(1).optional(),
      /** Tokenizer file (llama2.c tokenizer.bin); GGUF carries its own. */
      tokenizerPath: z.string().min(1).optional(),
      format: z.enum(["auto", "llama2c", "gguf", "safetensors", "onnx"]).default("auto"),
      /** Name reported by /v1/models and accepted in requests; defaults to the file's base name. */
      id: z.string().min(1).max(128).optional(),
      /** Context length override (ONNX models do not declare one; default 2048 there). */
      contextLength: z.number().int().min(8).max(1_048_576).optional(),
    })
    .prefault({}),
  apiKeys: z.array(apiKeySchema).default([]),
  /** When set, GET /metrics needs `Authorization: Bearer <metricsKey>` (scrapers get their own key). */
  metricsKey: z.string().min(8, "the metrics key needs at least 8 characters").max(256).optional(),
  limits: z
    .object({
      bodyBytes: z.number().int().min(1024).max(64 * 1024 * 1024).default(1024 * 1024),
      /** Longest accepted prompt in tokens (further capped by the model's context). */
      promptTokens: z.number().int().positive().default(4096),
      /** Largest accepted max_tokens, and the default when a request gives none. */
      maxTokens: z.number().int().positive().default(512),
      /** Largest accepted `n` (choices per request; they take turns on one cache). */
      maxChoices: z.number().int().min(1).max(128).default(8),
      defaultMaxTokens: z.number().int().positive().default(128),
      /** Generations decoded at the same time (they interleave token by token). */
      maxConcurrent: z.number().int().positive().default(8),
      /** Requests waiting for a slot or KV memory; beyond it the server answers 429. */
      queueSize: z.number().int().min(0).default(32),
      queueTimeoutMs: z.number().int().positive().default(15_000),
    })
    .prefault({}),
  kv: z
    .object({
      /** Global budget for resident KV bytes: live requests, idle sessions and in-memory prefix pages. */
      memoryBudgetBytes: z.number().int().positive().default(256 * 1024 * 1024),
      defaults: kvDefaultsSchema.prefault({}),
      /** Tokens per prefix page (the unit shared between requests). */
      pageTokens: z.number().int().min(1).max(1024).default(32),
      /** In-memory prefix pages may use at most this share of the budget. */
      prefixMemoryShare: z.number().min(0).max(1).default(0.25),
      /** Disk tier for offloaded sessions and prefix pages; absent: a folder under the OS temp dir. */
      diskDirectory: z.string().min(1).optional(),
      diskEnabled: z.boolean().default(true),
      /** Redis tier shared by several server processes. */
      redisUrl: z.string().min(1).optional(),
      sessionTtlSeconds: z.number().int().positive().default(3600),
      maxSessionsPerKey: z.number().int().positive().default(256),
    })
    .prefault({}),
  /** Allowed browser origins; empty (the default) leaves CORS off. */
  corsOrigins: z.array(z.string().min(1)).default([]),
  /** Seconds an in-flight stream may take to finish on SIGTERM/SIGINT before it is ended. */
  shutdownGraceSeconds: z.number().min(0).max(600).default(10),
});

export type ServerConfig = z.infer<typeof serverConfigSchema>;
export type ServerConfigInput = z.input<typeof serverConfigSchema>;
export type ApiKeyConfig = z.infer<typeof apiKeySchema>;
export type CodecKindName = z.infer<typeof codecKindSchema>;
