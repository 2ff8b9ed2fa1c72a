/** Log probability of one token, with the `top` most likely alternatives (highest first). */
export interface TokenLogprob {
  readonly id: number;
  readonly logprob: number;
  readonly top: readonly { readonly id: number; readonly logprob: number }[];
}

/**
 * Log-softmax of `logits` at `temperature` (the distribution sampling draws from, before the
 * top-k / top-p cut, as OpenAI reports it), evaluated for `chosen` and for the `topN` largest
 * logits. Temperature 0 (greedy) reports the distribution at temperature 1. Two passes over the
 * vocabulary and a `topN`-long insertion list: no per-element allocation.
 */
export function tokenLogprobs(logits: Float32Array, temperature: number, chosen: number, topN: number): TokenLogprob {
  const scale = temperature > 0 ? 1 / temperature : 1;
  let maximum = -Infinity;
  for (let i = 0; i < logits.length; i++) if (logits[i] > maximum) maximum = logits[i];
  let sum = 0;
  for (let i = 0; i < logits.length; i++) sum += Math.exp((logits[i] - maximum) * scale);
  const logNormalizer = maximum * scale + Math.log(sum);
  const logprobOf = (id: number): number => logits[id] * scale - logNormalizer;
  const count = Math.min(topN, logits.length);
  const ids = new Int32Array(count);
  let filled = 0;
  for (let i = 0; i < logits.length && count > 0; i++) {
    const value = logits[i];
    if (filled === count && value <= logits[ids[count - 1]]) continue;
    // Insert i keeping ids sorted by logit, descending (ties: lower id first).
    let slot = filled < count ? filled++ : count - 1;
    while (slot > 0 && logits[ids[slot - 1]] < value) {
      ids[slot] = ids[slot - 1];
      slot--;
    }
    ids[slot] = i;
  }
  const top: { id: number; logprob: number }[] = [];
  for (let i = 0; i < count; i++) top.push({ id: ids[i], logprob: logprobOf(ids[i]) });
  return { id: chosen, logprob: logprobOf(chosen), top };
}
