import type { Policy, PolicyAction } from "./policy.js";

/** The default policy: keeps every token at the configured rate, never offloads or drops. */
export class NoEvictionPolicy implements Policy {
  readonly name = "no-eviction";

  decide(): readonly PolicyAction[] {
    return [];
  }
}
