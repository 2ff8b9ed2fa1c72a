import { ModelArgumentError } from "../model/model-format-error.js";
import { SeededRandom } from "./seeded-random.js";

export interface SamplingOptions {
  /** 0 means greedy (argmax); default 1. */
  readonly temperature?: number;
  /** Keep only the k most likely tokens (0 or undefined: all). */
  readonly topK?: number;
  /** Nucleus sampling: keep the smallest set of tokens whose probability exceeds topP (1 or undefined: all). */
  readonly topP?: number;
  /** Seed of the run.c xorshift* generator; default 42. */
  readonly seed?: number;
}

/**
 * Picks the next token from logits: greedy, or temperature + top-k + top-p sampling in the order
 * run.c uses (softmax of logits/temperature, nucleus cut, one uniform draw). Buffers are preallocated.
 */
export class Sampler {
  readonly temperature: number;
  readonly topK: number;
  readonly topP: number;
  private readonly random: SeededRandom;
  private readonly probabilities: Float64Array;
  private readonly order: Int32Array;

  constructor(vocabSize: number, options: SamplingOptions = {}) {
    const temperature = options.temperature ?? 1;
    const topK = options.topK ?? 0;
    const topP = options.topP ?? 1;
    if (!(Number.isFinite(temperature) && temperature >= 0)) throw new ModelArgumentError(`temperature must be a finite number ≥ 0, got ${temperature}`);
    if (!(Number.isInteger(topK) && topK >= 0)) throw new ModelArgumentError(`topK must be a non-negative integer, got ${topK}`);
    if (!(Number.isFinite(topP) && topP > 0 && topP <= 1)) throw new ModelArgumentError(`topP must be in (0, 1], got ${topP}`);
    this.temperature = temperature;
    this.topK = topK >= vocabSize ? 0 : topK;
    this.topP = topP;
    this.random = new SeededRandom(options.seed ?? 42);
    this.probabilities = new Float64Array(vocabSize);
    this.order = new Int32Array(vocabSize);
  }

  sample(logits: Float32Array): number {
    const size = this.probabilities.length;
    if (this.temperature === 0) return argmax(logits, size);
    const probabilities = this.probabilities;
    let maximum = -Infinity;
    for (let i = 0; i < size; i++) {
      const value = logits[i];
      if (value !== value) throw new ModelArgumentError(`sample: logit ${i} is NaN`);
      if (value > maximum) maximum = value;
    }
    let sum = 0;
    for (let i = 0; i < size; i++) {
      const weight = Math.exp((logits[i] - maximum) / this.temperature);
      probabilities[i] = weight;
      sum += weight;
    }
    for (let i = 0; i < size; i++) probabilities[i] /= sum;
    const coin = this.random.nextFloat();
    if (this.topK === 0 && this.topP >= 1) return sampleMultinomial(probabilities, size, coin);
    return this.sampleTruncated(coin);
  }

  // Sort candidates by probability (descending), keep the first topK and then the nucleus, renormalise, draw.
  private sampleTruncated(coin: number): number {
    const { probabilities, order } = this;
    const size = probabilities.length;
    let candidates = 0;
    // run.c's trick: tokens below (1 − topP)/(n − 1) cannot be in the nucleus, so skip sorting them.
    const cutoff = this.topP < 1 ? (1 - this.topP) / (size - 1) : 0;
    for (let i = 0; i < size; i++) if (probabilities[i] >= cutoff) order[candidates++] = i;
    const sorted = order.subarray(0, candidates).sort((a, b) => probabilities[b] - probabilities[a] || a - b);
    let kept = this.topK > 0 ? Math.min(this.topK, candidates) : candidates;
    let cumulative = 0;
    for (let i = 0; i < kept; i++) {
      cumulative += probabilities[sorted[i]];
      if (this.topP < 1 && cumulative > this.topP) {
        kept = i + 1;
        break;
      }
    }
    const target = coin * cumulative;
    let running = 0;
    for (let i = 0; i < kept; i++) {
      running += probabilities[sorted[i]];
      if (target < running) return sorted[i];
    }
    return sorted[kept - 1];
  }
}

/** Index of the largest logit (first on ties, like run.c). */
export function argmax(logits: Float32Array, size = logits.length): number {
  let best = 0;
  for (let i = 1; i < size; i++) if (logits[i] > logits[best]) best = i;
  return best;
}

function sampleMultinomial(probabilities: Float64Array, size: number, coin: number): number {
  let cumulative = 0;
  for (let i = 0; i < size; i++) {
    cumulative += probabilities[i];
    if (coin < cumulative) return i;
  }
  return size - 1;
}
