/**
 * Policy benchmark: every @kvpack/policies policy × token budget (25 %, 50 % of the tokens cached so
 * far) × codec (fp16, TurboQuant 4-bit, FibQuant 3-bit k = 2) on stories260K and BabyLlama over two
 * long-context sets built by concatenation up to the model's window (512 and 256 tokens):
 * TinyStories validation stories (in domain) and wikitext-2 test text (out of domain for these
 * TinyStories models), 4 windows each. Teacher-forced, one token at a time through a
 * CompressedKVCache driven by the policy; a dense fp32 run of the same sequences is the baseline.
 * Per run: perplexity (pooled, and Δppl / |Δppl| per window with their means), KL(dense ‖ run) and
 * top-1 agreement per token, attention-output cosine vs dense attention over the same queries
 * (every layer, head and step), resident bytes (cache all-in plus what the policy itself holds,
 * mean over steps, and the per-window peak), offloaded bytes (tier, mean over steps), recalls per
 * step. ArkVale also runs at StreamingLLM@50 %'s resident bytes (its budget lowered by secant
 * search), with its chosen setting and with the original one (fp16 pages). KVTuner is calibrated
 * first on other stories and its config saved as JSON. Prints tables, writes
 * bench-results/policies.json (and kvtuner-<model>.json).
 *
 *   pnpm bench:policies                       full run (≈ 15–18 minutes on 2 cores, one core used)
 *   KVPACK_BENCH_QUICK=1 pnpm bench:policies  stories260K only (smoke run)
 *   KVPACK_BENCH_WINDOWS=2 …                  fewer windows per set
 *   KVPACK_BENCH_POLICIES=arkvale,streaming-llm KVPACK_BENCH_CODECS=fp16 …   subsets
 *   KVPACK_BENCH_CALIBRATE=1 pnpm bench:policies   choose ArkVale's setting on calibration windows
 *                                                  (writes bench-results/policies-calibration.json)
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Policy } from "@kvpack/cache";
import { type KvTunerConfig, type TokenBudget, calibrateKvTuner, kvTunerConfigToJson } from "@kvpack/policies";
import { BenchProgress } from "./bench-progress.js";
import { benchResultsDirectory } from "./bench-output.js";
import { type EvaluationModel, loadEvaluationModel, wikitextSequences } from "./eval/models-data.js";
import { denseNll, policyRun } from "./policies/policy-run.js";
import { calibrate, quantizedBudgets, modelNames, windowsPerSet, arkvalePaper, arkvaleChosen, calibrationTokens, kvTunerCandidates } from "./policies/settings.js";
import { type ResultRow, mean, resultRow } from "./policies/result-row.js";
import { bytesMatchedArkVale } from "./policies/bytes-matched-arkvale.js";
import { tinyStoriesWindows, captureCalibration } from "./policies/windows.js";
import { codecCases, type PolicyContext, policyCases } from "./policies/cases.js";
import { printPolicyTable, writePoliciesJson } from "./policies/report.js";
import type { DenseReference } from "./policies/run-totals.js";
import { calibrateArkVale } from "./policies/calibrate-arkvale.js";
import { comparisonEntry, printComparisons } from "./policies/comparisons.js";

async function main(): Promise<void> {
  const runStarted = performance.now();
  const datasets: { name: string; load: (model: EvaluationModel) => number[][] }[] = [
    { name: "tinystories-long", load: (model) => tinyStoriesWindows(model, 1, windowsPerSet) },
    { name: "wikitext-long", load: (model) => wikitextSequences(model, windowsPerSet) },
  ];
  const runsPerSet = codecCases.reduce(
    (sum, codec) => sum + (codec.name === "fp16" ? 4 : 3) + policyCases.reduce((count, entry) => count + (entry.budgets === null ? 1 : codec.name === "fp16" ? entry.budgets.length : quantizedBudgets.length), 0),
    0,
  );
  const progress = new BenchProgress(modelNames.length * (1 + datasets.length * (1 + runsPerSet)));
  const rows: ResultRow[] = [];
  const kvTunerConfigs: Record<string, KvTunerConfig> = {};
  for (const modelName of modelNames) {
    const model = loadEvaluationModel(modelName);
    const { layers, headDim, kvHeads } = model.runtime.cacheShape;
    const calibration = tinyStoriesWindows(model, 300, 1, calibrationTokens)[0];
    const kvTuner = calibrateKvTuner(captureCalibration(model, calibration), {
      heads: model.runtime.heads,
      kvHeads,
      headDim,
      candidates: kvTunerCandidates,
      targetBits: 3,
      queryStride: 2,
    });
    kvTunerConfigs[modelName] = kvTuner;
    mkdirSync(benchResultsDirectory(), { recursive: true });
    writeFileSync(join(benchResultsDirectory(), `kvtuner-${modelName}.json`), kvTunerConfigToJson(kvTuner));
    progress.step(`${modelName} KVTuner calibrated: ${kvTuner.layers.map((pair) => `K${pair.keyBits}V${pair.valueBits}`).join(" ")} (avg ${kvTuner.averageBits} bits)`);
    for (const dataset of datasets) {
      const sequences = dataset.load(model);
      const tokensPerSequence = Math.round(sequences.reduce((sum, tokens) => sum + tokens.length, 0) / sequences.length);
      const references: DenseReference[] = [];
      const dense = denseNll(model, sequences, references);
      const densePerplexity = Math.exp(dense.nll / dense.predicted);
      const denseWindowPerplexities = dense.windowNll.map((nll, window) => Math.exp(nll / dense.windowPredicted[window]));
      const base = { model: modelName, dataset: dataset.name, tokensPerSequence, sequences: sequences.length, densePerplexity, denseWindowPerplexities };
      rows.push(resultRow({ ...base, codec: "fp32-dense", policy: "dense", budget: null }, dense));
      progress.step(`${modelName} ${dataset.name} dense ppl ${densePerplexity.toFixed(3)}`);
      for (const codec of codecCases) {
        const none = await policyRun(model, sequences, references, codec, undefined);
        rows.push(resultRow({ ...base, codec: codec.name, policy: "none", budget: null }, none));
        progress.step(`${modelName} ${dataset.name} ${codec.name} none: Δppl ${(Math.exp(none.nll / none.predicted) - densePerplexity).toFixed(3)}`);
        const runCase = async (name: string, fraction: number | null, create: () => Policy | undefined): Promise<ResultRow | undefined> => {
          if (create() === undefined) return undefined;
          const totals = await policyRun(model, sequences, references, codec, create as () => Policy);
          const row = resultRow({ ...base, codec: codec.name, policy: name, budget: fraction }, totals);
          rows.push(row);
          return row;
        };
        for (const policyCase of policyCases) {
          const caseBudgets = policyCase.budgets === null ? [null] : codec.name === "fp16" ? policyCase.budgets : policyCase.budgets.filter((fraction) => quantizedBudgets.includes(fraction));
          for (const fraction of caseBudgets) {
            const budget: TokenBudget = { fraction: fraction ?? 1, minimum: 4 };
            const context: PolicyContext = { budget, fraction: fraction ?? 1, layers, headDim, codec, kvTuner };
            const row = await runCase(policyCase.name, fraction, () => policyCase.create(context));
            const budgetLabel = fraction === null ? "" : ` @${fraction}`;
            progress.step(
              row === undefined
                ? `${modelName} ${dataset.name} ${codec.name} ${policyCase.name}: not applicable`
                : `${modelName} ${dataset.name} ${codec.name} ${policyCase.name}${budgetLabel}: Δppl ${row.perplexityDelta.toFixed(3)} KL ${row.klDivergence.toFixed(4)} (${row.seconds.toFixed(1)} s)`,
            );
          }
        }
        // ArkVale at the resident bytes of StreamingLLM@50 %: its digests cost bytes, so its token
        // budget shrinks until its mean resident bytes are at most StreamingLLM's.
        const streaming = rows.find((row) => row.model === modelName && row.dataset === dataset.name && row.codec === codec.name && row.policy === "streaming-llm" && row.budget === 0.5);
        if (streaming === undefined) {
          progress.step(`${modelName} ${dataset.name} ${codec.name} arkvale-bytes-matched: skipped (needs streaming-llm @0.5)`);
          if (codec.name === "fp16") progress.step(`${modelName} ${dataset.name} ${codec.name} arkvale-paper-bytes-matched: skipped`);
          continue;
        }
        // The original setting runs on fp16 pages only (before/after on the same windows; keeps the run near 15 minutes).
        const matchedSettings = [["arkvale-bytes-matched", arkvaleChosen] as const, ...(codec.name === "fp16" ? [["arkvale-paper-bytes-matched", arkvalePaper] as const] : [])];
        for (const [policyName, setting] of matchedSettings) {
          const matched = await bytesMatchedArkVale(model, sequences, references, codec, setting, streaming.residentBytes);
          const row = resultRow({ ...base, codec: codec.name, policy: policyName, budget: matched.fraction }, matched.totals);
          rows.push(row);
          progress.step(
            `${modelName} ${dataset.name} ${codec.name} ${policyName} @${matched.fraction.toFixed(3)}: ${Math.round(row.residentBytes)} B vs ${Math.round(streaming.residentBytes)} B, Δppl ${row.perplexityDeltaMean.toFixed(3)} KL ${row.klDivergence.toFixed(4)}`,
          );
        }
      }
    }
  }

  printPolicyTable(rows);

  // Acceptance check: ArkVale with recall vs StreamingLLM at a 50 % budget and the same resident bytes, long-context sets.
  const comparisons = rows
    .filter((row) => row.policy === "streaming-llm" && row.budget === 0.5)
    .flatMap((streaming) => {
      const same = (row: ResultRow) => row.model === streaming.model && row.dataset === streaming.dataset && row.codec === streaming.codec;
      const matched = rows.find((row) => same(row) && row.policy === "arkvale-bytes-matched");
      const paper = rows.find((row) => same(row) && row.policy === "arkvale-paper-bytes-matched");
      const arkvale = rows.find((row) => same(row) && row.policy === "arkvale" && row.budget === 0.5);
      if (matched === undefined || arkvale === undefined) return [];
      return [comparisonEntry(streaming, arkvale, matched, paper)];
    });
  printComparisons("ArkVale (recall) vs StreamingLLM at 50 % budget and matched resident bytes (long-context sets, means over windows)", comparisons);
  const path = writePoliciesJson({ runSeconds: (performance.now() - runStarted) / 1000, kvTunerConfigs, rows, comparisons });
  process.stdout.write(`\nwrote ${path}\n`);
}

await (calibrate ? calibrateArkVale() : main());
