import type { CodecKind, CodecSpec, NormFormat } from "@kvpack/codecs";
import type { ServerConfig } from "../config/server-config.js";
import { ApiError } from "../http/api-error.js";
import type { KvpackOptions } from "../openai/request-schemas.js";

/** How one request's KV cache is built: fully resolved (defaults applied) and validated. */
export interface KvConfig {
  readonly codec: CodecKind;
  /** Bits per key / value coordinate; fixed by the codec for fp32, fp16 and int8. */
  readonly keyBits: number;
  readonly valueBits: number;
  /** Policy name, or null for no eviction. */
  readonly policy: string | null;
  /** Token budget of the policy. */
  readonly budget: number | null;
  readonly residualWindow: number;
  readonly norm: NormFormat;
}

interface RateRule {
  fixed?: number;
  /** Default bits for keys and for values. */
  defaultBits: { key: number; value: number };
  accepts(bits: number): boolean;
  describe: string;
}

const rateRules: Record<CodecKind, RateRule> = {
  fp32: { fixed: 32, defaultBits: { key: 32, value: 32 }, accepts: (bits) => bits === 32, describe: "32 (fixed)" },
  fp16: { fixed: 16, defaultBits: { key: 16, value: 16 }, accepts: (bits) => bits === 16, describe: "16 (fixed)" },
  int8: { fixed: 8, defaultBits: { key: 8, value: 8 }, accepts: (bits) => bits === 8, describe: "8 (fixed)" },
  kivi: { defaultBits: { key: 2, value: 2 }, accepts: (bits) => bits === 2 || bits === 4, describe: "2 or 4" },
  quarot: { defaultBits: { key: 4, value: 4 }, accepts: (bits) => bits === 2 || bits === 3 || bits === 4, describe: "2, 3 or 4" },
  // Keys steer attention and need more bits than values: on stories260K, k6/v4 keeps greedy text
  // equal to fp32 for ~375 of 457 characters where k4/v4 keeps 86, at 4× less KV than fp32.
  turboquant: { defaultBits: { key: 6, value: 4 }, accepts: (bits) => Number.isInteger(bits) && bits >= 1 && bits <= 8, describe: "an integer from 1 to 8" },
  fibquant: {
    defaultBits: { key: 2, value: 2 },
    // Each rate builds a codebook once per process (0.5–3 s of Lloyd training, blocking), so the
    // set of rates a client can ask for is kept small: 0.25 and half-bit steps up to 4.
    accepts: (bits) => bits === 0.25 || (bits >= 0.5 && bits <= 4 && Number.isInteger(bits * 2)),
    describe: "0.25, or 0.5 to 4 in steps of 0.5",
  },
};

export const supportedCodecs: readonly CodecKind[] = Object.keys(rateRules) as CodecKind[];

export function describeRates(): Record<string, string> {
  return Object.fromEntries(supportedCodecs.map((kind) => [kind, rateRules[kind].describe]));
}

function resolveBits(codec: CodecKind, requested: number | undefined, fallback: number | undefined, param: string): number {
  const rule = rateRules[codec];
  const bits = requested ?? (rule.fixed ?? fallback ?? rule.defaultBits[param.endsWith("keyBits") ? "key" : "value"]);
  if (!rule.accepts(bits)) {
    throw new ApiError(400, `codec ${codec} does not support ${bits} bits for ${param.endsWith("keyBits") ? "keys" : "values"}; supported: ${rule.describe}`, {
      param,
      code: "unsupported_rate",
    });
  }
  return bits;
}

/** Merges the request's `kvpack` options over the server defaults; a bad codec, rate or policy is a 400. */
export function resolveKvConfig(options: KvpackOptions | null | undefined, defaults: ServerConfig["kv"]["defaults"], knownPolicies: readonly string[]): KvConfig {
  const requestedCodec = options?.codec === "dense" ? "fp32" : options?.codec;
  const codec: CodecKind = requestedCodec ?? defaults.codec;
  if (!(codec in rateRules)) throw new ApiError(400, `unsupported codec ${String(codec)}; supported: ${supportedCodecs.join(", ")}`, { param: "kvpack.codec", code: "unsupported_codec" });
  // Server default rates apply only to the server default codec.
  const sameAsDefault = codec === defaults.codec;
  const keyBits = resolveBits(codec, options?.keyBits, sameAsDefault ? defaults.keyBits : undefined, "kvpack.keyBits");
  const valueBits = resolveBits(codec, options?.valueBits, sameAsDefault ? defaults.valueBits : undefined, "kvpack.valueBits");
  let policy = options?.policy ?? null;
  if (policy === "none" || policy === "no-eviction") policy = null;
  if (policy !== null && !knownPolicies.includes(policy)) {
    throw new ApiError(400, `unknown policy ${policy}; supported: none, ${knownPolicies.join(", ")}`, { param: "kvpack.policy", code: "unsupported_policy" });
  }
  const budget = options?.budget ?? null;
  if (budget !== null && policy === null) {
    throw new ApiError(400, "kvpack.budget needs a kvpack.policy that evicts (a token budget without a policy would never be enforced)", {
      param: "kvpack.budget",
      code: "invalid_value",
    });
  }
  return { codec, keyBits, valueBits, policy, budget, residualWindow: options?.residualWindow ?? defaults.residualWindow, norm: options?.norm ?? defaults.norm };
}

/** Canonical string of everything that changes the bytes of cached pages (prefix and session keys). */
export function kvConfigKey(config: KvConfig): string {
  return `${config.codec}:k${config.keyBits}:v${config.valueBits}:n${config.norm}:r${config.residualWindow}:p${config.policy ?? "none"}:b${config.budget ?? 0}`;
}

/** Codec specs for keys and values of one KV head (`dimension` = headDim). */
export function codecSpecsFor(config: KvConfig, dimension: number, pageTokens: number): { keys: CodecSpec; values: CodecSpec } {
  return {
    keys: codecSpec(config.codec, config.keyBits, dimension, "key", pageTokens, config.norm),
    values: codecSpec(config.codec, config.valueBits, dimension, "value", pageTokens, config.norm),
  };
}

function codecSpec(kind: CodecKind, bits: number, dimension: number, role: "key" | "value", pageTokens: number, norm: NormFormat): CodecSpec {
  switch (kind) {
    case "fp32":
    case "fp16":
    case "int8":
      return { kind, dimension };
    case "kivi":
      // Key groups span one page of tokens, so every page is one complete KIVI group.
      return { kind, dimension, bits: bits as 2 | 4, role, groupSize: role === "key" ? pageTokens : Math.min(dimension, 32) };
    case "quarot":
      return { kind, dimension, bits: bits as 2 | 3 | 4 };
    case "turboquant":
      return { kind, dimension, bits, norm };
    case "fibquant":
      // Sub-bit rates need longer blocks to keep N = round(2^(k·b)) ≥ 2.
      return { kind, dimension, bits, blockSize: bits < 1 ? 4 : 2, norm };
  }
}
