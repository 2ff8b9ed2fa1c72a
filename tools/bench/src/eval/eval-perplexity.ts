/**
 * Perplexity, KL divergence and top-1 agreement of the compressed cache against the dense cache,
 * on real models (stories260K, BabyLlama) over TinyStories validation stories, for each codec family
 * at matched all-in bit budgets. Writes bench-results/perplexity.json.
 *
 * Usage: pnpm eval:perplexity [--stories N] [--dense-stories N] [--models stories260K,babyllama]
 */
import { CompressedKVCache, DenseKVCache } from "@kvpack/cache";
import type { EvaluationModel, EvaluationModelName } from "./models-data.js";
import { loadEvaluationModel, tinyStoriesSequences } from "./models-data.js";
import { baselineConfigurations, configurationsAtBudget, type CacheConfiguration } from "./codec-candidates.js";
import { printTable } from "../bench-table.js";
import { writeBenchJson } from "../bench-output.js";

const pageSize = 32;
const residualWindow = 0;
const budgets = [2.5, 3, 4];

function argument(name: string, fallback: string): string {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 && process.argv[index + 1] !== undefined ? process.argv[index + 1] : fallback;
}

/** log-softmax in float64 into `out`. */
function logSoftmax(logits: Float32Array, out: Float64Array): void {
  let maximum = -Infinity;
  for (let i = 0; i < logits.length; i++) if (logits[i] > maximum) maximum = logits[i];
  let sum = 0;
  for (let i = 0; i < logits.length; i++) sum += Math.exp(logits[i] - maximum);
  const logSum = maximum + Math.log(sum);
  for (let i = 0; i < logits.length; i++) out[i] = logits[i] - logSum;
}

function argmax(values: Float64Array | Float32Array): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i] > values[best]) best = i;
  return best;
}

interface SequenceReference {
  readonly tokens: number[];
  /** (length − 1) × vocab log-probabilities of the dense run. */
  readonly logProbabilities: Float32Array;
}

function denseReference(model: EvaluationModel, tokens: number[]): SequenceReference {
  const { runtime } = model;
  const vocab = runtime.vocabSize;
  const cache = new DenseKVCache({ ...runtime.cacheShape, capacity: tokens.length });
  const logProbabilities = new Float32Array((tokens.length - 1) * vocab);
  const row = new Float64Array(vocab);
  for (let i = 0; i < tokens.length - 1; i++) {
    logSoftmax(runtime.forward(tokens[i], i, cache), row);
    for (let j = 0; j < vocab; j++) logProbabilities[i * vocab + j] = row[j];
  }
  return { tokens, logProbabilities };
}

export interface PerplexityRow {
  model: string;
  label: string;
  family: string;
  budget: number | null;
  bitsPerElement: number;
  compressionVsFp16: number;
  /** All-in bytes of the cache at the end of each sequence (pages + fp32 tail), as bits per element. */
  cacheBitsPerElement: number;
  perplexity: number;
  perplexityDelta: number;
  klDivergence: number;
  top1Agreement: number;
  tokens: number;
}

function evaluateConfiguration(model: EvaluationModel, references: SequenceReference[], configuration: CacheConfiguration, densePerplexity: number, budget: number | null): PerplexityRow {
  const { runtime } = model;
  const vocab = runtime.vocabSize;
  const row = new Float64Array(vocab);
  let totalNll = 0;
  let totalKl = 0;
  let agreements = 0;
  let predicted = 0;
  let cacheBytes = 0;
  let cacheElements = 0;
  for (const reference of references) {
    const cache = new CompressedKVCache({ ...runtime.cacheShape, keys: configuration.keys, values: configuration.values, pageSize, residualWindow });
    const { tokens, logProbabilities } = reference;
    for (let i = 0; i < tokens.length - 1; i++) {
      logSoftmax(runtime.forward(tokens[i], i, cache), row);
      totalNll -= row[tokens[i + 1]];
      const offset = i * vocab;
      let kl = 0;
      for (let j = 0; j < vocab; j++) {
        const denseLog = logProbabilities[offset + j];
        kl += Math.exp(denseLog) * (denseLog - row[j]);
      }
      totalKl += kl;
      if (argmax(row) === argmax(logProbabilities.subarray(offset, offset + vocab))) agreements++;
      predicted++;
    }
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
    bitsPerElement: configuration.bitsPerElement,
    compressionVsFp16: 16 / configuration.bitsPerElement,
    cacheBitsPerElement: (cacheBytes * 8) / cacheElements,
    perplexity,
    perplexityDelta: perplexity - densePerplexity,
    klDivergence: totalKl / predicted,
    top1Agreement: agreements / predicted,
    tokens: predicted,
  };
}

function main(): void {
  const storyCount = Number(argument("stories", "40"));
  const denseStoryCount = Number(argument("dense-stories", "200"));
  const modelNames = argument("models", "stories260K,babyllama").split(",") as EvaluationModelName[];
  const results: PerplexityRow[] = [];
  const dense: { model: string; stories: number; tokens: number; perplexity: number; meanNll: number }[] = [];
  const comparisons: Record<string, unknown>[] = [];
  for (const name of modelNames) {
    const model = loadEvaluationModel(name);
    const { runtime } = model;
    const dimension = runtime.cacheShape.headDim;

    // Dense perplexity on stories 1..denseStoryCount (SOURCES.md reference: 3.62 for stories260K on 1–200).
    let started = performance.now();
    const denseSequences = tinyStoriesSequences(model, 1, denseStoryCount);
    let denseNll = 0;
    let denseTokens = 0;
    const references: SequenceReference[] = [];
    denseSequences.forEach((tokens, index) => {
      const reference = denseReference(model, tokens);
      for (let i = 0; i < tokens.length - 1; i++) denseNll -= reference.logProbabilities[i * runtime.vocabSize + tokens[i + 1]];
      denseTokens += tokens.length - 1;
      if (index < storyCount) references.push(reference);
      if (index % 20 === 19) process.stderr.write(`[${name}] dense ${index + 1}/${denseSequences.length} stories, ${((performance.now() - started) / 1000).toFixed(0)} s\n`);
    });
    dense.push({ model: name, stories: denseSequences.length, tokens: denseTokens, meanNll: denseNll / denseTokens, perplexity: Math.exp(denseNll / denseTokens) });
    let subsetNll = 0;
    let subsetTokens = 0;
    for (const reference of references) {
      for (let i = 0; i < reference.tokens.length - 1; i++) subsetNll -= reference.logProbabilities[i * runtime.vocabSize + reference.tokens[i + 1]];
      subsetTokens += reference.tokens.length - 1;
    }
    const subsetPerplexity = Math.exp(subsetNll / subsetTokens);

    const configurations: { configuration: CacheConfiguration; budget: number | null }[] = baselineConfigurations(dimension, pageSize).map((configuration) => ({ configuration, budget: null }));
    for (const budget of budgets) {
      process.stderr.write(`[${name}] building codecs for ${budget} bits all-in (codebooks are built once per process)\n`);
      for (const configuration of configurationsAtBudget(dimension, budget, pageSize)) configurations.push({ configuration, budget });
    }
    started = performance.now();
    configurations.forEach(({ configuration, budget }, index) => {
      const row = evaluateConfiguration(model, references, configuration, subsetPerplexity, budget);
      results.push(row);
      process.stderr.write(`[${name}] ${index + 1}/${configurations.length} ${configuration.label} @${budget ?? "-"}: ppl ${row.perplexity.toFixed(4)} (Δ ${row.perplexityDelta.toFixed(4)}), ${((performance.now() - started) / 1000).toFixed(0)} s\n`);
    });
    for (const budget of budgets) {
      const atBudget = results.filter((row) => row.model === name && row.budget === budget);
      const bestOf = (family: string) => atBudget.filter((row) => row.family === family).sort((a, b) => a.perplexityDelta - b.perplexityDelta)[0];
      const fibquant = bestOf("fibquant");
      const others = ["turboquant", "kivi", "quarot"].map(bestOf).filter((row): row is PerplexityRow => row !== undefined);
      comparisons.push({
        model: name,
        budgetBitsPerElement: budget,
        fibquant: fibquant && { label: fibquant.label, bitsPerElement: fibquant.bitsPerElement, perplexityDelta: fibquant.perplexityDelta },
        others: others.map((row) => ({ family: row.family, label: row.label, bitsPerElement: row.bitsPerElement, perplexityDelta: row.perplexityDelta })),
        fibquantBest: fibquant !== undefined && others.every((row) => fibquant.perplexityDelta < row.perplexityDelta),
      });
    }
    printTable(`${name}: dense perplexity ${subsetPerplexity.toFixed(4)} on stories 1–${references.length} (page ${pageSize}, residual window ${residualWindow})`, results.filter((row) => row.model === name), [
      { header: "budget", value: (row) => (row.budget === null ? "-" : String(row.budget)) },
      { header: "codec (K=V)", value: (row) => row.label },
      { header: "bits all-in", value: (row) => row.bitsPerElement, digits: 3 },
      { header: "× vs fp16", value: (row) => row.compressionVsFp16, digits: 2 },
      { header: "cache bits", value: (row) => row.cacheBitsPerElement, digits: 2 },
      { header: "ppl", value: (row) => row.perplexity, digits: 4 },
      { header: "Δppl", value: (row) => row.perplexityDelta, digits: 4 },
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
  const path = writeBenchJson("perplexity", {
    settings: { pageSize, residualWindow, stories: storyCount, budgets, note: "bitsPerElement is all-in for full pages (codes, norms, scales, block headers); cacheBitsPerElement includes the fp32 tail of the last partial page" },
    dense,
    results,
    comparisons,
  });
  process.stdout.write(`\nwrote ${path}\n`);
}

main();
