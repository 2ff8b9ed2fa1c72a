import type { Policy } from "@kvpack/cache";
import type { KvConfig } from "./kv-config.js";

/** Eviction policies a request may name in `kvpack.policy`. */
export function availablePolicyNames(): string[] {
  return [];
}

/** Builds the named policy with a token budget (names come from availablePolicyNames). */
export function createPolicy(name: string, budget: number | null, config: KvConfig): Policy {
  throw new Error(`policy ${name} (budget ${budget}, codec ${config.codec}) is not available`);
}
