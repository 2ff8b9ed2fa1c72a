// What the policy benchmark reports: its table and bench-results/policies.json.
import type { KvTunerConfig } from "@kvpack/policies";
import { writeBenchJson } from "../bench-output.js";
import { printTable } from "../bench-table.js";
import { quick, pageSize, residualWindow, budgets, quantizedBudgets, windowsPerSet, arkvalePaper, arkvaleChosen, calibrationTokens } from "./settings.js";
import { type ResultRow, mean } from "./result-row.js";
import { lastStoryUsed } from "./windows.js";
import { codecCases } from "./cases.js";
import { arkvaleCalibrationNote } from "./calibrate-arkvale.js";
import type { ComparisonEntry } from "./comparisons.js";

/** The policy benchmark's console table (one row per run). */
export function printPolicyTable(rows: readonly ResultRow[]): void {
  printTable("Policies × budget × codec (Δppl vs dense fp32; bytes are means over steps)", rows as ResultRow[], [
    { header: "model", value: (row) => row.model },
    { header: "dataset", value: (row) => row.dataset },
    { header: "codec", value: (row) => row.codec },
    { header: "policy", value: (row) => row.policy },
    { header: "budget", value: (row) => (row.budget === null ? "-" : `${Math.round(row.budget * 100)}%`) },
    { header: "ppl", value: (row) => row.perplexity, digits: 3 },
    { header: "Δppl", value: (row) => row.perplexityDelta, digits: 3 },
    { header: "KL", value: (row) => row.klDivergence, digits: 4 },
    { header: "top-1", value: (row) => row.top1Agreement, digits: 3 },
    { header: "attn cos", value: (row) => row.attentionCosine, digits: 4 },
    { header: "resident B", value: (row) => Math.round(row.residentBytes), digits: 0 },
    { header: "÷fp16", value: (row) => row.residentFractionOfFp16, digits: 3 },
    { header: "offloaded B", value: (row) => Math.round(row.offloadedBytes), digits: 0 },
    { header: "recalls/step", value: (row) => row.recallsPerStep, digits: 2 },
  ]);

}

/** Writes bench-results/policies.json: the settings, KVTuner's configs, every row and the ArkVale comparisons. */
export function writePoliciesJson(run: { runSeconds: number; kvTunerConfigs: Record<string, KvTunerConfig>; rows: ResultRow[]; comparisons: ComparisonEntry[] }): string {
  return writeBenchJson("policies", {
    settings: {
      pageSize,
      residualWindow,
      budgets,
      quantizedBudgets,
      windowsPerSet,
      calibrationTokens,
      /** Wall time of the whole run (models, KVTuner calibration, every policy run). */
      runSeconds: run.runSeconds,
      arkvale: { chosen: arkvaleChosen, paper: arkvalePaper, calibration: arkvaleCalibrationNote },
      tinyStoriesRanges: Object.fromEntries([...lastStoryUsed].map(([key, last]) => [key, `stories ${key.split(" ")[1]}…${last}`])),
      quick,
      codecs: codecCases.map((codec) => codec.name),
      note: "budget = fraction of the tokens cached so far, per layer × KV head; Δppl is signed (eviction can lower perplexity on out-of-domain text), KL(dense ‖ run) is the fidelity measure; perplexityDeltaMean / absolutePerplexityDeltaMean are means over the windows of each window's Δppl; bytes-matched rows shrink ArkVale's budget until its mean resident bytes are at most StreamingLLM@50 %'s",
    },
    kvTuner: run.kvTunerConfigs,
    rows: run.rows,
    arkvaleVersusStreamingLlm: run.comparisons,
  });
}
