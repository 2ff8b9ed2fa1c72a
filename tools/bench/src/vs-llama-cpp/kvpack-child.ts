/**
 * One kvpack config in its own process (so its peak RSS is its own): loads the GGUF with
 * loadGgufLlama, uploads it to the WASM backend and decodes with KernelLlamaRuntime over a
 * @kvpack/cache CompressedKVCache, the path the server and bench:runtime use; weight matrices stay
 * as the file's blocks in WASM memory (Q8_0 / F16 kernels) unless KVPACK_BENCH_FP32_WEIGHTS=1. On
 * the WASM backend the runtime plugs WasmPageAttention into the cache: pages resident in the
 * paged-attention kernels' heap, scored and accumulated there (the child reports the backend's name;
 * KVPACK_BENCH_TS_ATTENTION=1 keeps the cache's TypeScript attention, the path before #13).
 *
 * Prefill tok/s: `prefillTokens` real tokens from an empty cache through `runtime.prefill` (chunks of
 * 64 through every layer at once), after an untimed warm-up prefill; the median of `trials` runs.
 * Decode at context n: the cache is filled with n synthetic key/value rows (fill-cache.ts: noise
 * through the cache's own append, i.e. encoded by the codec), one untimed step, then `trials` runs of
 * `decodeSteps` real forward steps are timed (the median reported). Filling by real prefill would cost minutes per config at 16K (kvpack's prefill is far
 * slower than llama.cpp's); a decode step's cost depends on the cache length and codec, not on the
 * rows' values.
 */
import { readFileSync } from "node:fs";
import { argmax, KernelLlamaRuntime, type LlamaWeights, loadGgufLlama, ResidentLlamaWeights } from "@kvpack/adapters";
import { fileByteSource } from "@kvpack/adapters/node";
import { CompressedKVCache, type KVCacheShape } from "@kvpack/cache";
import { createWasmBackend, type KernelBackend } from "@kvpack/kernels";
import { type ChildRequest, type ContextResult, median, peakResidentBytes, reportResult } from "./child-protocol.js";
import { fillCache } from "./fill-cache.js";
import { kvpackCacheSpecs } from "./kvpack-caches.js";

function createCache(name: string, shape: KVCacheShape): CompressedKVCache {
  return new CompressedKVCache({ ...shape, ...kvpackCacheSpecs(name, shape.headDim) });
}

/**
 * Loads the file and uploads it. With blocks (the default) the file is read through a byte source,
 * as the server does: the header at load, then each matrix as it is uploaded, so the weights are
 * resident once (in WASM memory) and the whole file is never in memory beside them.
 */
function uploadModel(path: string, backend: KernelBackend, fp32Weights: boolean): { weights: LlamaWeights; resident: ResidentLlamaWeights } {
  if (fp32Weights) {
    const loaded = loadGgufLlama(readFileSync(path));
    return { weights: loaded.weights, resident: new ResidentLlamaWeights(backend, loaded.weights) };
  }
  const source = fileByteSource(path);
  try {
    const loaded = loadGgufLlama(source, { lazyMatrices: true });
    const resident = new ResidentLlamaWeights(backend, loaded.weights, { blocks: loaded.matrixBlocks });
    loaded.releaseFile();
    return { weights: loaded.weights, resident };
  } finally {
    source.close();
  }
}

async function main(): Promise<void> {
  const request = JSON.parse(process.argv[2]) as ChildRequest;
  const loadStarted = performance.now();
  // Weights stay as the file's blocks (Q8_0 / F16 kernels) unless KVPACK_BENCH_FP32_WEIGHTS=1 (the pre-#13 path).
  const fp32Weights = process.env.KVPACK_BENCH_FP32_WEIGHTS === "1";
  // The same thread count as llama.cpp's (KVPACK_BENCH_THREADS); the WASM backend's default would take every core.
  const backend = createWasmBackend({ threads: request.threads });
  await backend.init();
  if (backend.threading && backend.threading.threads !== request.threads) {
    process.stderr.write(`  kvpack runs on ${backend.threading.threads} thread(s), not ${request.threads}: ${backend.threading.reason}\n`);
  }
  const { weights, resident } = uploadModel(request.modelPath, backend, fp32Weights);
  const typescriptAttention = process.env.KVPACK_BENCH_TS_ATTENTION === "1";
  const runtime = new KernelLlamaRuntime(resident, { cacheAttention: typescriptAttention ? "typescript" : "kernel" });
  const loadSeconds = (performance.now() - loadStarted) / 1000;
  const config = weights.config;
  const shape = runtime.cacheShape;
  const kvDim = config.kvHeads * config.headDim;
  const tokens = request.tokens;

  // Prefill: one untimed prefill warms up the JIT (and starts the paged-attention module), then `trials` timed ones, each from an empty cache.
  const warmCache = createCache(request.kv, shape);
  await runtime.prefill(tokens.slice(0, Math.min(16, request.prefillTokens)), 0, warmCache);
  warmCache.truncate(0); // releases its pages (and the kernels' resident copies)
  const prefillTrials: number[] = [];
  let attention = "";
  for (let trial = 0; trial < request.trials; trial++) {
    const prefillCache = createCache(request.kv, shape);
    const prefillStarted = performance.now();
    await runtime.prefill(tokens.slice(0, request.prefillTokens), 0, prefillCache);
    prefillTrials.push(request.prefillTokens / ((performance.now() - prefillStarted) / 1000));
    attention = prefillCache.attentionBackendName();
    prefillCache.truncate(0);
  }

  const cache = createCache(request.kv, shape);
  const contexts: ContextResult[] = [];
  for (const context of request.contexts) {
    fillCache(cache, context, kvDim);
    // One untimed step: it uploads the filled pages to the kernels' heap at once (a real prefill
    // uploads each page as it is flushed) and warms up the JIT at this length.
    let token = argmax(await runtime.forward(tokens[context % tokens.length], cache.length(0), cache));
    const decodeTrials: number[] = [];
    for (let trial = 0; trial < request.trials; trial++) {
      const started = performance.now();
      for (let step = 0; step < request.decodeSteps; step++) {
        const logits = await runtime.forward(token, cache.length(0), cache);
        token = argmax(logits);
      }
      decodeTrials.push(request.decodeSteps / ((performance.now() - started) / 1000));
    }
    const decodeTokensPerSecond = median(decodeTrials);
    contexts.push({ context, decodeTokensPerSecond, decodeTrials, kvBytesPerToken: cache.byteLength() / cache.length(0), peakRssBytes: peakResidentBytes() });
    process.stderr.write(`  ${request.weights} ${request.kv} @${context}: ${decodeTokensPerSecond.toFixed(2)} tok/s median of ${decodeTrials.map((rate) => rate.toFixed(2)).join(", ")} (${attention} attention)\n`);
  }
  resident.dispose();
  backend.dispose();
  reportResult({ prefillTokensPerSecond: median(prefillTrials), prefillTrials, contexts, peakRssBytes: 0, loadSeconds, attention });
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
