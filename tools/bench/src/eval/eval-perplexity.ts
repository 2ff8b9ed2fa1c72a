/**
 * Perplexity, KL divergence and top-1 agreement of the compressed cache against the dense cache,
 * on real models (stories260K, BabyLlama) over TinyStories validation stories, for each codec family
 * at matched all-in bit budgets. Writes bench-results/perplexity.json.
 *
 * Usage: pnpm eval:perplexity [--text FILE] [--calibration-stories N|a..b] [--stories N|a..b] [--dense-stories N] [--models stories260K,babyllama]
 *        [--budgets 2.5,3,4,5|none] [--residual-windows 0,64] [--key-shifts 0.5,1,1.5] [--norms log8,log6,log4] [--out perplexity]
 * --text: `<|endoftext|>`-separated stories (each from BOS) or plain text cut into context windows; default TinyStories
 * validation. --stories N: the N stories after the calibration ones; a..b: exactly those (they must not overlap the
 * calibration stories). Held-out rows carry per-story sums and bootstrap 95 % intervals over stories.
 */
import { CompressedKVCache, DenseKVCache } from "@kvpack/cache";
import type { EvaluationModel, EvaluationModelName } from "./models-data.js";
import { loadEvaluationModel } from "./models-data.js";
import { pairedDifferenceInterval, perplexityDeltaInterval, type StoryTotals } from "./bootstrap.js";
import { compareWithReference } from "./reference-comparison.js";
import { storyRange, storySource } from "./story-source.js";
import { baselineConfigurations, candidatesAtBudget, defaultCandidateGrid, type CacheConfiguration, type CandidateGrid, type NormFormat } from "./codec-candidates.js";
import { printTable } from "../bench-table.js";
import { argmax, klDivergenceFromLogProbabilities, logSoftmax } from "./attention-fidelity.js";
import { writeBenchJson } from "../bench-output.js";

const pageSize = 32;
/**
 * No full-precision window beyond the partial last page (the strictest setting). A window R ≤ pageSize
 * changes nothing (the cache flushes max(R, pageSize) tokens at once); pass --residual-windows 0,64 to
 * also report the held-out stories with a 64-token window.
 */
const calibrationResidualWindow = 0;
/** 5 bits: the llama.cpp q4_0 cache costs 5.0625 bits all-in at head_dim 16 (6.125 at 8), so every budget is at or below it. */
const defaultBudgets = [2.5, 3, 4, 5];
/** The fixed-rate reference every budget row is paired with (issue #13: beat q4_0 at equal all-in bits). */
const referenceLabel = "llama.cpp q4_0";

function argument(name: string, fallback: string): string {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 && process.argv[index + 1] !== undefined ? process.argv[index + 1] : fallback;
}

interface SequenceReference {
  readonly tokens: number[];
  /** (length − 1) × vocab log-probabilities of the dense run. */
  readonly logProbabilities: Float32Array;
  /** −Σ log p(next token) of the dense run. */
  readonly nll: number;
}

function denseReference(model: EvaluationModel, tokens: number[]): SequenceReference {
  const { runtime } = model;
  const vocab = runtime.vocabSize;
  const cache = new DenseKVCache({ ...runtime.cacheShape, capacity: tokens.length });
  const logProbabilities = new Float32Array((tokens.length - 1) * vocab);
  const row = new Float64Array(vocab);
  let nll = 0;
  for (let i = 0; i < tokens.length - 1; i++) {
    logSoftmax(runtime.forward(tokens[i], i, cache), vocab, row);
    for (let j = 0; j < vocab; j++) logProbabilities[i * vocab + j] = row[j];
    nll -= row[tokens[i + 1]];
  }
  return { tokens, logProbabilities, nll };
}

export interface PerplexityRow {
  model: string;
  label: string;
  family: string;
  budget: number | null;
  residualWindow: number;
  bitsPerElement: number;
  compressionVsFp16: number;
  /** All-in bytes of the cache at the end of each sequence (pages + fp32 tail), as bits per element. */
  cacheBitsPerElement: number;
  perplexity: number;
  perplexityDelta: number;
  klDivergence: number;
  top1Agreement: number;
  tokens: number;
  /** Per story, in order: the run's and the dense run's −Σ log p, and the predicted tokens (for bootstrap intervals). */
  perStory: StoryTotals;
  /** Bootstrap 95 % interval of perplexityDelta over stories (held-out rows). */
  perplexityDeltaInterval?: [number, number];
}

function evaluateConfiguration(
  model: EvaluationModel,
  references: SequenceReference[],
  configuration: CacheConfiguration,
  densePerplexity: number,
  budget: number | null,
  residualWindow: number,
): PerplexityRow {
  const { runtime } = model;
  const vocab = runtime.vocabSize;
  const row = new Float64Array(vocab);
  let totalNll = 0;
  let totalKl = 0;
  let agreements = 0;
  let predicted = 0;
  let cacheBytes = 0;
  let cacheElements = 0;
  const storyNll: number[] = [];
  for (const reference of references) {
    const before = totalNll;
    const cache = new CompressedKVCache({ ...runtime.cacheShape, keys: configuration.keys, values: configuration.values, pageSize, residualWindow });
    const { tokens, logProbabilities } = reference;
    for (let i = 0; i < tokens.length - 1; i++) {
      logSoftmax(runtime.forward(tokens[i], i, cache), vocab, row);
      totalNll -= row[tokens[i + 1]];
      const dense = logProbabilities.subarray(i * vocab, (i + 1) * vocab);
      totalKl += klDivergenceFromLogProbabilities(dense, row, vocab);
      if (argmax(row) === argmax(dense)) agreements++;
      predicted++;
    }
    storyNll.push(totalNll - before);
    const totals = cache.memoryReport().totals;
    cacheBytes += totals.totalBytes;
    cacheElements += (totals.fp16Bytes / 2);
  }
  const perplexity = Math.exp(totalNll / predicted);
  return {
    model: model.name,
    label: configuration.label,
    family: configuration.family,
    budget,
    residualWindow,
    bitsPerElement: configuration.bitsPerElement,
    compressionVsFp16: 16 / configuration.bitsPerElement,
    cacheBitsPerElement: (cacheBytes * 8) / cacheElements,
    perplexity,
    perplexityDelta: perplexity - densePerplexity,
    klDivergence: totalKl / predicted,
    top1Agreement: agreements / predicted,
    tokens: predicted,
    perStory: { nll: storyNll, denseNll: references.map((reference) => reference.nll), tokens: references.map((reference) => reference.tokens.length - 1) },
  };
}

function main(): void {
  const calibrationStories = storyRange(argument("calibration-stories", "8"), 0);
  const heldOutStories = storyRange(argument("stories", "40"), calibrationStories.last);
  if (heldOutStories.first <= calibrationStories.last && calibrationStories.first <= heldOutStories.last) {
    throw new Error(`held-out stories ${heldOutStories.first}..${heldOutStories.last} overlap the calibration stories ${calibrationStories.first}..${calibrationStories.last}`);
  }
  const denseStoryCount = Number(argument("dense-stories", "200"));
  const budgetText = argument("budgets", defaultBudgets.join(","));
  const budgets = budgetText === "none" ? [] : budgetText.split(",").map(Number);
  const source = storySource(process.argv.includes("--text") ? argument("text", "") : undefined);
  const modelNames = argument("models", "stories260K,babyllama").split(",") as EvaluationModelName[];
  const residualWindows = argument("residual-windows", "0").split(",").map(Number);
  const grid: CandidateGrid = {
    keyShifts: argument("key-shifts", defaultCandidateGrid.keyShifts.join(",")).split(",").map(Number),
    norms: argument("norms", defaultCandidateGrid.norms.join(",")).split(",") as NormFormat[],
  };
  const outputName = argument("out", "perplexity");
  const results: PerplexityRow[] = [];
  const calibration: PerplexityRow[] = [];
  const dense: { model: string; stories: number; tokens: number; perplexity: number; meanNll: number }[] = [];
  const comparisons: Record<string, unknown>[] = [];
  for (const name of modelNames) {
    const model = loadEvaluationModel(name);
    const { runtime } = model;
    const vocab = runtime.vocabSize;
    const dimension = runtime.cacheShape.headDim;
    const perplexityOf = (references: SequenceReference[]) => {
      let nll = 0;
      let tokens = 0;
      for (const reference of references) {
        for (let i = 0; i < reference.tokens.length - 1; i++) nll -= reference.logProbabilities[i * vocab + reference.tokens[i + 1]];
        tokens += reference.tokens.length - 1;
      }
      return { nll, tokens, perplexity: Math.exp(nll / tokens) };
    };

    // Dense perplexity on stories 1..denseStoryCount (SOURCES.md: 3.62 for stories260K on 1–200).
    // The calibration stories pick each family's best split; the held-out stories are reported.
    let started = performance.now();
    const available = source.count(model);
    const last = Math.max(denseStoryCount, calibrationStories.last, heldOutStories.last);
    if (Math.max(calibrationStories.last, heldOutStories.last) > available) {
      throw new Error(`${source.name} has ${available} ${source.kind} for ${name}; asked for up to ${Math.max(calibrationStories.last, heldOutStories.last)}`);
    }
    const calibrationReferences: SequenceReference[] = [];
    const heldOutReferences: SequenceReference[] = [];
    let denseNll = 0;
    let denseTokens = 0;
    let denseStories = 0;
    for (let index = 1; index <= Math.min(last, available); index++) {
      const inCalibration = index >= calibrationStories.first && index <= calibrationStories.last;
      const inHeldOut = index >= heldOutStories.first && index <= heldOutStories.last;
      if (!inCalibration && !inHeldOut && index > denseStoryCount) continue;
      const reference = denseReference(model, source.sequence(model, index) ?? []);
      if (inCalibration) calibrationReferences.push(reference);
      if (inHeldOut) heldOutReferences.push(reference);
      if (index <= denseStoryCount) {
        const scored = perplexityOf([reference]);
        denseNll += scored.nll;
        denseTokens += scored.tokens;
        denseStories++;
      }
      if (index % 25 === 0) process.stderr.write(`[${name}] dense ${index}/${last} ${source.kind}, ${((performance.now() - started) / 1000).toFixed(0)} s\n`);
    }
    dense.push({ model: name, stories: denseStories, tokens: denseTokens, meanNll: denseNll / denseTokens, perplexity: Math.exp(denseNll / denseTokens) });
    const calibrationPerplexity = perplexityOf(calibrationReferences).perplexity;
    const heldOutPerplexity = perplexityOf(heldOutReferences).perplexity;

    const chosen: { configuration: CacheConfiguration; budget: number | null }[] = baselineConfigurations(dimension, pageSize).map((configuration) => ({ configuration, budget: null }));
    for (const budget of budgets) {
      process.stderr.write(`[${name}] ${budget} bits all-in: building candidates (codebooks are built once per process)\n`);
      const candidates = candidatesAtBudget(dimension, budget, pageSize, grid);
      started = performance.now();
      const scored = candidates.map((configuration, index) => {
        const row = evaluateConfiguration(model, calibrationReferences, configuration, calibrationPerplexity, budget, calibrationResidualWindow);
        calibration.push(row);
        process.stderr.write(`[${name}] calibration ${budget} bits ${index + 1}/${candidates.length} ${configuration.label}: Δppl ${row.perplexityDelta.toFixed(4)}, ${((performance.now() - started) / 1000).toFixed(0)} s\n`);
        return { configuration, row };
      });
      for (const family of ["fibquant", "turboquant", "kivi", "quarot", "llama.cpp"]) {
        const best = scored.filter((entry) => entry.configuration.family === family).sort((a, b) => a.row.perplexityDelta - b.row.perplexityDelta)[0];
        if (best) chosen.push({ configuration: best.configuration, budget });
      }
    }
    started = performance.now();
    for (const residualWindow of residualWindows) {
      chosen.forEach(({ configuration, budget }, index) => {
        const row = evaluateConfiguration(model, heldOutReferences, configuration, heldOutPerplexity, budget, residualWindow);
        row.perplexityDeltaInterval = perplexityDeltaInterval(row.perStory);
        results.push(row);
        process.stderr.write(`[${name}] held-out R=${residualWindow} ${index + 1}/${chosen.length} ${configuration.label} @${budget ?? "-"}: ppl ${row.perplexity.toFixed(4)} (Δ ${row.perplexityDelta.toFixed(4)}), ${((performance.now() - started) / 1000).toFixed(0)} s\n`);
      });
    }
    for (const residualWindow of residualWindows) for (const budget of budgets) {
      const atBudget = results.filter((row) => row.model === name && row.budget === budget && row.residualWindow === residualWindow);
      const fibquant = atBudget.find((row) => row.family === "fibquant");
      const others = atBudget.filter((row) => row.family !== "fibquant");
      const reference = results.find((row) => row.model === name && row.budget === null && row.residualWindow === residualWindow && row.label === referenceLabel);
      comparisons.push({
        model: name,
        residualWindow,
        budgetBitsPerElement: budget,
        fibquant: fibquant && { label: fibquant.label, bitsPerElement: fibquant.bitsPerElement, perplexityDelta: fibquant.perplexityDelta },
        others: others.map((row) => ({ family: row.family, label: row.label, bitsPerElement: row.bitsPerElement, perplexityDelta: row.perplexityDelta })),
        familiesWithoutAConfigurationWithinBudget: ["turboquant", "kivi", "quarot", "llama.cpp"].filter((family) => !others.some((row) => row.family === family)),
        fibquantBest: fibquant !== undefined && others.every((row) => fibquant.perplexityDelta < row.perplexityDelta),
        // "A beats B" only where the paired 95 % interval of Δppl(A) − Δppl(B) over stories excludes 0.
        pairedDifferences: atBudget.flatMap((a, index) =>
          atBudget.slice(index + 1).map((b) => ({ a: a.family, b: b.family, difference: a.perplexityDelta - b.perplexityDelta, interval: pairedDifferenceInterval(a.perStory, b.perStory) })),
        ),
        // The budget's FibQuant and TurboQuant rows against q4_0 on the same stories, where they cost no more bits than it.
        versusLlamaCppQ4_0: reference && compareWithReference(reference, atBudget.filter((row) => row.family === "fibquant" || row.family === "turboquant")),
      });
    }
    for (const residualWindow of residualWindows) printTable(`${name}: held-out ${source.kind} ${heldOutStories.first}–${heldOutStories.last}, dense perplexity ${heldOutPerplexity.toFixed(4)} (page ${pageSize}, full-precision window ${residualWindow})`, results.filter((row) => row.model === name && row.residualWindow === residualWindow), [
      { header: "budget", value: (row) => (row.budget === null ? "-" : String(row.budget)) },
      { header: "family", value: (row) => row.family },
      { header: "keys / values", value: (row) => row.label },
      { header: "bits all-in", value: (row) => row.bitsPerElement, digits: 3 },
      { header: "× vs fp16", value: (row) => row.compressionVsFp16, digits: 2 },
      { header: "cache bits", value: (row) => row.cacheBitsPerElement, digits: 2 },
      { header: "ppl", value: (row) => row.perplexity, digits: 4 },
      { header: "Δppl", value: (row) => row.perplexityDelta, digits: 4 },
      { header: "95 % interval", value: (row) => (row.perplexityDeltaInterval ? `${row.perplexityDeltaInterval[0].toFixed(4)}..${row.perplexityDeltaInterval[1].toFixed(4)}` : "-") },
      { header: "KL", value: (row) => row.klDivergence, digits: 5 },
      { header: "top-1", value: (row) => row.top1Agreement, digits: 4 },
    ]);
  }
  printTable("dense perplexity (SOURCES.md: stories260K 3.62 on stories 1–200; BabyLlama 1.91)", dense, [
    { header: "model", value: (row) => row.model },
    { header: "stories", value: (row) => row.stories, digits: 0 },
    { header: "tokens", value: (row) => row.tokens, digits: 0 },
    { header: "mean NLL", value: (row) => row.meanNll, digits: 4 },
    { header: "perplexity", value: (row) => row.perplexity, digits: 4 },
  ]);
  const path = writeBenchJson(outputName, {
    settings: {
      pageSize,
      calibrationResidualWindow,
      candidateGrid: grid,
      residualWindows,
      text: { source: source.name, kind: source.kind },
      calibrationStories: calibrationStories.last - calibrationStories.first + 1,
      heldOutStories: heldOutStories.last - heldOutStories.first + 1,
      calibrationStoryRange: [calibrationStories.first, calibrationStories.last],
      heldOutStoryRange: [heldOutStories.first, heldOutStories.last],
      budgets,
      reference: `comparisons[].versusLlamaCppQ4_0: the budget's FibQuant and TurboQuant rows paired with the ${referenceLabel} row (K and V q4_0, a fixed rate, not chosen at a budget) on the same held-out stories; only rows whose all-in bits are ≤ q4_0's are compared (overReferenceBits lists the others); verdict "beats" / "loses" only where the 95 % interval of Δppl(row) − Δppl(q4_0) excludes 0`,
      intervals: "perplexityDeltaInterval, pairedDifferences[].interval and versusLlamaCppQ4_0 intervals: percentile bootstrap, 2000 resamples of the held-out stories (seeded), token-weighted perplexity",
      note: "bitsPerElement is all-in for full pages (codes, norms, means, scales, block headers), keys and values averaged; each family's key/value split is chosen on the calibration stories (no full-precision window) and reported on the held-out stories; cacheBitsPerElement includes any fp32 window and the fp32 tail of the last partial page",
    },
    dense,
    results,
    comparisons,
    calibration,
  });
  process.stdout.write(`\nwrote ${path}\n`);
}

main();
