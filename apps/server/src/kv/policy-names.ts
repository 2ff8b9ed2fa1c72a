import type { Policy } from "@kvpack/cache";
import { createPolicy as createNamedPolicy, isPolicyName, policyRequirements, type PolicyName } from "@kvpack/policies";

/** Token budget when a request names a policy but no `kvpack.budget`. */
export const defaultPolicyBudgetTokens = 128;

/**
 * The policies a request may name: the ones that work with a per-head token budget alone (the others
 * need calibration configs or low-precision codec choices the request shape does not carry).
 */
const servedPolicies: readonly PolicyName[] = ["streaming-llm", "h2o", "tova", "snapkv", "arkvale"];

/** Eviction policies a request may name in `kvpack.policy`. */
export function availablePolicyNames(): string[] {
  return [...servedPolicies];
}

/** Whether the policy pages KV out to a tier (the cache then needs one, and key digests). */
export function policyOffloads(name: string | null): boolean {
  return name !== null && isPolicyName(name) && policyRequirements(name).tier;
}

/** Builds the named policy (names come from availablePolicyNames) with its per-head token budget. */
export function createPolicy(name: string, budget: number | null): Policy {
  if (!(servedPolicies as readonly string[]).includes(name)) throw new RangeError(`unknown policy ${name}`);
  return createNamedPolicy(name, { budget: { tokens: budget ?? defaultPolicyBudgetTokens } });
}
