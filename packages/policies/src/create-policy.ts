import type { Policy } from "@kvpack/cache";
import { ArkValePolicy } from "./arkvale-policy.js";
import { H2oPolicy } from "./h2o-policy.js";
import { type KvTunerConfig, KvTunerPolicy } from "./kvtuner.js";
import type { CodecSpecFor } from "./low-precision.js";
import { MiKvPolicy } from "./mikv-policy.js";
import { MiniCachePolicy } from "./minicache-policy.js";
import { PolicyConfigurationError } from "./policy-errors.js";
import { PyramidKvPolicy } from "./pyramidkv-policy.js";
import { AnTkvPolicy, ZipCachePolicy } from "./saliency-precision-policy.js";
import { ShadowKvPolicy } from "./shadowkv-policy.js";
import { SnapKvPolicy } from "./snapkv-policy.js";
import { StreamingLlmPolicy } from "./streaming-llm-policy.js";
import type { TokenBudget } from "./token-budget.js";
import { TovaPolicy } from "./tova-policy.js";

export const policyNames = [
  "streaming-llm",
  "h2o",
  "snapkv",
  "tova",
  "arkvale",
  "arkvale-no-recall",
  "mikv",
  "zipcache",
  "antkv",
  "pyramidkv",
  "kvtuner",
  "minicache",
  "shadowkv",
] as const;

export type PolicyName = (typeof policyNames)[number];

export interface CreatePolicyOptions {
  /** Token budget (eviction and paging policies) or high-precision share (MiKV; ZipCache/AnTKV use its fraction). Default: half the tokens. */
  readonly budget?: TokenBudget;
  /** Model layers (PyramidKV). */
  readonly layers?: number;
  /** Codecs for demoted tokens (MiKV, ZipCache, AnTKV; default 2-bit KIVI). */
  readonly lowKeys?: CodecSpecFor;
  readonly lowValues?: CodecSpecFor;
  /** Saved KVTuner configuration (kvtuner). */
  readonly kvTunerConfig?: KvTunerConfig;
}

/** What the cache must provide for a policy: key digests (ArkVale) and a tier to offload to. */
export function policyRequirements(name: PolicyName): { readonly keyDigests: boolean; readonly tier: boolean } {
  const paging = name === "arkvale" || name === "arkvale-no-recall" || name === "shadowkv";
  return { keyDigests: name === "arkvale" || name === "arkvale-no-recall", tier: paging };
}

export function isPolicyName(name: string): name is PolicyName {
  return (policyNames as readonly string[]).includes(name);
}

/** Builds a policy by name (for servers, CLIs and benchmarks). */
export function createPolicy(name: string, options: CreatePolicyOptions = {}): Policy {
  const budget = options.budget ?? { fraction: 0.5, minimum: 16 };
  const fraction = "fraction" in budget ? budget.fraction : undefined;
  switch (name) {
    case "streaming-llm":
      return new StreamingLlmPolicy({ budget });
    case "h2o":
      return new H2oPolicy({ budget });
    case "snapkv":
      return new SnapKvPolicy({ budget });
    case "tova":
      return new TovaPolicy({ budget });
    case "arkvale":
      return new ArkValePolicy({ budget });
    case "arkvale-no-recall":
      return new ArkValePolicy({ budget, recall: false });
    case "shadowkv":
      return new ShadowKvPolicy({ budget });
    case "mikv":
      return new MiKvPolicy({ budget, lowKeys: options.lowKeys, lowValues: options.lowValues });
    case "zipcache":
    case "antkv": {
      if (fraction === undefined) throw new PolicyConfigurationError(`${name} needs a fractional budget (the share of tokens kept at high precision)`);
      const settings = { highPrecisionFraction: fraction, lowKeys: options.lowKeys, lowValues: options.lowValues };
      return name === "zipcache" ? new ZipCachePolicy(settings) : new AnTkvPolicy(settings);
    }
    case "pyramidkv":
      if (options.layers === undefined) throw new PolicyConfigurationError("pyramidkv needs the model's layer count (options.layers)");
      return new PyramidKvPolicy({ budget, layers: options.layers });
    case "kvtuner":
      if (options.kvTunerConfig === undefined) throw new PolicyConfigurationError("kvtuner needs a calibrated configuration (options.kvTunerConfig)");
      return new KvTunerPolicy(options.kvTunerConfig);
    case "minicache":
      return new MiniCachePolicy();
    default:
      throw new PolicyConfigurationError(`unknown policy "${name}"; known: ${policyNames.join(", ")}`);
  }
}
