import type { KvConfig } from "../kv/kv-config.js";
import type { SamplingOptions } from "../model/token-sampler.js";
import type { FinishReason, KvpackUsage, Usage } from "../openai/response-types.js";
import type { LogprobEntry } from "./logprob-entry.js";

/** One validated generation: prompt tokens, sampling, stop sequences, KV configuration, session. */
export interface GenerationRequest {
  readonly keyId: string;
  readonly promptTokens: readonly number[];
  readonly maxTokens: number;
  readonly sampling: SamplingOptions;
  readonly stop: readonly string[];
  readonly kvConfig: KvConfig;
  readonly sessionId: string | null;
  /**
   * Continuations of the prompt (OpenAI `n`): decoded one after another on the one cache, each
   * from the prompt's KV pages (truncated back to the prompt), with sampler seed `seed + index`.
   */
  readonly n: number;
  /**
   * Candidates decoded (OpenAI `best_of`, ≥ n; equal to n unless given): the same way as the n
   * choices, from one prefill; the n with the highest cumulative log probability are returned.
   */
  readonly bestOf: number;
  /** Report each generated token's log probability with this many alternatives (null: no logprobs). */
  readonly logprobs: number | null;
  /** Aborted when the client goes away. */
  readonly signal: AbortSignal;
  /** performance.now() when the request arrived (time to first token is measured from it). */
  readonly receivedAt: number;
}

/**
 * What a generation streams: text as it is released (after stop-sequence hold-back, so it may be
 * "" while `logprobs` already lists the tokens sampled since the last event), then one finish.
 */
export type GenerationEvent =
  | { readonly type: "text"; readonly index: number; readonly text: string; readonly logprobs?: readonly LogprobEntry[] }
  | {
      readonly type: "finish";
      /** The continuation (choice) that ended. */
      readonly index: number;
      readonly finishReason: FinishReason;
      /** On the last choice only: usage of the whole request and the kvpack report. */
      readonly final?: { readonly usage: Usage; readonly kvpack: KvpackUsage };
    };
