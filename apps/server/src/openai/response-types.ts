import type { CompletionLogprobs, LogprobEntry } from "../generation/logprob-entry.js";

/** OpenAI response shapes (the subset this server fills in). */
export type FinishReason = "stop" | "length";

export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

/** Per-response kvpack report: what the KV cache cost and where its prefix came from. */
export interface KvpackUsage {
  codec: string;
  key_bits: number | null;
  value_bits: number | null;
  policy: string | null;
  session: string | null;
  /** Prompt tokens whose KV came from the session or the prefix cache instead of being computed. */
  reused_tokens: number;
  prefix_source: "session" | "memory" | "disk" | "redis" | null;
  kv_bytes: number;
  /** Bytes the same tokens take in fp32 (the dense baseline). */
  dense_kv_bytes: number;
  compression_ratio: number;
  time_to_first_token_ms: number;
  tokens_per_second: number;
}

export interface CompletionResponse {
  id: string;
  object: "text_completion";
  created: number;
  model: string;
  system_fingerprint: string;
  choices: { index: number; text: string; logprobs: CompletionLogprobs | null; finish_reason: FinishReason }[];
  usage: Usage;
  kvpack: KvpackUsage;
}

export interface ChatCompletionResponse {
  id: string;
  object: "chat.completion";
  created: number;
  model: string;
  system_fingerprint: string;
  choices: {
    index: number;
    message: { role: "assistant"; content: string; refusal: null };
    logprobs: { content: LogprobEntry[]; refusal: null } | null;
    finish_reason: FinishReason;
  }[];
  usage: Usage;
  kvpack: KvpackUsage;
}
