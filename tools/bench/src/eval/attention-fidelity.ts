/**
 * Attention fidelity of a compressed KV cache against the dense one, for one query at a time:
 * dense o = softmax(q·Kᵀ/√d)·V versus ô from the codec's compressed path (scores from codes,
 * softmax, accumulate in the codec's domain, finishAccumulator). See codec-spec.md, "Attention fidelity metric".
 */
import type { Codec, EncodedBlock } from "@kvpack/codecs";

export class AttentionFidelityError extends Error {
  override readonly name = "AttentionFidelityError";
  static isInstance(error: unknown): error is AttentionFidelityError {
    return error instanceof Error && error.name === "AttentionFidelityError";
  }
}

function checkFinite(name: string, value: number): number {
  if (!Number.isFinite(value)) throw new AttentionFidelityError(`${name} is not finite (${value})`);
  return value;
}

/** cos(a, b) over the first `length` entries; 1 when both are zero, 0 when exactly one is. */
export function cosineSimilarity(a: ArrayLike<number>, b: ArrayLike<number>, length = a.length): number {
  if (a.length < length || b.length < length) throw new AttentionFidelityError(`cosineSimilarity needs ${length} entries, got ${a.length} and ${b.length}`);
  let dot = 0;
  let normA = 0;
  let normB = 0;
  for (let index = 0; index < length; index++) {
    dot += a[index] * b[index];
    normA += a[index] * a[index];
    normB += b[index] * b[index];
  }
  if (normA === 0 && normB === 0) return 1;
  if (normA === 0 || normB === 0) return 0;
  return checkFinite("cosine", dot / Math.sqrt(normA * normB));
}

export function meanSquaredError(a: ArrayLike<number>, b: ArrayLike<number>, length = a.length): number {
  if (length < 1 || a.length < length || b.length < length) throw new AttentionFidelityError(`meanSquaredError needs ${length} ≥ 1 entries, got ${a.length} and ${b.length}`);
  let sum = 0;
  for (let index = 0; index < length; index++) {
    const difference = a[index] - b[index];
    sum += difference * difference;
  }
  return checkFinite("mean squared error", sum / length);
}

/** out[i] = log softmax(logits)[i] for i < length, in float64. */
export function logSoftmax(logits: ArrayLike<number>, length: number, out: Float64Array): Float64Array {
  if (length < 1 || logits.length < length || out.length < length) throw new AttentionFidelityError(`logSoftmax needs ${length} ≥ 1 entries`);
  let maximum = -Infinity;
  for (let index = 0; index < length; index++) if (logits[index] > maximum) maximum = logits[index];
  checkFinite("largest logit", maximum);
  let sum = 0;
  for (let index = 0; index < length; index++) sum += Math.exp(logits[index] - maximum);
  const logSum = maximum + Math.log(sum);
  for (let index = 0; index < length; index++) out[index] = logits[index] - logSum;
  return out;
}

/** Index of the largest entry (the first one on ties): top-1 of a distribution. */
export function argmax(values: ArrayLike<number>): number {
  let best = 0;
  for (let index = 1; index < values.length; index++) if (values[index] > values[best]) best = index;
  return best;
}

/** KL(P‖Q) = Σ pᵢ (log pᵢ − log qᵢ) from log-probabilities (natural log, nats). */
export function klDivergenceFromLogProbabilities(logP: ArrayLike<number>, logQ: ArrayLike<number>, length: number): number {
  let sum = 0;
  for (let index = 0; index < length; index++) {
    const p = Math.exp(logP[index]);
    if (p > 0) sum += p * (logP[index] - logQ[index]);
  }
  // Rounding can leave a tiny negative value for identical distributions; KL itself is ≥ 0.
  return checkFinite("KL divergence", Math.max(0, sum));
}

/** Value at quantile `fraction` ∈ [0, 1] (nearest rank on the sorted values). */
export function percentile(values: ArrayLike<number>, fraction: number): number {
  if (values.length === 0) throw new AttentionFidelityError("percentile of no values");
  if (!(fraction >= 0 && fraction <= 1)) throw new AttentionFidelityError(`percentile fraction must be in [0, 1], got ${fraction}`);
  const sorted = Float64Array.from(values).sort();
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(fraction * sorted.length) - 1))];
}

/** `count` query positions of a sequence of `length`, evenly spaced and always including the last one. */
export function queryPositions(length: number, count: number): number[] {
  if (!Number.isInteger(length) || length < 1 || !Number.isInteger(count) || count < 1) {
    throw new AttentionFidelityError(`queryPositions needs positive integers, got length ${length} and count ${count}`);
  }
  const taken = Math.min(count, length);
  const positions: number[] = [];
  for (let index = 0; index < taken; index++) positions.push(Math.floor(((index + 1) * length) / taken) - 1);
  return positions;
}

export interface FidelitySummary {
  /** Mean attention-output cosine over every (query, head, layer) seen. */
  readonly attentionCosine: number;
  /** 1st percentile of the same cosines (the bad tail). */
  readonly cosineP01: number;
  /** Mean squared error of the scaled scores q·k/√d (the softmax logits), averaged per query over its prefix. */
  readonly scoreMse: number;
  /** Mean KL(dense softmax ‖ compressed softmax), nats. */
  readonly kl: number;
  readonly queries: number;
}

/** Collects per-query metrics and summarizes them. */
export class FidelityAccumulator {
  private cosines: number[] = [];
  private scoreErrorSum = 0;
  private klSum = 0;

  add(cosine: number, scoreMse: number, kl: number): void {
    this.cosines.push(checkFinite("cosine", cosine));
    this.scoreErrorSum += checkFinite("score MSE", scoreMse);
    this.klSum += checkFinite("KL", kl);
  }

  summary(): FidelitySummary {
    const count = this.cosines.length;
    if (count === 0) throw new AttentionFidelityError("no queries were measured");
    const mean = this.cosines.reduce((sum, value) => sum + value, 0) / count;
    return { attentionCosine: mean, cosineP01: percentile(this.cosines, 0.01), scoreMse: this.scoreErrorSum / count, kl: this.klSum / count, queries: count };
  }
}

/** Scratch buffers for {@link measureAttentionFidelity}, sized for prefixes up to `capacity` tokens. */
export class AttentionScratch {
  readonly denseLogits: Float64Array;
  readonly compressedLogits: Float32Array;
  readonly denseLog: Float64Array;
  readonly compressedLog: Float64Array;
  readonly weights: Float32Array;
  readonly pageScores: Float32Array;
  readonly denseOutput: Float64Array;
  readonly compressedOutput: Float32Array;
  readonly accumulator: Float32Array;
  readonly query: Float32Array;

  constructor(
    readonly capacity: number,
    readonly dimension: number,
    readonly pageSize: number,
  ) {
    this.denseLogits = new Float64Array(capacity);
    this.compressedLogits = new Float32Array(capacity);
    this.denseLog = new Float64Array(capacity);
    this.compressedLog = new Float64Array(capacity);
    this.weights = new Float32Array(pageSize);
    this.pageScores = new Float32Array(pageSize);
    this.denseOutput = new Float64Array(dimension);
    this.compressedOutput = new Float32Array(dimension);
    this.accumulator = new Float32Array(dimension);
    this.query = new Float32Array(dimension);
  }
}

/** One KV head's sequence, dense and compressed (pages of `pageSize` rows; the last page may hold future rows). */
export interface HeadSequence {
  /** length × dimension */
  readonly keys: Float32Array;
  readonly values: Float32Array;
  readonly keyPages: readonly EncodedBlock[];
  readonly valuePages: readonly EncodedBlock[];
}

/** Encodes `length` rows in pages of `pageSize` (the last page partial). */
export function encodePages(codec: Codec, vectors: Float32Array, length: number, dimension: number, pageSize: number): EncodedBlock[] {
  const pages: EncodedBlock[] = [];
  for (let start = 0; start < length; start += pageSize) {
    const count = Math.min(pageSize, length - start);
    pages.push(codec.encode(vectors.subarray(start * dimension, (start + count) * dimension), count, dimension));
  }
  return pages;
}

export interface QueryFidelity {
  readonly cosine: number;
  readonly scoreMse: number;
  readonly kl: number;
}

/**
 * Attention of `query` over rows 0..prefixLength−1 of `head`: dense (float64) against the compressed
 * path (keyCodec.scores on the key pages, softmax, valueCodec.accumulate on the value pages with
 * zero weight past the prefix, finishAccumulator).
 */
export function measureAttentionFidelity(
  query: Float32Array,
  head: HeadSequence,
  prefixLength: number,
  keyCodec: Codec,
  valueCodec: Codec,
  scratch: AttentionScratch,
): QueryFidelity {
  const { dimension, pageSize } = scratch;
  if (prefixLength < 1 || prefixLength > scratch.capacity || prefixLength * dimension > head.keys.length) {
    throw new AttentionFidelityError(`prefix length ${prefixLength} is outside [1, ${Math.min(scratch.capacity, head.keys.length / dimension)}]`);
  }
  const scale = 1 / Math.sqrt(dimension);
  const { denseLogits, compressedLogits, denseLog, compressedLog, weights, pageScores, denseOutput, compressedOutput, accumulator } = scratch;

  for (let row = 0; row < prefixLength; row++) {
    let dot = 0;
    for (let column = 0; column < dimension; column++) dot += query[column] * head.keys[row * dimension + column];
    denseLogits[row] = dot * scale;
  }
  const prepared = keyCodec.prepareQuery(query);
  const pages = Math.ceil(prefixLength / pageSize);
  for (let page = 0; page < pages; page++) {
    const block = head.keyPages[page];
    keyCodec.scores(prepared, block, pageScores);
    const rows = Math.min(block.count, prefixLength - page * pageSize);
    for (let row = 0; row < rows; row++) compressedLogits[page * pageSize + row] = pageScores[row] * scale;
  }

  logSoftmax(denseLogits, prefixLength, denseLog);
  logSoftmax(compressedLogits, prefixLength, compressedLog);
  denseOutput.fill(0);
  for (let row = 0; row < prefixLength; row++) {
    const weight = Math.exp(denseLog[row]);
    for (let column = 0; column < dimension; column++) denseOutput[column] += weight * head.values[row * dimension + column];
  }
  accumulator.fill(0);
  for (let page = 0; page < pages; page++) {
    const block = head.valuePages[page];
    weights.fill(0);
    const rows = Math.min(block.count, prefixLength - page * pageSize);
    for (let row = 0; row < rows; row++) weights[row] = Math.exp(compressedLog[page * pageSize + row]);
    valueCodec.accumulate(weights, block, accumulator);
  }
  valueCodec.finishAccumulator(accumulator, compressedOutput);

  return {
    cosine: cosineSimilarity(denseOutput, compressedOutput, dimension),
    scoreMse: meanSquaredError(denseLogits, compressedLogits, prefixLength),
    kl: klDivergenceFromLogProbabilities(denseLog, compressedLog, prefixLength),
  };
}
