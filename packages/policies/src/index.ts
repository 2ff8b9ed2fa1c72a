export { PolicyConfigurationError } from "./policy-errors.js";
export { budgetTokens, checkTokenBudget } from "./token-budget.js";
export type { TokenBudget } from "./token-budget.js";
export { TokenTrack, addGroupAttention, selectLowest } from "./token-track.js";
export { TokenEvictionPolicy, compactionActions } from "./token-eviction-policy.js";
export type { TokenEvictionOptions } from "./token-eviction-policy.js";
export { StreamingLlmPolicy } from "./streaming-llm-policy.js";
export type { StreamingLlmOptions } from "./streaming-llm-policy.js";
export { H2oPolicy } from "./h2o-policy.js";
export type { H2oOptions } from "./h2o-policy.js";
export { TovaPolicy } from "./tova-policy.js";
export type { TovaOptions } from "./tova-policy.js";
export { SnapKvPolicy } from "./snapkv-policy.js";
export type { SnapKvOptions } from "./snapkv-policy.js";
export { pyramidLayerWeights } from "./pyramid-budget.js";
export { PyramidKvPolicy } from "./pyramidkv-policy.js";
export type { PyramidKvOptions } from "./pyramidkv-policy.js";
export { pageScoreBound, pageScoreCenter } from "./page-score-bound.js";
export { ArkValePolicy } from "./arkvale-policy.js";
export type { ArkValeOptions, PagingCounters } from "./arkvale-policy.js";
export { ShadowKvPolicy } from "./shadowkv-policy.js";
export type { ShadowKvOptions } from "./shadowkv-policy.js";
export { lowRankBasis, symmetricEigen } from "./symmetric-eigen.js";
export { twoBitKiviKeys, twoBitKiviValues } from "./low-precision.js";
export type { CodecSpecFor } from "./low-precision.js";
export { MiKvPolicy } from "./mikv-policy.js";
export type { MiKvOptions } from "./mikv-policy.js";
export { AnTkvPolicy, SaliencyPrecisionPolicy, ZipCachePolicy } from "./saliency-precision-policy.js";
export type { SaliencyMeasure, SaliencyPrecisionOptions } from "./saliency-precision-policy.js";
export {
  KvTunerPolicy,
  calibrateKvTuner,
  chooseBitPairs,
  kvTunerCodecSpecs,
  kvTunerConfigToJson,
  parseKvTunerConfig,
  turboquantFamily,
} from "./kvtuner.js";
export type { BitCodecFamily, BitPair, KvTunerCalibrationOptions, KvTunerConfig, KvTunerLayerSample } from "./kvtuner.js";
export { slerpMergeRow } from "./minicache-merge.js";
export { MiniCachePolicy } from "./minicache-policy.js";
export type { MiniCacheOptions } from "./minicache-policy.js";
export { createPolicy, isPolicyName, policyNames, policyRequirements } from "./create-policy.js";
export type { CreatePolicyOptions, PolicyName } from "./create-policy.js";
