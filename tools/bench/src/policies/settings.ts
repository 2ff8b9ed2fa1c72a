// What the policy benchmark runs: environment switches, budgets, models, window counts, ArkVale settings.
import type { KeyDigestFormat } from "@kvpack/cache";
import type { ArkValeOptions, BitPair } from "@kvpack/policies";
import type { EvaluationModelName } from "../eval/models-data.js";

export const quick = process.env.KVPACK_BENCH_QUICK === "1";
/** KVPACK_BENCH_CALIBRATE=1: choose ArkVale's settings on calibration windows (disjoint from the reported ones) instead of the full run. */
export const calibrate = process.env.KVPACK_BENCH_CALIBRATE === "1";
export const pageSize = 16;
export const residualWindow = 0;
export const budgets = [0.25, 0.5];
/** Quantized codecs run at the 50 % budget only, to keep the whole run near 10 minutes. */
export const quantizedBudgets = [0.5];
export const modelNames: EvaluationModelName[] = quick ? ["stories260K"] : ["stories260K", "babyllama"];
/** Windows of the model's full context per set (reported). */
export const windowsPerSet = Number(process.env.KVPACK_BENCH_WINDOWS ?? 4);
/**
 * Calibration windows for ArkVale's settings, disjoint from the reported ones: TinyStories stories
 * from 150 on (the reported windows use stories 1 … ≈ 40, KVTuner 300+), wikitext windows from 16 on.
 */
export const calibrationWindows = 4;
export const calibrationFirstStory = 150;
export const calibrationFirstWikitextWindow = 16;

/** An ArkVale configuration: cache digest format plus policy options (budget aside). */
export interface ArkValeSetting {
  readonly label: string;
  readonly keyDigestFormat: KeyDigestFormat;
  readonly options: Omit<ArkValeOptions, "budget" | "recall">;
}

/** ArkVale as it was first built here: fp32 digests, plain bound, max over the GQA group, no hysteresis. */
export const arkvalePaper: ArkValeSetting = { label: "paper", keyDigestFormat: "fp32", options: { sinkPages: 1, recentPages: 2, recentShare: 0, protectedOverBudget: false, budgetRounding: "down", centerWeight: 0, groupAggregation: "max", scoreDecay: 0, hysteresis: 0 } };
/** Chosen with KVPACK_BENCH_CALIBRATE=1 on the calibration windows only (bench-results/policies-calibration.json). */
export const arkvaleChosen: ArkValeSetting = {
  label: "chosen",
  keyDigestFormat: "int8",
  options: {
    sinkPages: 0,
    recentPages: 1,
    recentShare: 0.25,
    protectedOverBudget: true,
    budgetRounding: "up",
    centerWeight: 0,
    groupAggregation: "sum",
    scoreDecay: 0.5,
    hysteresis: 0,
  },
};
/** KVTuner calibration: tokens of TinyStories stories 300+ (disjoint from the evaluation stories). */
export const calibrationTokens = 128;

export const kvTunerCandidates: BitPair[] = [2, 3, 4].flatMap((keyBits) => [2, 3, 4].map((valueBits) => ({ keyBits, valueBits })));
