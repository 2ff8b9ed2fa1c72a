import { PolicyConfigurationError } from "./policy-errors.js";

/**
 * PyramidKV layer weights: budgets shrink linearly from the bottom layer to the top, averaging 1
 * (so the total equals a uniform budget). With an average budget b, the top layer keeps b/β and the
 * bottom 2b − b/β, as in the paper; β = 20 there.
 * Source: Cai et al. 2024, "PyramidKV: Dynamic KV Cache Compression based on Pyramidal Information Funneling" (arXiv:2406.02069).
 */
export function pyramidLayerWeights(layers: number, beta = 20): number[] {
  if (!(Number.isInteger(layers) && layers > 0)) throw new PolicyConfigurationError(`layers must be a positive integer, got ${layers}`);
  if (!(beta >= 1 && Number.isFinite(beta))) throw new PolicyConfigurationError(`beta must be ≥ 1, got ${beta}`);
  if (layers === 1) return [1];
  const top = 1 / beta;
  const bottom = 2 - top;
  return Array.from({ length: layers }, (_, layer) => bottom - (layer * (bottom - top)) / (layers - 1));
}
