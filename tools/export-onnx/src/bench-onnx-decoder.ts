/**
 * ONNX decoder benchmark on stories260K: prefill latency and per-token decode latency at a given
 * past length, through the ORT adapter with onnxruntime-node and onnxruntime-web (wasm, in Node),
 * next to @kvpack/adapters' TypeScript LlamaRuntime measured in the same run as the baseline.
 * Prints a table and writes bench-results/onnx-decoder.json.
 *
 *   pnpm --filter @kvpack/export-onnx bench:onnx
 *   KVPACK_BENCH_QUICK=1 …   fewer steps (smoke run)
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { createOnnxDecoder, LlamaRuntime, loadLlama2cCheckpoint, loadOnnxRuntimeNode, type OnnxRuntimeModule } from "@kvpack/adapters";
import { DenseKVCache } from "@kvpack/cache";
import { exportLlamaDecoderOnnx } from "./llama-decoder-graph.js";
import { modelsDataDirectory } from "./test-support/models-data.js";

process.env.ORT_DISABLE_TELEMETRY ??= "1";
const quick = process.env.KVPACK_BENCH_QUICK === "1";
const pastLengths = quick ? [16, 128] : [16, 128, 448];
const decodeSteps = quick ? 16 : 48;
const repeats = quick ? 1 : 3;

interface Row {
  runtime: string;
  pastLength: number;
  prefillMilliseconds: number;
  decodeMillisecondsPerToken: number;
  decodeTokensPerSecond: number;
}

const weights = loadLlama2cCheckpoint(new Uint8Array(readFileSync(path.join(modelsDataDirectory, "stories260K.bin"))));
const story = (JSON.parse(readFileSync(path.join(modelsDataDirectory, "stories260K.reference.json"), "utf8")) as { val_story_1: { token_ids: number[] } }).val_story_1.token_ids;
const model = exportLlamaDecoderOnnx(weights);
const newCache = () => new DenseKVCache({ layers: weights.config.layers, kvHeads: weights.config.kvHeads, headDim: weights.config.headDim, capacity: 512 });

async function measureOnnx(name: string, ort: OnnxRuntimeModule, sessionOptions: object): Promise<Row[]> {
  const decoder = await createOnnxDecoder({ ort, model, sessionOptions });
  // Warm-up: the first runs pay for kernel selection and memory arenas.
  for (let run = 0; run < 3; run++) await decoder.forward(story.slice(0, 8), newCache());
  const rows: Row[] = [];
  for (const pastLength of pastLengths) {
    let bestPrefill = Infinity;
    let bestDecode = Infinity;
    for (let repeat = 0; repeat < repeats; repeat++) {
      const cache = newCache();
      const prefillStart = performance.now();
      await decoder.forward(story.slice(0, pastLength), cache);
      bestPrefill = Math.min(bestPrefill, performance.now() - prefillStart);
      const decodeStart = performance.now();
      for (let step = 0; step < decodeSteps; step++) await decoder.forward([story[pastLength + step]], cache);
      bestDecode = Math.min(bestDecode, (performance.now() - decodeStart) / decodeSteps);
    }
    rows.push({ runtime: name, pastLength, prefillMilliseconds: bestPrefill, decodeMillisecondsPerToken: bestDecode, decodeTokensPerSecond: 1000 / bestDecode });
    process.stdout.write(`  ${name} past ${pastLength}: decode ${bestDecode.toFixed(3)} ms/token\n`);
  }
  await decoder.release();
  return rows;
}

function measureRuntime(): Row[] {
  const runtime = new LlamaRuntime(weights);
  const rows: Row[] = [];
  for (const pastLength of pastLengths) {
    let bestPrefill = Infinity;
    let bestDecode = Infinity;
    for (let repeat = 0; repeat < repeats; repeat++) {
      const cache = newCache();
      const prefillStart = performance.now();
      for (let position = 0; position < pastLength; position++) runtime.forward(story[position], position, cache);
      bestPrefill = Math.min(bestPrefill, performance.now() - prefillStart);
      const decodeStart = performance.now();
      for (let step = 0; step < decodeSteps; step++) runtime.forward(story[pastLength + step], pastLength + step, cache);
      bestDecode = Math.min(bestDecode, (performance.now() - decodeStart) / decodeSteps);
    }
    rows.push({ runtime: "LlamaRuntime (TS, baseline)", pastLength, prefillMilliseconds: bestPrefill, decodeMillisecondsPerToken: bestDecode, decodeTokensPerSecond: 1000 / bestDecode });
    process.stdout.write(`  LlamaRuntime past ${pastLength}: decode ${bestDecode.toFixed(3)} ms/token\n`);
  }
  return rows;
}

process.stdout.write(`stories260K (${model.byteLength} bytes ONNX), past lengths ${pastLengths.join(", ")}, ${decodeSteps} decode steps, best of ${repeats}\n`);
const rows = [...measureRuntime(), ...(await measureOnnx("onnxruntime-node (CPU)", await loadOnnxRuntimeNode(), {}))];
const ortWeb = await import("onnxruntime-web");
ortWeb.env.wasm.numThreads = 1;
rows.push(...(await measureOnnx("onnxruntime-web (wasm, 1 thread, Node)", ortWeb, { executionProviders: ["wasm"] })));

const columns: [string, (row: Row) => string][] = [
  ["runtime", (row) => row.runtime],
  ["past", (row) => String(row.pastLength)],
  ["prefill ms", (row) => row.prefillMilliseconds.toFixed(2)],
  ["decode ms/token", (row) => row.decodeMillisecondsPerToken.toFixed(3)],
  ["tokens/s", (row) => row.decodeTokensPerSecond.toFixed(0)],
];
const cells = rows.map((row) => columns.map(([, value]) => value(row)));
const widths = columns.map(([header], index) => Math.max(header.length, ...cells.map((line) => line[index].length)));
const render = (line: string[]) => line.map((cell, index) => (index === 0 ? cell.padEnd(widths[index]) : cell.padStart(widths[index]))).join("  ");
process.stdout.write(`\n${render(columns.map(([header]) => header))}\n${widths.map((width) => "-".repeat(width)).join("  ")}\n${cells.map(render).join("\n")}\n`);

const resultsDirectory = process.env.KVPACK_BENCH_RESULTS ?? fileURLToPath(new URL("../../../bench-results/", import.meta.url));
mkdirSync(resultsDirectory, { recursive: true });
const output = path.join(resultsDirectory, "onnx-decoder.json");
writeFileSync(
  output,
  `${JSON.stringify({ benchmark: "onnx-decoder", createdAt: new Date().toISOString(), machine: { node: process.version, cpu: cpus()[0]?.model, cores: cpus().length }, model: "stories260K", quick, decodeSteps, repeats, rows }, null, 2)}\n`,
);
process.stdout.write(`\nwrote ${output}\n`);
