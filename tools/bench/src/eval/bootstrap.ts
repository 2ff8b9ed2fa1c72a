import { mulberry32 } from "@kvpack/codebook";

/**
 * Percentile bootstrap over `n` units (stories): resamples the unit indices with replacement
 * `resamples` times and returns the 2.5th and 97.5th percentiles of `statistic(weights)`, where
 * weights[i] counts how often unit i was drawn. Seeded, so the same data give the same interval.
 */
export function bootstrapInterval(n: number, statistic: (weights: Float64Array) => number, resamples = 2000, seed = 0x5eed): [number, number] {
  if (!Number.isInteger(n) || n < 1) throw new Error(`bootstrap needs at least one unit, got ${n}`);
  const next = mulberry32(seed);
  const weights = new Float64Array(n);
  const values = new Float64Array(resamples);
  for (let resample = 0; resample < resamples; resample++) {
    weights.fill(0);
    for (let draw = 0; draw < n; draw++) weights[Math.floor(next() * n)] += 1;
    values[resample] = statistic(weights);
  }
  values.sort();
  const at = (quantile: number) => values[Math.min(resamples - 1, Math.max(0, Math.round(quantile * (resamples - 1))))];
  return [at(0.025), at(0.975)];
}

/** Per-story sums of one cache run (and its dense reference) on the same stories. */
export interface StoryTotals {
  readonly nll: readonly number[];
  readonly denseNll: readonly number[];
  readonly tokens: readonly number[];
}

/** Token-weighted perplexity of a resample: exp(Σ wᵢ·nllᵢ / Σ wᵢ·tokensᵢ). */
export function weightedPerplexity(nll: readonly number[], tokens: readonly number[], weights: Float64Array): number {
  let sum = 0;
  let count = 0;
  for (let index = 0; index < weights.length; index++) {
    sum += weights[index] * nll[index];
    count += weights[index] * tokens[index];
  }
  return Math.exp(sum / count);
}

/** 95 % interval of Δppl = ppl(cache) − ppl(dense) over stories (paired: the same resample for both). */
export function perplexityDeltaInterval(run: StoryTotals): [number, number] {
  return bootstrapInterval(run.tokens.length, (weights) => weightedPerplexity(run.nll, run.tokens, weights) - weightedPerplexity(run.denseNll, run.tokens, weights));
}

/** 95 % interval of ppl(A) − ppl(B) = Δppl(A) − Δppl(B), A and B run on the same stories (paired resample). */
export function pairedDifferenceInterval(a: StoryTotals, b: StoryTotals): [number, number] {
  if (a.tokens.length !== b.tokens.length) throw new Error("paired bootstrap needs the same stories for both runs");
  return bootstrapInterval(a.tokens.length, (weights) => weightedPerplexity(a.nll, a.tokens, weights) - weightedPerplexity(b.nll, b.tokens, weights));
}
