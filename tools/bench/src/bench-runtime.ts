/**
 * Runtime benchmark: tokens per second of the Llama forward pass on stories260K, greedy decoding 128
 * tokens from the reference prompt, for the synchronous reference LlamaRuntime (the baseline) and
 * KernelLlamaRuntime on the ts, wasm and webgpu kernel backends (RMSNorm/RoPE/SwiGLU as backend
 * kernels, and as host loops), over a dense fp32 cache and a 4-bit TurboQuant compressed cache.
 * All in the same run, interleaved trials, best kept. Prints a table, writes bench-results/runtime.json.
 *
 *   pnpm bench:runtime                         (about a minute or two; webgpu on SwiftShader is the slow part)
 *   KVPACK_BENCH_QUICK=1 pnpm bench:runtime    fewer trials
 *
 * WebGPU in Node: the `webgpu` package with VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json
 * (set by default); recorded as skipped, with the reason, when no adapter is available.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { argmax, KernelLlamaRuntime, LlamaRuntime, loadLlama2cCheckpoint, ResidentLlamaWeights, type LlamaWeights } from "@kvpack/adapters";
import { CompressedKVCache, DenseKVCache, type KVCache, type KVCacheShape } from "@kvpack/cache";
import { createTypeScriptBackend, createWasmBackend, type KernelBackend } from "@kvpack/kernels";
import { writeBenchJson } from "./bench-output.js";
import { BenchProgress } from "./bench-progress.js";
import { printTable } from "./bench-table.js";
import { nodeWebGpu } from "./bench-webgpu.js";
import { modelsDataDirectory } from "./eval/models-data.js";

const quick = process.env.KVPACK_BENCH_QUICK === "1";
const generatedTokens = 128;
const trials = quick ? 2 : 5;

interface Reference {
  readonly prompt_token_ids: number[];
  readonly greedy_token_ids: number[];
}

type CacheName = "dense fp32" | "turboquant 4-bit";

interface Candidate {
  readonly runtime: string;
  readonly backend: string;
  readonly vectorKernels: string;
  readonly note: string;
  /** One forward step; sync or async. */
  readonly forward: (token: number, position: number, cache: KVCache) => Float32Array | Promise<Float32Array>;
}

interface Row {
  runtime: string;
  backend: string;
  vectorKernels: string;
  cache: CacheName;
  tokensPerSecond: number;
  /** Every trial's tokens/s, in order. */
  trialTokensPerSecond: number[];
  /** Best over the baseline (LlamaRuntime, same cache) measured in this run. */
  speedupOverLlamaRuntime: number;
  cacheBytes: number;
  /** The 128 generated ids equal the baseline's on the same cache. */
  sameIdsAsLlamaRuntime: boolean;
  /** The first ids equal stories260K.reference.json greedy_token_ids (dense cache only). */
  matchesReferenceGreedy: boolean | "n/a";
  note: string;
}

function createCache(name: CacheName, shape: KVCacheShape, capacity: number): KVCache {
  if (name === "dense fp32") return new DenseKVCache({ ...shape, capacity });
  const spec = { kind: "turboquant" as const, dimension: shape.headDim, bits: 4 };
  return new CompressedKVCache({ ...shape, keys: spec, values: spec });
}

/** Prefills the prompt, then decodes `generatedTokens` greedily; times only the decode steps. */
async function decode(candidate: Candidate, cacheName: CacheName, shape: KVCacheShape, promptIds: readonly number[]) {
  const cache = createCache(cacheName, shape, promptIds.length + generatedTokens);
  const ids = [...promptIds];
  let logits: Float32Array = new Float32Array(0);
  for (let position = 0; position < promptIds.length; position++) logits = await candidate.forward(ids[position], position, cache);
  const started = performance.now();
  for (let step = 0; step < generatedTokens; step++) {
    ids.push(argmax(logits));
    const position = ids.length - 1;
    logits = await candidate.forward(ids[position], position, cache);
  }
  const seconds = (performance.now() - started) / 1000;
  return { tokensPerSecond: generatedTokens / seconds, ids, cacheBytes: cache.byteLength() };
}

async function main(): Promise<void> {
  const directory = modelsDataDirectory();
  const weights: LlamaWeights = loadLlama2cCheckpoint(new Uint8Array(readFileSync(join(directory, "stories260K.bin"))));
  const reference = JSON.parse(readFileSync(join(directory, "stories260K.reference.json"), "utf8")) as Reference;
  const config = weights.config;
  const shape = { layers: config.layers, kvHeads: config.kvHeads, headDim: config.headDim };
  const promptIds = reference.prompt_token_ids;

  const baseline = new LlamaRuntime(weights);
  const candidates: Candidate[] = [
    { runtime: "LlamaRuntime", backend: "sync TS", vectorKernels: "host", note: "baseline: synchronous fp32 loops", forward: (t, p, c) => baseline.forward(t, p, c) },
  ];
  const backends: { backend: KernelBackend; note: string }[] = [];
  for (const create of [createTypeScriptBackend, createWasmBackend]) {
    const backend = create();
    await backend.init();
    const threads = backend.threading ? `, matmuls on ${backend.threading.threads} thread(s)${backend.threading.reason ? ` (${backend.threading.reason})` : ""}` : "";
    backends.push({ backend, note: backend.name === "ts" ? "float64 reference kernels" : `AssemblyScript f32x4 SIMD${threads}` });
  }
  const skippedBackends: Record<string, string> = {};
  try {
    const gpu = await nodeWebGpu();
    if ("skipped" in gpu) skippedBackends.webgpu = gpu.skipped;
    else backends.push(gpu);
  } catch (error) {
    skippedBackends.webgpu = `webgpu backend failed to start: ${error instanceof Error ? error.message : String(error)}`;
  }
  const residents: ResidentLlamaWeights[] = [];
  for (const { backend, note } of backends) {
    const resident = new ResidentLlamaWeights(backend, weights);
    residents.push(resident);
    for (const vectorKernels of ["backend", "host"] as const) {
      const runtime = new KernelLlamaRuntime(resident, { vectorKernels });
      candidates.push({ runtime: "KernelLlamaRuntime", backend: backend.name, vectorKernels, note, forward: (t, p, c) => runtime.forward(t, p, c) });
    }
  }

  const caches: CacheName[] = ["dense fp32", "turboquant 4-bit"];
  const results = new Map<string, { rates: number[]; ids: number[]; cacheBytes: number }>();
  const key = (candidate: Candidate, cache: CacheName) => `${candidate.runtime}|${candidate.backend}|${candidate.vectorKernels}|${cache}`;
  const progress = new BenchProgress((trials + 1) * caches.length * candidates.length);
  // Warm-up (untimed): JIT, WASM instantiation paths and WebGPU pipelines.
  for (const cache of caches) {
    for (const candidate of candidates) {
      await decode(candidate, cache, shape, promptIds);
      progress.step(`warm-up: ${candidate.runtime} ${candidate.backend}/${candidate.vectorKernels}, ${cache}`);
    }
  }
  // Interleaved: every candidate once per trial, so load on the shared machine hits all of them alike.
  for (let trial = 0; trial < trials; trial++) {
    for (const cache of caches) {
      for (const candidate of candidates) {
        const run = await decode(candidate, cache, shape, promptIds);
        const entry = results.get(key(candidate, cache)) ?? { rates: [], ids: run.ids, cacheBytes: run.cacheBytes };
        entry.rates.push(run.tokensPerSecond);
        results.set(key(candidate, cache), entry);
        progress.step(`trial ${trial + 1}: ${candidate.runtime} ${candidate.backend}/${candidate.vectorKernels}, ${cache}: ${run.tokensPerSecond.toFixed(0)} tokens/s`);
      }
    }
  }

  const rows: Row[] = [];
  for (const cache of caches) {
    const base = results.get(key(candidates[0], cache))!;
    const baseBest = Math.max(...base.rates);
    for (const candidate of candidates) {
      const result = results.get(key(candidate, cache))!;
      const best = Math.max(...result.rates);
      const referenceLength = reference.greedy_token_ids.length;
      rows.push({
        runtime: candidate.runtime,
        backend: candidate.backend,
        vectorKernels: candidate.vectorKernels,
        cache,
        tokensPerSecond: best,
        trialTokensPerSecond: result.rates.map((rate) => Math.round(rate * 10) / 10),
        speedupOverLlamaRuntime: best / baseBest,
        cacheBytes: result.cacheBytes,
        sameIdsAsLlamaRuntime: result.ids.every((id, index) => id === base.ids[index]),
        matchesReferenceGreedy: cache === "dense fp32" ? result.ids.slice(0, referenceLength).every((id, index) => id === reference.greedy_token_ids[index]) : "n/a",
        note: candidate.note,
      });
    }
  }

  printTable(`stories260K greedy decode, ${generatedTokens} tokens after a ${promptIds.length}-token prompt (best of ${trials} interleaved trials after a warm-up)`, rows, [
    { header: "runtime", value: (row) => row.runtime },
    { header: "backend", value: (row) => row.backend },
    { header: "vector ops", value: (row) => row.vectorKernels },
    { header: "cache", value: (row) => row.cache },
    { header: "tokens/s", value: (row) => row.tokensPerSecond, digits: 1 },
    { header: "× LlamaRuntime", value: (row) => row.speedupOverLlamaRuntime, digits: 3 },
    { header: "KV bytes", value: (row) => row.cacheBytes, digits: 0 },
    { header: "ids = baseline", value: (row) => String(row.sameIdsAsLlamaRuntime) },
    { header: "= reference", value: (row) => String(row.matchesReferenceGreedy) },
  ]);
  for (const [name, reason] of Object.entries(skippedBackends)) process.stdout.write(`skipped ${name}: ${reason}\n`);

  const path = writeBenchJson("runtime", {
    model: "stories260K",
    config: { dim: config.dim, layers: config.layers, heads: config.heads, kvHeads: config.kvHeads, headDim: config.headDim, vocabSize: config.vocabSize },
    promptTokenIds: promptIds,
    generatedTokens,
    trials,
    method: "greedy decode after prefilling the prompt; decode steps timed; one untimed warm-up, then interleaved trials, best kept; baseline LlamaRuntime in the same run",
    backends: Object.fromEntries(backends.map(({ backend, note }) => [backend.name, note])),
    skippedBackends,
    rows,
  });
  process.stdout.write(`\nwrote ${path}\n`);
  for (const resident of residents) resident.dispose();
  for (const { backend } of backends) backend.dispose();
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
