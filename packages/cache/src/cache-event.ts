import type { CorruptPageError } from "./errors.js";
import type { PolicyAction } from "./policy.js";

/** Things a compressed cache reports without throwing from the hot path (`onEvent` option). */
export type CacheEvent =
  /** A page read from a tier failed verification; it was not used. Recompute its tokens. */
  | {
      readonly type: "corrupt-page";
      readonly layer: number;
      readonly kvHead: number;
      readonly pageId: number | undefined;
      readonly tier: string;
      readonly key: string;
      readonly error: CorruptPageError;
    }
  /** A page expected in a tier was absent. */
  | {
      readonly type: "page-missing";
      readonly layer: number;
      readonly kvHead: number;
      readonly pageId: number | undefined;
      readonly tier: string;
      readonly key: string;
    }
  | { readonly type: "page-offloaded"; readonly layer: number; readonly kvHead: number; readonly pageId: number; readonly tier: string; readonly key: string }
  | { readonly type: "page-recalled"; readonly layer: number; readonly kvHead: number; readonly pageId: number; readonly tier: string; readonly key: string }
  /** An action the policy asked for failed (the cache is unchanged by it). */
  | { readonly type: "policy-action-failed"; readonly action: PolicyAction; readonly error: unknown };

export type CacheEventListener = (event: CacheEvent) => void;
