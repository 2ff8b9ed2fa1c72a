import type { KVCache } from "@kvpack/cache";
import { ModelArgumentError } from "../model/model-format-error.js";
import { logSumExp } from "../runtime/kernels.js";
import { createDenseCache } from "../runtime/create-dense-cache.js";
import type { LanguageModelRuntime } from "../runtime/language-model-runtime.js";

export interface SequenceNll {
  /** Mean negative log-likelihood in nats over the predicted tokens (all but the first). */
  readonly meanNll: number;
  /** exp(meanNll). */
  readonly perplexity: number;
  readonly totalNll: number;
  readonly predictedTokens: number;
}

/**
 * Teacher-forced scoring: feeds tokens[0..n−2] and sums −log p(tokens[i+1] | tokens[0..i]) in
 * float64. The cache defaults to a fresh dense one (pass a compressed cache to measure its cost).
 */
export function sequenceNll(runtime: LanguageModelRuntime, tokens: readonly number[], options: { cache?: KVCache } = {}): SequenceNll {
  if (tokens.length < 2) throw new ModelArgumentError(`sequenceNll: need at least 2 tokens, got ${tokens.length}`);
  const cache = options.cache ?? createDenseCache(runtime, Math.max(tokens.length, 1));
  let position = cache.length(0);
  let totalNll = 0;
  for (let i = 0; i < tokens.length - 1; i++) {
    const logits = runtime.forward(tokens[i], position++, cache);
    const target = tokens[i + 1];
    if (!Number.isInteger(target) || target < 0 || target >= runtime.vocabSize) {
      throw new ModelArgumentError(`sequenceNll: token ${target} at index ${i + 1} is outside the vocabulary [0, ${runtime.vocabSize})`);
    }
    totalNll += logSumExp(logits, runtime.vocabSize) - logits[target];
  }
  const predictedTokens = tokens.length - 1;
  const meanNll = totalNll / predictedTokens;
  return { meanNll, perplexity: Math.exp(meanNll), totalNll, predictedTokens };
}

/** Mean NLL and perplexity over many sequences, each scored from an empty cache, weighting every predicted token equally. */
export function corpusNll(
  runtime: LanguageModelRuntime,
  sequences: readonly (readonly number[])[],
  options: { createCache?: (length: number) => KVCache; onSequence?: (index: number, result: SequenceNll) => void } = {},
): SequenceNll {
  let totalNll = 0;
  let predictedTokens = 0;
  sequences.forEach((tokens, index) => {
    const cache = options.createCache ? options.createCache(tokens.length) : createDenseCache(runtime, tokens.length);
    const result = sequenceNll(runtime, tokens, { cache });
    totalNll += result.totalNll;
    predictedTokens += result.predictedTokens;
    options.onSequence?.(index, result);
  });
  if (predictedTokens === 0) throw new ModelArgumentError("corpusNll: no sequences to score");
  const meanNll = totalNll / predictedTokens;
  return { meanNll, perplexity: Math.exp(meanNll), totalNll, predictedTokens };
}
