// The codecs and policies the benchmark crosses (each filterable by an environment variable).
import type { Policy } from "@kvpack/cache";
import type { CodecSpec } from "@kvpack/codecs";
import { AnTkvPolicy, ArkValePolicy, H2oPolicy, type KvTunerConfig, KvTunerPolicy, MiKvPolicy, MiniCachePolicy, PyramidKvPolicy, ShadowKvPolicy, SnapKvPolicy, StreamingLlmPolicy, type TokenBudget, TovaPolicy, ZipCachePolicy, type PolicyName } from "@kvpack/policies";
import { budgets, arkvaleChosen } from "./settings.js";

export interface CodecCase {
  readonly name: string;
  readonly spec: (dimension: number) => CodecSpec;
}

export const allCodecCases: CodecCase[] = [
  { name: "fp16", spec: (dimension) => ({ kind: "fp16", dimension }) },
  { name: "turboquant-4", spec: (dimension) => ({ kind: "turboquant", dimension, bits: 4 }) },
  { name: "fibquant-3", spec: (dimension) => ({ kind: "fibquant", dimension, bits: 3, blockSize: 2 }) },
];

/** Comma-separated filter from an environment variable (all when unset). */
function selected<T extends { name: string }>(cases: T[], variable: string): T[] {
  const wanted = process.env[variable]?.split(",").map((name) => name.trim()).filter((name) => name.length > 0);
  return wanted && wanted.length > 0 ? cases.filter((entry) => wanted.includes(entry.name)) : cases;
}

export const codecCases = selected(allCodecCases, "KVPACK_BENCH_CODECS");

export interface PolicyContext {
  readonly budget: TokenBudget;
  readonly fraction: number;
  readonly layers: number;
  readonly headDim: number;
  readonly codec: CodecCase;
  readonly kvTuner: KvTunerConfig;
}

interface PolicyCase {
  readonly name: PolicyName;
  /** Token budgets it runs at; null: the policy has no budget (runs once per codec). */
  readonly budgets: readonly number[] | null;
  /** undefined: not applicable to this codec. */
  readonly create: (context: PolicyContext) => Policy | undefined;
}

const allPolicyCases: PolicyCase[] = [
  { name: "streaming-llm", budgets, create: ({ budget }) => new StreamingLlmPolicy({ budget, sinkTokens: 4 }) },
  { name: "h2o", budgets, create: ({ budget }) => new H2oPolicy({ budget, recentTokens: 16 }) },
  { name: "tova", budgets, create: ({ budget }) => new TovaPolicy({ budget }) },
  { name: "snapkv", budgets, create: ({ budget }) => new SnapKvPolicy({ budget, windowSize: 16, kernelSize: 7 }) },
  { name: "pyramidkv", budgets, create: ({ budget, layers }) => new PyramidKvPolicy({ budget, layers, windowSize: 16, kernelSize: 7 }) },
  { name: "arkvale", budgets, create: ({ budget }) => new ArkValePolicy({ ...arkvaleChosen.options, budget }) },
  { name: "arkvale-no-recall", budgets, create: ({ budget }) => new ArkValePolicy({ ...arkvaleChosen.options, budget, recall: false }) },
  { name: "shadowkv", budgets, create: ({ budget }) => new ShadowKvPolicy({ budget }) },
  { name: "mikv", budgets, create: ({ budget }) => new MiKvPolicy({ budget }) },
  { name: "zipcache", budgets, create: ({ fraction }) => new ZipCachePolicy({ highPrecisionFraction: fraction }) },
  { name: "antkv", budgets, create: ({ fraction }) => new AnTkvPolicy({ highPrecisionFraction: fraction }) },
  // KVTuner chooses TurboQuant bit pairs per layer, so it replaces the TurboQuant row's uniform bits.
  { name: "kvtuner", budgets: null, create: ({ codec, kvTuner }) => (codec.name.startsWith("turboquant") ? new KvTunerPolicy(kvTuner) : undefined) },
  { name: "minicache", budgets: null, create: () => new MiniCachePolicy() },
];

export const policyCases = selected(allPolicyCases, "KVPACK_BENCH_POLICIES");
