import { mulberry32 as createRandom } from "@kvpack/codebook";
import { tokenLogprobs, type TokenLogprob } from "./token-logprobs.js";

/** Sampling settings of one request (OpenAI semantics: temperature 0 is greedy). */
export interface SamplingOptions {
  temperature: number;
  topP: number;
  /** 0: no top-k cut. */
  topK: number;
  seed: number | undefined;
  /** OpenAI penalties on tokens already generated: logit −= count·frequency + (count > 0)·presence. */
  presencePenalty?: number;
  frequencyPenalty?: number;
}


/**
 * Picks the next token from logits: argmax when temperature is 0, otherwise softmax at the
 * temperature, cut to top-k then to the smallest nucleus of mass ≥ top-p, and a seeded draw.
 * Buffers are reused across steps (one sampler per generation).
 */
export class TokenSampler {
  private readonly random: () => number;
  private probabilities: Float32Array;
  private order: Int32Array;
  private readonly counts: Uint32Array | undefined;
  private readonly penalized: Float32Array | undefined;

  constructor(
    private readonly options: SamplingOptions,
    vocabSize: number,
  ) {
    const seed = options.seed ?? Math.floor(Math.random() * 2 ** 32);
    this.random = createRandom(Number(BigInt.asUintN(32, BigInt(seed))));
    this.probabilities = new Float32Array(vocabSize);
    this.order = new Int32Array(vocabSize);
    if ((options.presencePenalty ?? 0) !== 0 || (options.frequencyPenalty ?? 0) !== 0) {
      this.counts = new Uint32Array(vocabSize);
      this.penalized = new Float32Array(vocabSize);
    }
  }

  /** Picks the next token and counts it for the penalties. */
  sample(rawLogits: Float32Array): number {
    return this.sampleWithLogprobs(rawLogits, null).token;
  }

  /**
   * Picks the next token and, when `topN` is not null, reports its log probability and the `topN`
   * most likely tokens from the same logits the draw used: after the penalties, at the temperature.
   */
  sampleWithLogprobs(rawLogits: Float32Array, topN: number | null): { token: number; logprobs: TokenLogprob | undefined } {
    const logits = this.applyPenalties(rawLogits);
    const token = this.pick(logits);
    const logprobs = topN === null ? undefined : tokenLogprobs(logits, this.options.temperature, token, topN);
    if (this.counts && token < this.counts.length) this.counts[token]++;
    return { token, logprobs };
  }

  private applyPenalties(logits: Float32Array): Float32Array {
    const counts = this.counts;
    const penalized = this.penalized;
    if (!counts || !penalized || penalized.length !== logits.length) return logits;
    const presence = this.options.presencePenalty ?? 0;
    const frequency = this.options.frequencyPenalty ?? 0;
    for (let i = 0; i < logits.length; i++) {
      const count = counts[i];
      penalized[i] = count === 0 ? logits[i] : logits[i] - count * frequency - presence;
    }
    return penalized;
  }

  private pick(logits: Float32Array): number {
    const vocabSize = logits.length;
    if (this.options.temperature === 0) return argmax(logits);
    if (this.probabilities.length < vocabSize) {
      this.probabilities = new Float32Array(vocabSize);
      this.order = new Int32Array(vocabSize);
    }
    const probabilities = this.probabilities;
    const inverseTemperature = 1 / this.options.temperature;
    let maximum = -Infinity;
    for (let i = 0; i < vocabSize; i++) if (logits[i] > maximum) maximum = logits[i];
    let sum = 0;
    for (let i = 0; i < vocabSize; i++) {
      const weight = Math.exp((logits[i] - maximum) * inverseTemperature);
      probabilities[i] = weight;
      sum += weight;
    }
    const topK = this.options.topK > 0 ? Math.min(this.options.topK, vocabSize) : vocabSize;
    const topP = this.options.topP;
    if (topK === vocabSize && topP >= 1) return this.draw(probabilities, sum, vocabSize);
    // Sort candidate ids by probability (descending); the vocabulary of the served models is small.
    const order = this.order;
    for (let i = 0; i < vocabSize; i++) order[i] = i;
    const view = order.subarray(0, vocabSize);
    view.sort((a, b) => probabilities[b] - probabilities[a]);
    let kept = 0;
    let mass = 0;
    while (kept < topK) {
      mass += probabilities[view[kept]];
      kept++;
      if (mass >= topP * sum) break;
    }
    let threshold = this.random() * mass;
    for (let i = 0; i < kept; i++) {
      threshold -= probabilities[view[i]];
      if (threshold <= 0) return view[i];
    }
    return view[kept - 1];
  }

  private draw(probabilities: Float32Array, sum: number, vocabSize: number): number {
    let threshold = this.random() * sum;
    for (let i = 0; i < vocabSize; i++) {
      threshold -= probabilities[i];
      if (threshold <= 0) return i;
    }
    return vocabSize - 1;
  }
}

/** First index of the largest logit (run.c greedy semantics: ties go to the lowest id). */
export function argmax(logits: Float32Array): number {
  let best = 0;
  let bestValue = logits[0];
  for (let i = 1; i < logits.length; i++) {
    if (logits[i] > bestValue) {
      bestValue = logits[i];
      best = i;
    }
  }
  return best;
}
