/**
 * kvpack against llama.cpp on the same GGUF files, same machine, same thread count, one run (each
 * rate the median of a few timed trials).
 * A random-weight Llama of SmolLM2-135M's shape (dim 576, 9 query / 3 KV heads, head_dim 64,
 * hidden 1536, 30 layers, vocab 49,152 with a synthetic SentencePiece vocabulary) is written by
 * kvpack's writeLlamaGguf as Q8_0 and as F16. Each engine config runs in its own child process
 * (its peak RSS is its own max RSS): kvpack's KernelLlamaRuntime on the WASM backend over a
 * @kvpack/cache CompressedKVCache (dense fp16, TurboQuant 6/4 and 4/4, FibQuant k=2 3/3 and 2/2),
 * attending on the WASM paged-attention kernels (WasmPageAttention, plugged in by the runtime), and llama.cpp
 * through node-llama-cpp's prebuilt CPU binary with KV f16 / q8_0 / q4_0, flash attention on.
 * How each child fills its cache and times decode and prefill: see vs-llama-cpp/*-child.ts.
 *
 *   pnpm bench:vs-llama-cpp                          contexts 512, 4,096, 16,384 (about 20 minutes)
 *   KVPACK_BENCH_QUICK=1 pnpm bench:vs-llama-cpp     contexts 512 and 4,096
 *   KVPACK_BENCH_TRIALS=n                            timed repeats per prefill and decode context, median reported (default 3; quick 1)
 *   KVPACK_BENCH_THREADS=n                           threads for both engines (default 1; kvpack's WASM matmuls split over n)
 *   KVPACK_BENCH_ONLY=kvpack|llama.cpp               one engine only
 *   KVPACK_BENCH_WEIGHTS=Q8_0|F16                    one weight file only
 *   KVPACK_BENCH_CONTEXTS=512,16384                  these decode contexts only
 *   KVPACK_BENCH_KV="f16;fibquant 2/2"               these KV configs only (llama.cpp types and kvpack caches, by name)
 *   KVPACK_BENCH_LLAMA_CPP_QUANTIZED_KV_MAX_CONTEXT=4096   llama.cpp's q8_0 / q4_0 KV only up to this context (their
 *                                                    flash-attention prefill to 16,384 takes ~25 min on one core)
 *   KVPACK_BENCH_F16_MAX_CONTEXT=4096                the F16 file's jobs only up to this context (the targets are on Q8_0)
 * The JSON is rewritten after every job (`complete: false`, `pendingJobs`), so a run cut short keeps its rows.
 *   KVPACK_BENCH_RESULTS=dir                         write the JSON there instead of bench-results/ (a partial run
 *                                                    should not replace the README's full one)
 *   KVPACK_BENCH_FP32_WEIGHTS=1                      kvpack dequantizes weights to fp32 (the path before block kernels)
 *   KVPACK_BENCH_TS_ATTENTION=1                      kvpack caches attend in TypeScript (the path before WasmPageAttention)
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { writeLlamaGguf } from "@kvpack/adapters";
import { writeBenchJson } from "./bench-output.js";
import { printTable } from "./bench-table.js";
import { type ChildRequest, type ChildResult, resultMarker } from "./vs-llama-cpp/child-protocol.js";
import { kvpackCaches } from "./vs-llama-cpp/kvpack-caches.js";
import { randomLlamaWeights, smolLm2Config, syntheticTokenizer } from "./vs-llama-cpp/random-smollm.js";

const quick = process.env.KVPACK_BENCH_QUICK === "1";
const threads = Number(process.env.KVPACK_BENCH_THREADS ?? 1);
const only = process.env.KVPACK_BENCH_ONLY;
const contexts = process.env.KVPACK_BENCH_CONTEXTS ? parseContexts(process.env.KVPACK_BENCH_CONTEXTS) : quick ? [512, 4096] : [512, 4096, 16_384];
const kvFilter = process.env.KVPACK_BENCH_KV?.split(";").map((name) => name.trim());
const quantizedKvMaxContext = Number(process.env.KVPACK_BENCH_LLAMA_CPP_QUANTIZED_KV_MAX_CONTEXT ?? Infinity);

const f16MaxContext = Number(process.env.KVPACK_BENCH_F16_MAX_CONTEXT ?? Infinity);

/** The decode contexts of one job: llama.cpp's quantized KV types stop at quantizedKvMaxContext, the F16 file's jobs at f16MaxContext. */
function jobContexts(engine: Row["engine"], kv: string, weights: Row["weights"]): number[] {
  const limit = Math.min(engine === "llama.cpp" && kv !== "f16" ? quantizedKvMaxContext : Infinity, weights === "F16" ? f16MaxContext : Infinity);
  const kept = contexts.filter((context) => context <= limit);
  return kept.length > 0 ? kept : contexts.slice(0, 1);
}

/** "512,4096" → [512, 4096], ascending; anything else is a usage error. */
function parseContexts(text: string): number[] {
  const values = text.split(",").map((part) => Number(part.trim()));
  if (values.some((value) => !Number.isInteger(value) || value < 1)) throw new Error(`KVPACK_BENCH_CONTEXTS must be positive integers separated by commas, got ${JSON.stringify(text)}`);
  return values.sort((a, b) => a - b);
}
const decodeSteps = quick ? 4 : 8;
/** Timed repeats per prefill and per decode context (the median reported): single runs on a shared VM spread by up to ±30 %. */
const trials = Number(process.env.KVPACK_BENCH_TRIALS ?? (quick ? 1 : 3));
if (!Number.isInteger(trials) || trials < 1) throw new Error(`KVPACK_BENCH_TRIALS must be a positive integer, got ${JSON.stringify(process.env.KVPACK_BENCH_TRIALS)}`);
const prefillTokens = quick ? 32 : 128;
const llamaCppKv = ["f16", "q8_0", "q4_0"] as const;
const weightTypes = (["Q8_0", "F16"] as const).filter((type) => !process.env.KVPACK_BENCH_WEIGHTS || process.env.KVPACK_BENCH_WEIGHTS === type);

export interface Row {
  engine: "kvpack" | "llama.cpp";
  weights: "Q8_0" | "F16";
  kv: string;
  context: number;
  /** Median of decodeTrials. */
  decodeTokensPerSecond: number;
  decodeTrials: readonly number[];
  /** Median of prefillTrials. */
  prefillTokensPerSecond: number;
  prefillTrials: readonly number[];
  peakRssBytes: number;
  kvBytesPerToken: number;
}

const here = dirname(fileURLToPath(import.meta.url));

/** Runs a child with the same Node flags (tsx's loader) and returns its result line. */
function runChild(script: string, request: ChildRequest): Promise<ChildResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [...process.execArgv, join(here, "vs-llama-cpp", script), JSON.stringify(request)], { stdio: ["ignore", "pipe", "inherit"] });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.on("error", reject);
    child.on("close", (code) => {
      const line = output.split("\n").find((text) => text.startsWith(resultMarker));
      if (code !== 0 || !line) reject(new Error(`${script} ${request.weights} ${request.kv} exited with ${code}\n${output.slice(-2000)}`));
      else resolvePromise(JSON.parse(line.slice(resultMarker.length)) as ChildResult);
    });
  });
}

async function main(): Promise<void> {
  const started = performance.now();
  const directory = mkdtempSync(join(tmpdir(), "kvpack-vs-llama-cpp-"));
  try {
    const config = smolLm2Config;
    const weights = randomLlamaWeights(config);
    const tokenizer = syntheticTokenizer(config.vocabSize);
    const files: Record<string, string> = {};
    const fileBytes: Record<string, number> = {};
    for (const type of weightTypes) {
      const bytes = writeLlamaGguf(weights, tokenizer, { tensorType: type, name: `random SmolLM2-135M shape ${type}` });
      files[type] = join(directory, `smollm2-shape-${type}.gguf`);
      fileBytes[type] = bytes.length;
      writeFileSync(files[type], bytes);
    }
    process.stdout.write(`wrote ${weightTypes.map((type) => `${type} ${(fileBytes[type] / 1e6).toFixed(1)} MB`).join(", ")} in ${((performance.now() - started) / 1000).toFixed(1)} s\n`);

    // Random ids ≥ 3 (past <unk>, <s>, </s>), the same for every config.
    const tokens: number[] = [];
    let seed = 7;
    for (let i = 0; i < contexts[contexts.length - 1] + 64; i++) {
      seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
      tokens.push(3 + (seed % (config.vocabSize - 3)));
    }
    const rows: Row[] = [];
    const failures: string[] = [];
    const kvpackAttention: Record<string, string> = {};
    const jobs: { script: string; engine: Row["engine"]; kv: string }[] = [];
    const wanted = (kv: string) => !kvFilter || kvFilter.includes(kv);
    if (only !== "kvpack") for (const kv of llamaCppKv.filter(wanted)) jobs.push({ script: "llama-cpp-child.ts", engine: "llama.cpp", kv });
    if (only !== "llama.cpp") for (const kv of kvpackCaches.filter(wanted)) jobs.push({ script: "kvpack-child.ts", engine: "kvpack", kv });
    if (jobs.length === 0) throw new Error(`KVPACK_BENCH_KV ${JSON.stringify(process.env.KVPACK_BENCH_KV)} names no config; llama.cpp: ${llamaCppKv.join(", ")}; kvpack: ${kvpackCaches.join(", ")}`);
    // Written after every job (complete: false, with the jobs still to run), so a run cut short keeps what it measured.
    const writeResults = (complete: boolean, pendingJobs: string[] = []): string =>
      writeBenchJson("vs-llama-cpp", {
        complete,
        ...(complete ? {} : { pendingJobs }),
        quick,
        ...(kvFilter ? { kvFilter } : {}),
        ...(Number.isFinite(quantizedKvMaxContext) ? { llamaCppQuantizedKvMaxContext: quantizedKvMaxContext } : {}),
        ...(Number.isFinite(f16MaxContext) ? { f16MaxContext } : {}),
        threads,
        kvpackWeights: process.env.KVPACK_BENCH_FP32_WEIGHTS === "1" ? "dequantized to fp32" : "file blocks (quantizedMatmul per token, quantizedMatmulBatch per prefill chunk)",
        kvpackAttention,
        model: { shape: "SmolLM2-135M", random: true, ...config, fileBytes },
        contexts,
        decodeSteps,
        prefillTokens,
        trials,
        method:
          "one child process per engine config; peakRssBytes = the child's own peak RSS (VmHWM of its address space; ru_maxrss would include the parent's, which survives exec) read once that context was timed (contexts ascend, so each row is the peak up to its context). llama.cpp (node-llama-cpp 3.21.1 prebuilt CPU, flash attention): real prefill to each context, then greedy decode steps timed. " +
          "kvpack (KernelLlamaRuntime, WASM backend, @kvpack/cache CompressedKVCache attending through WasmPageAttention — kvpackAttention names each config's backend): " +
          "the cache filled with synthetic rows through its own append (encoded by the codec) to each context, one untimed step (uploads the filled pages to the kernels' heap), then real decode steps timed; " +
          "synthetic rows because kvpack's prefill is far slower than llama.cpp's, and a step's cost depends on the cache length and codec, not the rows' values. " +
          "decodeTokensPerSecond and prefillTokensPerSecond are the medians of `trials` timed runs (decodeTrials, prefillTrials). prefillTokensPerSecond: the first prefillTokens tokens from an empty cache (kvpack: runtime.prefill in chunks of 64 after an untimed warm-up prefill; llama.cpp: the sequence cleared before each). kvBytesPerToken: kvpack cache.byteLength() / tokens; llama.cpp 2 · layers · kvDim · ggml block bytes / 32.",
        failures,
        seconds: (performance.now() - started) / 1000,
        rows,
      });
    let done = 0;
    const pending = (): string[] => weightTypes.flatMap((type) => jobs.map((job) => `${job.engine} ${type} ${job.kv}`)).slice(done);
    for (const weightsType of weightTypes) {
      for (const job of jobs) {
        const request: ChildRequest = { engine: job.engine, weights: weightsType, modelPath: files[weightsType], kv: job.kv, contexts: jobContexts(job.engine, job.kv, weightsType), decodeSteps, prefillTokens, trials, threads, tokens };
        process.stdout.write(`${job.engine} ${weightsType} KV ${job.kv} …\n`);
        try {
          const result = await runChild(job.script, request);
          if (result.attention !== undefined) kvpackAttention[`${weightsType} ${job.kv}`] = result.attention;
          for (const at of result.contexts) {
            rows.push({
              engine: job.engine,
              weights: weightsType,
              kv: job.kv,
              context: at.context,
              decodeTokensPerSecond: at.decodeTokensPerSecond,
              decodeTrials: at.decodeTrials,
              prefillTokensPerSecond: result.prefillTokensPerSecond,
              prefillTrials: result.prefillTrials,
              peakRssBytes: at.peakRssBytes,
              kvBytesPerToken: at.kvBytesPerToken,
            });
          }
        } catch (error) {
          failures.push(error instanceof Error ? error.message : String(error));
          process.stdout.write(`  failed: ${failures[failures.length - 1].split("\n")[0]}\n`);
        }
        done += 1;
        if (done < weightTypes.length * jobs.length) writeResults(false, pending());
      }
    }

    printTable(`decode at context (${decodeSteps} steps, median of ${trials}), prefill (${prefillTokens} tokens from empty), ${threads} thread(s)`, rows, [
      { header: "engine", value: (row) => row.engine },
      { header: "weights", value: (row) => row.weights },
      { header: "KV", value: (row) => row.kv },
      { header: "context", value: (row) => row.context, digits: 0 },
      { header: "decode tok/s", value: (row) => row.decodeTokensPerSecond, digits: 2 },
      { header: "prefill tok/s", value: (row) => row.prefillTokensPerSecond, digits: 1 },
      { header: "peak RSS MB", value: (row) => row.peakRssBytes / 1e6, digits: 0 },
      { header: "KV B/token", value: (row) => row.kvBytesPerToken, digits: 0 },
    ]);
    for (const failure of failures) process.stdout.write(`failed: ${failure}\n`);
    const path = writeResults(true);
    process.stdout.write(`\nwrote ${path} in ${((performance.now() - started) / 1000).toFixed(0)} s\n`);
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
