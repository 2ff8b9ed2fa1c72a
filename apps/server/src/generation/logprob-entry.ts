import type { Tokenizer } from "@kvpack/adapters";
import type { TokenLogprob } from "../model/token-logprobs.js";

/** One token alternative in OpenAI's chat shape: the token's text, its UTF-8 bytes, its log probability. */
export interface TopLogprob {
  readonly token: string;
  readonly bytes: number[];
  readonly logprob: number;
}

/** A generated token with its log probability and the most likely alternatives (OpenAI chat `logprobs.content[i]`). */
export interface LogprobEntry extends TopLogprob {
  readonly top_logprobs: TopLogprob[];
}

const decoder = new TextDecoder("utf-8");

function describe(tokenizer: Tokenizer, previous: number, id: number, logprob: number): TopLogprob {
  // The bytes this token adds after `previous` (a piece may be part of a multi-byte character: its text then holds U+FFFD).
  const bytes = tokenizer.tokenBytes(previous, id);
  return { token: decoder.decode(bytes), bytes: Array.from(bytes), logprob };
}

/** Turns token ids into text for the response (alternatives are rendered after the same previous token). */
export function logprobEntry(tokenizer: Tokenizer, previous: number, logprobs: TokenLogprob): LogprobEntry {
  return {
    ...describe(tokenizer, previous, logprobs.id, logprobs.logprob),
    top_logprobs: logprobs.top.map((alternative) => describe(tokenizer, previous, alternative.id, alternative.logprob)),
  };
}

/** OpenAI legacy completions `choices[i].logprobs` for a run of tokens whose text starts at `textOffset`. */
export interface CompletionLogprobs {
  tokens: string[];
  token_logprobs: number[];
  top_logprobs: Record<string, number>[];
  text_offset: number[];
}

/**
 * The legacy shape: parallel arrays, and per token a dict of the top alternatives that always
 * includes the sampled token (OpenAI: "up to logprobs + 1 elements").
 */
export function completionLogprobs(entries: readonly LogprobEntry[], textOffset: number): CompletionLogprobs {
  const result: CompletionLogprobs = { tokens: [], token_logprobs: [], top_logprobs: [], text_offset: [] };
  let offset = textOffset;
  for (const entry of entries) {
    result.tokens.push(entry.token);
    result.token_logprobs.push(entry.logprob);
    const top = Object.create(null) as Record<string, number>; // token texts such as "__proto__" stay plain keys
    for (const alternative of entry.top_logprobs) if (!(alternative.token in top)) top[alternative.token] = alternative.logprob;
    if (!(entry.token in top)) top[entry.token] = entry.logprob;
    result.top_logprobs.push(top);
    result.text_offset.push(offset);
    offset += entry.token.length;
  }
  return result;
}
