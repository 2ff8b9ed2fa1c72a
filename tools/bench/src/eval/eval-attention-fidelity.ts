/**
 * Attention fidelity frontier: for each codec × rate, encode every (layer, KV head) sequence of real
 * captured keys and values in pages of 32 tokens, then, for real queries at sampled positions,
 * compare dense attention over the prefix with the codec's compressed path (scores from codes,
 * softmax, accumulate in the codec domain). Reports attention-output cosine (mean and 1st
 * percentile), score MSE and KL per configuration, the Pareto frontier of compression ratio vs
 * cosine per model, and an SVG plot per model.
 *
 * Usage: pnpm eval:fidelity [--models stories260K,babyllama] [--capture a.kvpk,b.kvpk] [--positions 32] [--text FILE] [--stories a..b]
 * Models without a --capture file (see capture-kv.ts) are captured on the fly: TinyStories validation stories 1..4
 * + 1 wikitext window, or with --text the stories (or context windows) a..b (default 1..4) of FILE alone.
 * Writes bench-results/frontier.json and bench-results/frontier-<model>.svg.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { createCodec, type Codec, type CodecSpec } from "@kvpack/codecs";
import { AttentionScratch, FidelityAccumulator, encodePages, measureAttentionFidelity, queryPositions, type FidelitySummary, type HeadSequence } from "./attention-fidelity.js";
import { captureKv, defaultCaptureText } from "./capture-kv.js";
import { capturedOffset, readKvCapture, type KvCapture } from "./kv-capture-format.js";
import { loadEvaluationModel, type EvaluationModelName } from "./models-data.js";
import { llamaCppKvTypes } from "./codec-candidates.js";
import { compareFidelityWithReference, type FidelityReferenceComparison } from "./fidelity-reference.js";
import { storyRange, storySource } from "./story-source.js";
import { printTable } from "../bench-table.js";
import { benchResultsDirectory, writeBenchJson } from "../bench-output.js";
import { BenchProgress } from "../bench-progress.js";
import { paretoFrontier } from "../plot/pareto-frontier.js";
import { renderScatterPlotSvg, type MarkerShape, type PlotSeries } from "../plot/svg-scatter-plot.js";

const pageSize = 32;
const fibquantRates = [0.5, 0.75, 1, 1.5, 2, 2.5, 3, 4];
/** Largest codebook built per block size: keeps Lloyd refinement and brute-force encoding to seconds. */
const fibquantMaximumSize: Record<number, number> = { 2: 256, 4: 1024 };
const comparisonRatios = [3, 4, 6, 8, 12, 16];

type Family = "FibQuant k=2" | "FibQuant k=4" | "TurboQuant" | "KIVI" | "QuaRot" | "llama.cpp" | "int8" | "fp16";

const familyStyle: Record<Family, { color: string; marker: MarkerShape }> = {
  "FibQuant k=2": { color: "#d62728", marker: "circle" },
  "FibQuant k=4": { color: "#ff7f0e", marker: "diamond" },
  TurboQuant: { color: "#1f77b4", marker: "square" },
  KIVI: { color: "#2ca02c", marker: "triangle" },
  QuaRot: { color: "#9467bd", marker: "cross" },
  "llama.cpp": { color: "#8c564b", marker: "triangle" },
  int8: { color: "#555555", marker: "plus" },
  fp16: { color: "#000000", marker: "plus" },
};

interface SweepConfiguration {
  readonly family: Family;
  readonly label: string;
  /** Keys centered per block (channel mean subtracted); values never are. */
  readonly centered: boolean;
  readonly keys: CodecSpec;
  readonly values: CodecSpec;
}

interface FrontierPoint extends FidelitySummary {
  model: string;
  codec: Family;
  label: string;
  centered: boolean;
  spec: { keys: CodecSpec; values: CodecSpec };
  keyBitsPerElement: number;
  valueBitsPerElement: number;
  bitsPerElement: number;
  compressionRatio: number;
  seconds: number;
}

function argument(name: string, fallback: string): string {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 && process.argv[index + 1] !== undefined ? process.argv[index + 1] : fallback;
}

/** Whether this build of @kvpack/codecs honours `center` (a different codec id means it was accepted). */
function codecsSupportCentering(): boolean {
  try {
    const plain = createCodec({ kind: "turboquant", dimension: 8, bits: 2, norm: "log8" });
    const centered = createCodec({ kind: "turboquant", dimension: 8, bits: 2, norm: "log8", center: true } as CodecSpec);
    return plain.codecId !== centered.codecId;
  } catch {
    return false;
  }
}

function describe(spec: CodecSpec): string {
  const centered = (spec as { center?: boolean }).center ? " centered" : "";
  switch (spec.kind) {
    case "fibquant":
      return `fq k${spec.blockSize} N${Math.round(2 ** (spec.blockSize * spec.bits))}${centered}`;
    case "turboquant":
      return `tq${spec.bits}${centered}`;
    case "kivi":
      return `kivi${spec.bits}`;
    case "quarot":
      return `int${spec.bits ?? 4}`;
    default:
      return spec.kind;
  }
}

function pair(family: Family, keys: CodecSpec, values: CodecSpec): SweepConfiguration {
  const label = JSON.stringify(keys) === JSON.stringify(values) ? describe(keys) : `K ${describe(keys)} / V ${describe(values)}`;
  return { family, label, centered: (keys as { center?: boolean }).center === true, keys, values };
}

/**
 * Each spherical codec at each rate four ways: keys and values alike; keys centered per page; and,
 * keys centered, one side one bit richer: keys (softmax amplifies key errors where attention is
 * peaked) or values (value errors reach the output directly).
 */
function sweep(dimension: number, centering: boolean): SweepConfiguration[] {
  const configurations: SweepConfiguration[] = [
    pair("fp16", { kind: "fp16", dimension }, { kind: "fp16", dimension }),
    pair("int8", { kind: "int8", dimension }, { kind: "int8", dimension }),
  ];
  const centered = (spec: CodecSpec) => ({ ...spec, center: true }) as CodecSpec;
  const spherical = (family: Family, specAt: (rate: number) => CodecSpec | undefined, rates: number[]) => {
    for (const rate of rates) {
      const values = specAt(rate);
      if (!values) continue;
      configurations.push(pair(family, values, values));
      if (!centering) continue;
      configurations.push(pair(family, centered(values), values));
      const richer = specAt(rate + 1);
      if (richer) {
        configurations.push(pair(family, centered(richer), values));
        configurations.push(pair(family, centered(values), richer));
      }
    }
  };
  for (const blockSize of [2, 4]) {
    if (dimension % blockSize !== 0) continue;
    const fibquant = (rate: number): CodecSpec | undefined => {
      const size = Math.round(2 ** (blockSize * rate));
      return size >= 2 && size <= fibquantMaximumSize[blockSize] ? { kind: "fibquant", dimension, blockSize, bits: rate, norm: "log8" } : undefined;
    };
    spherical(blockSize === 2 ? "FibQuant k=2" : "FibQuant k=4", fibquant, blockSize === 4 ? [0.25, ...fibquantRates] : fibquantRates);
  }
  spherical("TurboQuant", (bits) => (bits <= 4 ? { kind: "turboquant", dimension, bits, norm: "log8" } : undefined), [1, 2, 3, 4]);
  for (const [keyBits, valueBits] of [[2, 2], [4, 2], [4, 4]] as const) {
    configurations.push(pair("KIVI", { kind: "kivi", dimension, bits: keyBits, role: "key" }, { kind: "kivi", dimension, bits: valueBits, role: "value" }));
  }
  for (const bits of [2, 3, 4] as const) configurations.push(pair("QuaRot", { kind: "quarot", dimension, bits }, { kind: "quarot", dimension, bits }));
  // llama.cpp's cache types, K and V alike and with the richer type on keys (llama.cpp sets them independently).
  llamaCppKvTypes.forEach((keyType, keyIndex) => {
    for (const valueType of llamaCppKvTypes.slice(keyIndex)) configurations.push(pair("llama.cpp", { kind: keyType, dimension }, { kind: valueType, dimension }));
  });
  return configurations;
}

function evaluate(capture: KvCapture, configuration: SweepConfiguration, keyCodec: Codec, valueCodec: Codec, positionsPerSequence: number): FidelitySummary {
  const { layers, heads, kvHeads, headDim } = capture.shape;
  const group = heads / kvHeads;
  const capacity = Math.max(...capture.sequences.map((sequence) => sequence.tokens.length));
  const scratch = new AttentionScratch(capacity, headDim, pageSize);
  const metrics = new FidelityAccumulator();
  if (keyCodec.dimension !== headDim) throw new Error(`configuration ${configuration.label} is for head_dim ${keyCodec.dimension}, capture has ${headDim}`);
  for (const sequence of capture.sequences) {
    const length = sequence.tokens.length;
    const positions = queryPositions(length, positionsPerSequence);
    for (let layer = 0; layer < layers; layer++) {
      for (let kvHead = 0; kvHead < kvHeads; kvHead++) {
        const start = capturedOffset(kvHeads, headDim, length, layer, kvHead, 0);
        const keys = sequence.keys.subarray(start, start + length * headDim);
        const values = sequence.values.subarray(start, start + length * headDim);
        const head: HeadSequence = {
          keys,
          values,
          keyPages: encodePages(keyCodec, keys, length, headDim, pageSize),
          valuePages: encodePages(valueCodec, values, length, headDim, pageSize),
        };
        for (let member = 0; member < group; member++) {
          const queryHead = kvHead * group + member;
          for (const position of positions) {
            const at = capturedOffset(heads, headDim, length, layer, queryHead, position);
            scratch.query.set(sequence.queries.subarray(at, at + headDim));
            const result = measureAttentionFidelity(scratch.query, head, position + 1, keyCodec, valueCodec, scratch);
            metrics.add(result.cosine, result.scoreMse, result.kl);
          }
        }
      }
    }
  }
  return metrics.summary();
}

/** Captures given with --capture (comma-separated KVPK files), keyed by the model each was taken from. */
function capturesFromFiles(paths: string[]): Map<string, { path: string; capture: KvCapture }> {
  const byModel = new Map<string, { path: string; capture: KvCapture }>();
  for (const path of paths) {
    const capture = readKvCapture(resolve(path));
    if (byModel.has(capture.model)) throw new Error(`--capture: two files hold model ${capture.model}`);
    byModel.set(capture.model, { path, capture });
  }
  return byModel;
}

function captureOnTheFly(name: EvaluationModelName): KvCapture {
  const model = loadEvaluationModel(name);
  const textFile = process.argv.includes("--text") ? argument("text", "") : undefined;
  const range = storyRange(argument("stories", "1..4"), 0);
  if (!textFile && range.first === 1 && range.last === 4) return captureKv(model, defaultCaptureText(model, 4, 1));
  const source = storySource(textFile);
  const text = [];
  for (let index = range.first; index <= range.last; index++) {
    const tokens = source.sequence(model, index);
    if (!tokens) throw new Error(`${source.name} has no ${source.kind} ${index} for ${name} (it has ${source.count(model)})`);
    text.push({ source: `${source.name}:${index}`, tokens });
  }
  return captureKv(model, text);
}

function writePlot(model: string, capture: KvCapture, points: FrontierPoint[], frontier: FrontierPoint[], positionsPerSequence: number): string {
  const families = Object.keys(familyStyle) as Family[];
  const series: PlotSeries[] = families
    .filter((family) => points.some((point) => point.codec === family))
    .map((family) => ({
      name: family,
      ...familyStyle[family],
      points: points
        .filter((point) => point.codec === family)
        .map((point) => ({
          x: point.compressionRatio,
          y: point.attentionCosine,
          hollow: point.centered,
          label: `${point.label}: ${point.compressionRatio.toFixed(2)}×, cosine ${point.attentionCosine.toFixed(5)}, ${point.bitsPerElement.toFixed(3)} bits all-in`,
        })),
    }));
  const tokens = capture.sequences.reduce((sum, sequence) => sum + sequence.tokens.length, 0);
  const bestBelowFp16 = Math.max(...points.filter((point) => point.codec !== "fp16").map((point) => point.attentionCosine));
  const yMaximum = 1 - Math.max(1e-7, (1 - bestBelowFp16) / Math.sqrt(10));
  const svg = renderScatterPlotSvg({
    title: `${model}: attention cosine vs compression (head_dim ${capture.shape.headDim})`,
    subtitle: `${capture.sequences.length} real sequences (${tokens} tokens), ${positionsPerSequence} query positions each, all layers and heads; pages of ${pageSize}, all-in bits`,
    x: { label: "compression ratio vs fp16 (16 / all-in bits per element, K and V averaged)", scale: "log2", minimum: 0.9, maximum: 20 },
    // Top edge half a decade above int8 so the codecs get the room; fp16 (cosine ≈ 1) sits on the edge.
    y: { label: "attention output cosine (mean; spaced by log of 1 − cosine)", scale: "complement-log", maximum: yMaximum },
    series,
    lines: [{ name: "Pareto frontier", color: "#777777", dashed: true, points: frontier.map((point) => ({ x: point.compressionRatio, y: point.attentionCosine })) }],
    legendNotes: ["hollow: keys centered per page", "K … / V …: one side 1 bit richer", "norms: 8-bit log (spherical codecs)", "fp16 (cosine ≈ 1) sits on the top edge"],
  });
  mkdirSync(benchResultsDirectory(), { recursive: true });
  const path = resolve(benchResultsDirectory(), `frontier-${model}.svg`);
  writeFileSync(path, svg);
  return path;
}

function main(): void {
  const modelNames = argument("models", "stories260K,babyllama").split(",") as EvaluationModelName[];
  const fromFiles = capturesFromFiles(process.argv.includes("--capture") ? argument("capture", "").split(",").filter((path) => path.length > 0) : []);
  for (const model of fromFiles.keys()) {
    if (!modelNames.includes(model as EvaluationModelName)) throw new Error(`--capture holds model ${model}, which is not in --models ${modelNames.join(",")}`);
  }
  const positionsPerSequence = Number(argument("positions", "32"));
  const centering = codecsSupportCentering();
  process.stderr.write(`key centering ${centering ? "supported: centered variants included" : "not supported by this @kvpack/codecs build: skipped"}\n`);
  const allPoints: FrontierPoint[] = [];
  const frontiers: Record<string, { label: string; codec: Family; compressionRatio: number; attentionCosine: number }[]> = {};
  const comparisons: Record<string, unknown>[] = [];
  const versusLlamaCppQ4_0: ({ model: string } & FidelityReferenceComparison)[] = [];
  const captures: Record<string, unknown>[] = [];
  const plots: string[] = [];
  for (const name of modelNames) {
    let started = performance.now();
    const given = fromFiles.get(name);
    const capture = given?.capture ?? captureOnTheFly(name);
    const { headDim } = capture.shape;
    captures.push({ model: name, shape: capture.shape, sequences: capture.sequences.map((sequence) => ({ source: sequence.source, tokens: sequence.tokens.length })) });
    process.stderr.write(`[${name}] KV ${given ? `loaded from ${given.path}` : "captured"} in ${((performance.now() - started) / 1000).toFixed(1)} s: ${capture.sequences.length} sequences, head_dim ${headDim}\n`);
    const configurations = sweep(headDim, centering);
    const progress = new BenchProgress(configurations.length);
    const points: FrontierPoint[] = [];
    for (const configuration of configurations) {
      started = performance.now();
      const keyCodec = createCodec(configuration.keys);
      const valueCodec = createCodec(configuration.values);
      const summary = evaluate(capture, configuration, keyCodec, valueCodec, positionsPerSequence);
      const keyBitsPerElement = keyCodec.bitsPerElement(pageSize);
      const valueBitsPerElement = valueCodec.bitsPerElement(pageSize);
      const bitsPerElement = (keyBitsPerElement + valueBitsPerElement) / 2;
      const point: FrontierPoint = {
        model: name,
        codec: configuration.family,
        label: configuration.label,
        centered: configuration.centered,
        spec: { keys: configuration.keys, values: configuration.values },
        keyBitsPerElement,
        valueBitsPerElement,
        bitsPerElement,
        compressionRatio: 16 / bitsPerElement,
        ...summary,
        seconds: (performance.now() - started) / 1000,
      };
      points.push(point);
      progress.step(`${name} ${configuration.label}: ${point.compressionRatio.toFixed(2)}×, cosine ${point.attentionCosine.toFixed(5)} (p01 ${point.cosineP01.toFixed(4)}), KL ${point.kl.toExponential(2)}`);
    }
    const frontier = paretoFrontier(points, (point) => point.compressionRatio, (point) => point.attentionCosine);
    frontiers[name] = frontier.map((point) => ({ label: point.label, codec: point.codec, compressionRatio: point.compressionRatio, attentionCosine: point.attentionCosine }));
    for (const ratio of comparisonRatios) {
      const best: Record<string, { label: string; compressionRatio: number; attentionCosine: number } | null> = {};
      for (const family of ["FibQuant k=2", "FibQuant k=4", "TurboQuant", "KIVI", "QuaRot", "llama.cpp"] as Family[]) {
        const candidates = points.filter((point) => point.codec === family && point.compressionRatio >= ratio - 1e-9);
        const top = candidates.sort((a, b) => b.attentionCosine - a.attentionCosine)[0];
        best[family] = top ? { label: top.label, compressionRatio: top.compressionRatio, attentionCosine: top.attentionCosine } : null;
      }
      comparisons.push({ model: name, atLeastCompressionRatio: ratio, bestPerFamily: best });
    }
    // Issue #13: does a spherical codec beat llama.cpp's q4_0 cache (K and V q4_0) at no more all-in bits?
    const reference = points.find((point) => point.codec === "llama.cpp" && point.label === "q4_0");
    if (reference) versusLlamaCppQ4_0.push({ model: name, ...compareFidelityWithReference(reference, points, ["FibQuant k=2", "FibQuant k=4", "TurboQuant", "KIVI", "QuaRot"]) });
    const onFrontier = new Set(frontier);
    printTable(`${name}: attention fidelity on captured KV (head_dim ${headDim}, pages of ${pageSize}, ${points[0]?.queries ?? 0} queries per configuration); * = Pareto frontier`, points, [
      { header: "codec", value: (point) => point.codec },
      { header: "configuration", value: (point) => `${onFrontier.has(point) ? "* " : "  "}${point.label}` },
      { header: "bits K", value: (point) => point.keyBitsPerElement, digits: 3 },
      { header: "bits V", value: (point) => point.valueBitsPerElement, digits: 3 },
      { header: "× vs fp16", value: (point) => point.compressionRatio, digits: 2 },
      { header: "cosine", value: (point) => point.attentionCosine, digits: 5 },
      { header: "cos p01", value: (point) => point.cosineP01, digits: 4 },
      { header: "score MSE", value: (point) => point.scoreMse, digits: 5 },
      { header: "KL", value: (point) => point.kl, digits: 5 },
      { header: "s", value: (point) => point.seconds, digits: 1 },
    ]);
    plots.push(writePlot(name, capture, points, frontier, positionsPerSequence));
    allPoints.push(...points);
  }
  const path = writeBenchJson("frontier", {
    settings: {
      pageSize,
      queryPositionsPerSequence: positionsPerSequence,
      keyCentering: centering,
      note:
        "attentionCosine: mean over (query position, query head, layer) of cos(o, ô), o = softmax(q·Kᵀ/√d)·V dense (float64) and ô from codec.scores + softmax + accumulate/finishAccumulator on pages of 32 tokens; every token compressed (no full-precision window; the last partial page is encoded as it is, with weights past the prefix zeroed); scoreMse on the scaled logits q·k/√d; kl = KL(dense softmax ‖ compressed softmax) in nats; compressionRatio = 16 / all-in bits per element of full pages (codes, norms, means, scales, block header), keys and values averaged; spherical codecs (FibQuant, TurboQuant) store 8-bit log norms; versusLlamaCppQ4_0: per model, each family's best point at ≤ the all-in bits of llama.cpp q4_0 (K and V q4_0), metric by metric (higher cosine and cosineP01, lower scoreMse and kl), beside q4_0's value; beats = strictly better (one run, no interval)",
    },
    captures,
    points: allPoints,
    frontier: frontiers,
    comparisons,
    versusLlamaCppQ4_0,
  });
  process.stdout.write(`\nwrote ${path}\n${plots.map((plot) => `wrote ${plot}`).join("\n")}\n`);
}

main();
