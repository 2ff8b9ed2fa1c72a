/**
 * Policy benchmark: every @kvpack/policies policy × token budget (25 %, 50 % of the tokens cached so
 * far) × codec (fp16, TurboQuant, FibQuant) on stories260K and BabyLlama over TinyStories stories and
 * wikitext-2 windows of the model's full context (the long-context set). Teacher-forced, one token at
 * a time through a CompressedKVCache driven by the policy; a dense fp32 run of the same sequences is
 * the baseline. Per run: perplexity and its delta vs dense, attention-output cosine vs dense
 * attention over the same queries (every layer, head and step), resident bytes (cache all-in plus
 * what the policy itself holds, mean over steps), offloaded bytes (tier, mean over steps), recalls
 * per step. Prints tables, writes bench-results/policies.json.
 *
 *   pnpm bench:policies                       full run (≈ 10 minutes on 2 cores)
 *   KVPACK_BENCH_QUICK=1 pnpm bench:policies  one sequence per set, stories260K only (smoke run)
 */
import { type AttentionOptions, CompressedKVCache, DenseKVCache, type KVCache, MemoryPageStore, type Policy } from "@kvpack/cache";
import type { CodecSpec } from "@kvpack/codecs";
import {
  ArkValePolicy,
  H2oPolicy,
  SnapKvPolicy,
  StreamingLlmPolicy,
  type TokenBudget,
  TovaPolicy,
} from "@kvpack/policies";
import { BenchProgress } from "./bench-progress.js";
import { writeBenchJson } from "./bench-output.js";
import { printTable } from "./bench-table.js";
import { type EvaluationModel, type EvaluationModelName, loadEvaluationModel, tinyStoriesSequences, wikitextSequences } from "./eval/models-data.js";

const quick = process.env.KVPACK_BENCH_QUICK === "1";
const pageSize = 16;
const residualWindow = 0;
const budgets = [0.25, 0.5];
const modelNames: EvaluationModelName[] = quick ? ["stories260K"] : ["stories260K", "babyllama"];
const storyCount = quick ? 1 : 2;
const wikitextCount = quick ? 1 : 1;

interface CodecCase {
  readonly name: string;
  readonly spec: (dimension: number) => CodecSpec;
}

const allCodecCases: CodecCase[] = [
  { name: "fp16", spec: (dimension) => ({ kind: "fp16", dimension }) },
  { name: "turboquant-3", spec: (dimension) => ({ kind: "turboquant", dimension, bits: 3 }) },
  { name: "fibquant-2", spec: (dimension) => ({ kind: "fibquant", dimension, bits: 2, blockSize: 4 }) },
];

/** Comma-separated filter from an environment variable (all when unset). */
function selected<T extends { name: string }>(cases: T[], variable: string): T[] {
  const wanted = process.env[variable]?.split(",").map((name) => name.trim()).filter((name) => name.length > 0);
  return wanted && wanted.length > 0 ? cases.filter((entry) => wanted.includes(entry.name)) : cases;
}

const codecCases = selected(allCodecCases, "KVPACK_BENCH_CODECS");

interface PolicyContext {
  readonly budget: TokenBudget;
  readonly fraction: number;
  readonly layers: number;
  readonly headDim: number;
  readonly codec: CodecCase;
}

interface PolicyCase {
  readonly name: string;
  readonly create: (context: PolicyContext) => Policy;
}

const allPolicyCases: PolicyCase[] = [
  { name: "streaming-llm", create: ({ budget }) => new StreamingLlmPolicy({ budget, sinkTokens: 4 }) },
  { name: "h2o", create: ({ budget }) => new H2oPolicy({ budget, recentTokens: 16 }) },
  { name: "tova", create: ({ budget }) => new TovaPolicy({ budget }) },
  { name: "snapkv", create: ({ budget }) => new SnapKvPolicy({ budget, windowSize: 16, kernelSize: 7 }) },
  { name: "arkvale", create: ({ budget }) => new ArkValePolicy({ budget }) },
  { name: "arkvale-no-recall", create: ({ budget }) => new ArkValePolicy({ budget, recall: false }) },
];

const policyCases = selected(allPolicyCases, "KVPACK_BENCH_POLICIES");

/** Bytes a policy holds outside the cache (low-rank keys, merged directions …), when it says so. */
function policyBytes(policy: Policy | undefined): number {
  const withMemory = policy as { policyBytes?: () => number } | undefined;
  return typeof withMemory?.policyBytes === "function" ? withMemory.policyBytes() : 0;
}

function pagingCounters(policy: Policy | undefined): { recalls: number; offloads: number } {
  const counters = (policy as { counters?: { recalls: number; offloads: number } } | undefined)?.counters;
  return counters ?? { recalls: 0, offloads: 0 };
}

/**
 * Runs attention on the cache under test and on a dense shadow fed the same keys and values, and
 * accumulates the cosine between the two outputs for every layer, head and step.
 */
class ComparingCache implements KVCache {
  readonly layers: number;
  readonly kvHeads: number;
  readonly headDim: number;
  cosineSum = 0;
  cosineCount = 0;
  private readonly shadowOut: Float32Array;

  constructor(
    readonly inner: KVCache,
    readonly shadow: DenseKVCache,
    heads: number,
  ) {
    this.layers = inner.layers;
    this.kvHeads = inner.kvHeads;
    this.headDim = inner.headDim;
    this.shadowOut = new Float32Array(heads * inner.headDim);
  }

  length(layer?: number): number {
    return this.inner.length(layer);
  }

  append(layer: number, keys: Float32Array, values: Float32Array): void {
    this.shadow.append(layer, keys, values);
    this.inner.append(layer, keys, values);
  }

  attend(layer: number, queries: Float32Array, out: Float32Array, options: AttentionOptions): void {
    this.shadow.attend(layer, queries, this.shadowOut, { heads: options.heads, scale: options.scale });
    this.inner.attend(layer, queries, out, options);
    const { headDim } = this;
    for (let head = 0; head < options.heads; head++) {
      let dot = 0;
      let a = 0;
      let b = 0;
      for (let i = head * headDim; i < (head + 1) * headDim; i++) {
        dot += out[i] * this.shadowOut[i];
        a += out[i] * out[i];
        b += this.shadowOut[i] * this.shadowOut[i];
      }
      this.cosineSum += a > 0 && b > 0 ? dot / Math.sqrt(a * b) : a === b ? 1 : 0;
      this.cosineCount += 1;
    }
  }

  readLayer(layer: number, keysOut: Float32Array, valuesOut: Float32Array): void {
    this.inner.readLayer(layer, keysOut, valuesOut);
  }

  truncate(length: number): void {
    this.shadow.truncate(length);
    this.inner.truncate(length);
  }

  byteLength(): number {
    return this.inner.byteLength();
  }
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

/** KL(dense ‖ run) in nats from two log-probability rows. */
function klDivergence(dense: Float32Array, run: Float64Array): number {
  let kl = 0;
  for (let i = 0; i < run.length; i++) {
    const p = Math.exp(dense[i]);
    if (p > 0) kl += p * (dense[i] - run[i]);
  }
  return kl;
}

function argmax(values: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i] > values[best]) best = i;
  return best;
}

/** Dense fp32 log-probabilities of one sequence, (length − 1) × vocab. */
type DenseReference = Float32Array;

interface RunTotals {
  nll: number;
  kl: number;
  top1Agreements: number;
  predicted: number;
  cosineSum: number;
  cosineCount: number;
  residentBytesSum: number;
  offloadedBytesSum: number;
  fp16BytesSum: number;
  steps: number;
  recalls: number;
  offloads: number;
  seconds: number;
}

function emptyTotals(): RunTotals {
  return { nll: 0, kl: 0, top1Agreements: 0, predicted: 0, cosineSum: 0, cosineCount: 0, residentBytesSum: 0, offloadedBytesSum: 0, fp16BytesSum: 0, steps: 0, recalls: 0, offloads: 0, seconds: 0 };
}

function denseNll(model: EvaluationModel, sequences: number[][], references: DenseReference[]): RunTotals {
  const totals = emptyTotals();
  const started = performance.now();
  const vocab = model.runtime.vocabSize;
  const row = new Float64Array(vocab);
  for (const tokens of sequences) {
    const cache = new DenseKVCache({ ...model.runtime.cacheShape, capacity: tokens.length });
    const reference = new Float32Array((tokens.length - 1) * vocab);
    references.push(reference);
    for (let i = 0; i < tokens.length - 1; i++) {
      logSoftmax(model.runtime.forward(tokens[i], i, cache), row);
      for (let j = 0; j < vocab; j++) reference[i * vocab + j] = row[j];
      totals.nll -= row[tokens[i + 1]];
      totals.top1Agreements += 1;
      totals.predicted += 1;
      // Dense fp32 bytes of the tokens held, all layers and KV heads (keys and values).
      totals.residentBytesSum += (i + 1) * model.runtime.cacheShape.layers * model.runtime.cacheShape.kvHeads * model.runtime.cacheShape.headDim * 8;
      totals.steps += 1;
    }
  }
  totals.cosineSum = 1;
  totals.cosineCount = 1;
  totals.seconds = (performance.now() - started) / 1000;
  return totals;
}

async function policyRun(
  model: EvaluationModel,
  sequences: number[][],
  references: DenseReference[],
  codec: CodecCase,
  createPolicy: (() => Policy) | undefined,
): Promise<RunTotals> {
  const totals = emptyTotals();
  const { runtime } = model;
  const vocab = runtime.vocabSize;
  const row = new Float64Array(vocab);
  const { layers, kvHeads, headDim } = runtime.cacheShape;
  const started = performance.now();
  for (const [sequenceIndex, tokens] of sequences.entries()) {
    const reference = references[sequenceIndex];
    const store = new MemoryPageStore();
    const policy = createPolicy?.();
    const cache = new CompressedKVCache({
      layers,
      kvHeads,
      headDim,
      keys: codec.spec(headDim),
      values: codec.spec(headDim),
      pageSize,
      residualWindow,
      keyDigests: policy instanceof ArkValePolicy,
      tiers: [{ name: "memory", store }],
      policy,
    });
    const comparing = new ComparingCache(cache, new DenseKVCache({ ...runtime.cacheShape, capacity: tokens.length }), runtime.heads);
    for (let i = 0; i < tokens.length - 1; i++) {
      logSoftmax(runtime.forward(tokens[i], i, comparing), row);
      totals.nll -= row[tokens[i + 1]];
      const denseRow = reference.subarray(i * vocab, (i + 1) * vocab);
      totals.kl += klDivergence(denseRow, row);
      if (argmax(row) === argmax(denseRow)) totals.top1Agreements += 1;
      totals.predicted += 1;
      // Offloads and recalls run asynchronously; let them land before the next token.
      await cache.settled();
      totals.residentBytesSum += cache.byteLength() + policyBytes(policy);
      totals.offloadedBytesSum += store.byteLength();
      totals.fp16BytesSum += (i + 1) * layers * kvHeads * headDim * 4;
      totals.steps += 1;
    }
    totals.cosineSum += comparing.cosineSum;
    totals.cosineCount += comparing.cosineCount;
    const counters = pagingCounters(policy);
    totals.recalls += counters.recalls;
    totals.offloads += counters.offloads;
  }
  totals.seconds = (performance.now() - started) / 1000;
  return totals;
}

interface ResultRow {
  model: string;
  dataset: string;
  tokensPerSequence: number;
  sequences: number;
  codec: string;
  policy: string;
  budget: number | null;
  perplexity: number;
  densePerplexity: number;
  perplexityDelta: number;
  /** Mean KL(dense ‖ run) per predicted token, nats: fidelity to the dense model whatever the text. */
  klDivergence: number;
  /** Share of steps whose argmax token equals the dense run's. */
  top1Agreement: number;
  attentionCosine: number;
  /** Mean over steps of cache bytes (all-in) + bytes the policy holds. */
  residentBytes: number;
  /** residentBytes / (fp16 bytes of every token cached so far), mean over steps. */
  residentFractionOfFp16: number;
  offloadedBytes: number;
  recallsPerStep: number;
  offloadsPerStep: number;
  seconds: number;
}

function resultRow(base: Omit<ResultRow, "perplexity" | "perplexityDelta" | "klDivergence" | "top1Agreement" | "attentionCosine" | "residentBytes" | "residentFractionOfFp16" | "offloadedBytes" | "recallsPerStep" | "offloadsPerStep" | "seconds">, totals: RunTotals): ResultRow {
  const perplexity = Math.exp(totals.nll / totals.predicted);
  return {
    ...base,
    perplexity,
    perplexityDelta: perplexity - base.densePerplexity,
    klDivergence: totals.kl / totals.predicted,
    top1Agreement: totals.top1Agreements / totals.predicted,
    attentionCosine: totals.cosineSum / totals.cosineCount,
    residentBytes: totals.residentBytesSum / totals.steps,
    residentFractionOfFp16: totals.fp16BytesSum > 0 ? totals.residentBytesSum / totals.fp16BytesSum : 2,
    offloadedBytes: totals.offloadedBytesSum / totals.steps,
    recallsPerStep: totals.recalls / totals.steps,
    offloadsPerStep: totals.offloads / totals.steps,
    seconds: totals.seconds,
  };
}

async function main(): Promise<void> {
  const datasets: { name: string; load: (model: EvaluationModel) => number[][] }[] = [
    { name: "tinystories", load: (model) => tinyStoriesSequences(model, 1, storyCount) },
    { name: "wikitext-long", load: (model) => wikitextSequences(model, wikitextCount) },
  ];
  const runsPerSet = codecCases.length * (1 + policyCases.length * budgets.length);
  const progress = new BenchProgress(modelNames.length * datasets.length * (1 + runsPerSet));
  const rows: ResultRow[] = [];
  for (const modelName of modelNames) {
    const model = loadEvaluationModel(modelName);
    const { layers, headDim } = model.runtime.cacheShape;
    for (const dataset of datasets) {
      const sequences = dataset.load(model);
      const tokensPerSequence = Math.round(sequences.reduce((sum, tokens) => sum + tokens.length, 0) / sequences.length);
      const references: DenseReference[] = [];
      const dense = denseNll(model, sequences, references);
      const densePerplexity = Math.exp(dense.nll / dense.predicted);
      const base = { model: modelName, dataset: dataset.name, tokensPerSequence, sequences: sequences.length, densePerplexity };
      rows.push(resultRow({ ...base, codec: "fp32-dense", policy: "dense", budget: null }, dense));
      progress.step(`${modelName} ${dataset.name} dense ppl ${densePerplexity.toFixed(3)}`);
      for (const codec of codecCases) {
        const none = await policyRun(model, sequences, references, codec, undefined);
        rows.push(resultRow({ ...base, codec: codec.name, policy: "none", budget: null }, none));
        progress.step(`${modelName} ${dataset.name} ${codec.name} none`);
        for (const policyCase of policyCases) {
          for (const fraction of budgets) {
            const budget: TokenBudget = { fraction, minimum: 4 };
            const context: PolicyContext = { budget, fraction, layers, headDim, codec };
            const totals = await policyRun(model, sequences, references, codec, () => policyCase.create(context));
            const row = resultRow({ ...base, codec: codec.name, policy: policyCase.name, budget: fraction }, totals);
            rows.push(row);
            progress.step(`${modelName} ${dataset.name} ${codec.name} ${policyCase.name} @${fraction}: Δppl ${row.perplexityDelta.toFixed(3)} KL ${row.klDivergence.toFixed(4)} (${totals.seconds.toFixed(1)} s)`);
          }
        }
      }
    }
  }

  printTable("Policies × budget × codec (Δppl vs dense fp32; bytes are means over steps)", rows, [
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

  // The acceptance check: ArkVale with recall vs StreamingLLM at a 50 % budget on the long-context set.
  const comparisons = rows
    .filter((row) => row.dataset === "wikitext-long" && row.budget === 0.5 && row.policy === "arkvale")
    .map((arkvale) => {
      const streaming = rows.find(
        (row) => row.model === arkvale.model && row.dataset === arkvale.dataset && row.codec === arkvale.codec && row.budget === 0.5 && row.policy === "streaming-llm",
      ) as ResultRow;
      return {
        model: arkvale.model,
        codec: arkvale.codec,
        arkvaleDelta: arkvale.perplexityDelta,
        streamingDelta: streaming.perplexityDelta,
        arkvaleResident: arkvale.residentBytes,
        streamingResident: streaming.residentBytes,
        arkvaleWins: arkvale.perplexityDelta < streaming.perplexityDelta,
      };
    });
  printTable("ArkVale (recall) vs StreamingLLM, 50 % budget, wikitext long context", comparisons, [
    { header: "model", value: (row) => row.model },
    { header: "codec", value: (row) => row.codec },
    { header: "ArkVale Δppl", value: (row) => row.arkvaleDelta, digits: 3 },
    { header: "StreamingLLM Δppl", value: (row) => row.streamingDelta, digits: 3 },
    { header: "ArkVale B", value: (row) => Math.round(row.arkvaleResident), digits: 0 },
    { header: "StreamingLLM B", value: (row) => Math.round(row.streamingResident), digits: 0 },
    { header: "ArkVale better", value: (row) => (row.arkvaleWins ? "yes" : "no") },
  ]);
  const path = writeBenchJson("policies", {
    settings: { pageSize, residualWindow, budgets, storyCount, wikitextCount, quick, codecs: codecCases.map((codec) => codec.name) },
    rows,
    arkvaleVersusStreamingLlm: comparisons,
  });
  process.stdout.write(`\nwrote ${path}\n`);
}

await main();
