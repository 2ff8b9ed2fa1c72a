import { PolicyConfigurationError } from "./policy-errors.js";

/**
 * How many tokens a policy keeps resident (per layer × KV head): a fixed count, or a fraction of
 * the tokens cached so far (at least `minimum`). `layerWeights` scales the budget per layer
 * (PyramidKV); weights should average 1 so the total matches the uniform budget.
 */
export type TokenBudget =
  | { readonly tokens: number; readonly layerWeights?: readonly number[] }
  | { readonly fraction: number; readonly minimum?: number; readonly layerWeights?: readonly number[] };

export function checkTokenBudget(budget: TokenBudget, layers?: number): void {
  if ("tokens" in budget) {
    if (!(Number.isInteger(budget.tokens) && budget.tokens > 0)) {
      throw new PolicyConfigurationError(`budget.tokens must be a positive integer, got ${budget.tokens}`);
    }
  } else {
    if (!(budget.fraction > 0 && budget.fraction <= 1)) {
      throw new PolicyConfigurationError(`budget.fraction must be in (0, 1], got ${budget.fraction}`);
    }
    const minimum = budget.minimum ?? 0;
    if (!(Number.isInteger(minimum) && minimum >= 0)) throw new PolicyConfigurationError(`budget.minimum must be a non-negative integer, got ${minimum}`);
  }
  const weights = budget.layerWeights;
  if (weights !== undefined) {
    for (const weight of weights) {
      if (!(weight > 0 && Number.isFinite(weight))) throw new PolicyConfigurationError(`budget.layerWeights must be positive and finite, got ${weight}`);
    }
    if (layers !== undefined && weights.length !== layers) {
      throw new PolicyConfigurationError(`budget.layerWeights has ${weights.length} entries, the cache has ${layers} layers`);
    }
  }
}

/** Tokens layer `layer` may keep when `length` tokens are cached (never more than `length`). */
export function budgetTokens(budget: TokenBudget, layer: number, length: number): number {
  const weight = budget.layerWeights?.[layer] ?? 1;
  let tokens: number;
  if ("tokens" in budget) {
    tokens = Math.round(budget.tokens * weight);
  } else {
    tokens = Math.max(budget.minimum ?? 0, Math.ceil(budget.fraction * weight * length));
  }
  return Math.max(1, Math.min(length, tokens));
}
