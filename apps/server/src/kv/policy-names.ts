/** Eviction policies a request may name in `kvpack.policy`. */
export function availablePolicyNames(): string[] {
  return [];
}
