import { DenseKVCache, type KVCache } from "@kvpack/cache";
import { ModelArgumentError } from "../model/model-format-error.js";
import { createDenseCache } from "../runtime/create-dense-cache.js";
import type { LanguageModelRuntime } from "../runtime/language-model-runtime.js";
import type { Tokenizer } from "../tokenizers/tokenizer.js";
import { Sampler, type SamplingOptions } from "./sampler.js";

export interface GenerateOptions extends SamplingOptions {
  /** Most tokens to generate; default: until the model's context is full. */
  readonly maxTokens?: number;
  /** Generation ends (without emitting it) at any of these; default tokenizer.stopTokenIds. */
  readonly stopTokenIds?: readonly number[];
  /** Generation ends when the text contains one of these; the stop sequence itself is not emitted. */
  readonly stopSequences?: readonly string[];
  /** Cache to decode into; default a fresh dense cache. A non-empty cache continues from its length. */
  readonly cache?: KVCache;
  /**
   * Prompt tokens per prefill chunk where the runtime has `prefill`. Default: 64 over a dense cache
   * (bit-identical logits on LlamaRuntime); 1, token by token, over any other cache, since its
   * retention policy may act between tokens (see PrefillOptions).
   */
  readonly prefillChunkSize?: number;
  /** Prepend BOS when the prompt is text; default true. */
  readonly bos?: boolean;
  /** Generation ends quietly (no error) once this is aborted. */
  readonly signal?: AbortSignal;
}

export interface GeneratedToken {
  readonly token: number;
  /** Text this token adds; may be "" while a possible stop sequence or a split UTF-8 character is held back. */
  readonly text: string;
}

/**
 * Streams generated tokens for a prompt (text, or token ids used as is). The prompt is run through
 * the model (`runtime.prefill` where it has one), then each new token is sampled, yielded with its
 * text, and fed back.
 */
export async function* generate(
  runtime: LanguageModelRuntime,
  tokenizer: Tokenizer,
  prompt: string | readonly number[],
  options: GenerateOptions = {},
): AsyncGenerator<GeneratedToken, void, undefined> {
  const promptIds = typeof prompt === "string" ? tokenizer.encode(prompt, { bos: options.bos ?? true }) : [...prompt];
  if (promptIds.length === 0) throw new ModelArgumentError("generate: the prompt has no tokens (pass text with bos, or at least one token id)");
  const cache = options.cache ?? createDenseCache(runtime);
  let position = cache.length(0);
  const contextLimit = runtime.maxSequenceLength;
  const maxTokens = options.maxTokens ?? Math.max(0, contextLimit - position - promptIds.length);
  if (!(Number.isInteger(maxTokens) && maxTokens >= 0)) throw new ModelArgumentError(`generate: maxTokens must be a non-negative integer, got ${maxTokens}`);
  if (maxTokens === 0) return;
  const stopTokens = new Set(options.stopTokenIds ?? tokenizer.stopTokenIds);
  const stopSequences = (options.stopSequences ?? []).filter((sequence) => sequence.length > 0);
  const sampler = new Sampler(runtime.vocabSize, options);
  const decoder = new TextDecoder();

  // The prompt goes through in chunks where the runtime can (matrix–matrix), else token by token.
  let logits: Float32Array | undefined;
  const chunkSize = options.prefillChunkSize ?? (cache instanceof DenseKVCache ? undefined : 1);
  if (runtime.prefill && chunkSize !== 1) {
    logits = runtime.prefill(promptIds, position, cache, { chunkSize });
    position += promptIds.length;
  } else {
    for (const id of promptIds) logits = runtime.forward(id, position++, cache);
  }
  let previous = promptIds[promptIds.length - 1];
  let next = sampler.sample(logits!);
  let pending = "";
  let generated = 0;
  while (!stopTokens.has(next) && !options.signal?.aborted) {
    const token = next;
    generated++;
    pending += decoder.decode(tokenizer.tokenBytes(previous, token), { stream: true });
    previous = token;
    const stopAt = findStop(pending, stopSequences);
    if (stopAt >= 0) {
      yield { token, text: pending.slice(0, stopAt) };
      return;
    }
    // Look one token ahead so the last yielded token carries all held-back text.
    let last = generated >= maxTokens;
    if (!last) {
      next = sampler.sample(runtime.forward(token, position++, cache));
      last = stopTokens.has(next);
    }
    if (last) {
      yield { token, text: pending + decoder.decode() };
      return;
    }
    const held = heldBackLength(pending, stopSequences);
    const text = pending.slice(0, pending.length - held);
    pending = pending.slice(pending.length - held);
    yield { token, text };
  }
}

/** Collects generate() into token ids and text. */
export async function generateText(
  runtime: LanguageModelRuntime,
  tokenizer: Tokenizer,
  prompt: string | readonly number[],
  options: GenerateOptions = {},
): Promise<{ tokens: number[]; text: string }> {
  const tokens: number[] = [];
  let text = "";
  for await (const step of generate(runtime, tokenizer, prompt, options)) {
    tokens.push(step.token);
    text += step.text;
  }
  return { tokens, text };
}

function findStop(text: string, stopSequences: readonly string[]): number {
  let first = -1;
  for (const sequence of stopSequences) {
    const index = text.indexOf(sequence);
    if (index >= 0 && (first < 0 || index < first)) first = index;
  }
  return first;
}

// Length of the longest suffix of `text` that could still grow into a stop sequence.
function heldBackLength(text: string, stopSequences: readonly string[]): number {
  let held = 0;
  for (const sequence of stopSequences) {
    for (let length = Math.min(sequence.length - 1, text.length); length > held; length--) {
      if (text.endsWith(sequence.slice(0, length))) {
        held = length;
        break;
      }
    }
  }
  return held;
}
