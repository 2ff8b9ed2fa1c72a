import type { Policy } from "@kvpack/cache";
import { ArkValePolicy, H2oPolicy, SnapKvPolicy, StreamingLlmPolicy, TovaPolicy } from "@kvpack/policies";

/** Token budget when a request names a policy but no `kvpack.budget`. */
export const defaultPolicyBudgetTokens = 128;

const builders: Record<string, (tokens: number) => Policy> = {
  "streaming-llm": (tokens) => new StreamingLlmPolicy({ budget: { tokens } }),
  h2o: (tokens) => new H2oPolicy({ budget: { tokens } }),
  tova: (tokens) => new TovaPolicy({ budget: { tokens } }),
  snapkv: (tokens) => new SnapKvPolicy({ budget: { tokens } }),
  // Pages beyond the budget go to the cache's tier and come back when a query's bound ranks them high.
  arkvale: (tokens) => new ArkValePolicy({ budget: { tokens } }),
};

/** Eviction policies a request may name in `kvpack.policy`. */
export function availablePolicyNames(): string[] {
  return Object.keys(builders);
}

/** Whether the policy pages KV out to a tier (the cache then needs one, and key digests). */
export function policyOffloads(name: string | null): boolean {
  return name === "arkvale";
}

/** Builds the named policy (names come from availablePolicyNames) with its per-head token budget. */
export function createPolicy(name: string, budget: number | null): Policy {
  const build = builders[name];
  if (!build) throw new RangeError(`unknown policy ${name}`);
  return build(budget ?? defaultPolicyBudgetTokens);
}
