/**
 * One kvpack config in its own process (so its peak RSS is its own): loads the GGUF with
 * loadGgufLlama, uploads it to the WASM backend and decodes with KernelLlamaRuntime over a
 * @kvpack/cache cache, the path the server and bench:runtime use; weight matrices stay as the file's
 * blocks in WASM memory (Q8_0 / F16 kernels) unless KVPACK_BENCH_FP32_WEIGHTS=1.
 *
 * Decode at context n: the cache is filled with n synthetic key/value rows (uniform noise through the
 * cache's own append, i.e. encoded by the codec), then `decodeSteps` real forward steps are timed.
 * kvpack prefills one token at a time (no batched prefill yet), so filling 16K real tokens would take
 * most of the run; a decode step's cost depends on the cache length, not on the rows' values.
 * Prefill tok/s: `prefillTokens` real forward steps from an empty cache.
 */
import { readFileSync } from "node:fs";
import { argmax, KernelLlamaRuntime, loadGgufLlama, ResidentLlamaWeights } from "@kvpack/adapters";
import { CompressedKVCache, type KVCache, type KVCacheShape } from "@kvpack/cache";
import { createWasmBackend } from "@kvpack/kernels";
import { type ChildRequest, type ContextResult, reportResult } from "./child-protocol.js";
import { kvpackCacheSpecs } from "./kvpack-caches.js";

function createCache(name: string, shape: KVCacheShape): KVCache {
  return new CompressedKVCache({ ...shape, ...kvpackCacheSpecs(name, shape.headDim) });
}

/** Appends synthetic rows to every layer until the cache holds `target` tokens. */
function fillTo(cache: KVCache, target: number, noise: Float32Array, kvDim: number): void {
  const rows = noise.length / kvDim - 1;
  for (let position = cache.length(0); position < target; position++) {
    for (let layer = 0; layer < cache.layers; layer++) {
      const row = (position * 7 + layer * 13) % rows;
      cache.append(layer, noise.subarray(row * kvDim, (row + 1) * kvDim), noise.subarray((row + 1) * kvDim, (row + 2) * kvDim));
    }
  }
}

async function main(): Promise<void> {
  const request = JSON.parse(process.argv[2]) as ChildRequest;
  const loadStarted = performance.now();
  // Weights stay as the file's blocks (Q8_0 / F16 kernels) unless KVPACK_BENCH_FP32_WEIGHTS=1 (the pre-#13 path).
  const fp32Weights = process.env.KVPACK_BENCH_FP32_WEIGHTS === "1";
  const { weights, matrixBlocks } = loadGgufLlama(new Uint8Array(readFileSync(request.modelPath)), { lazyMatrices: !fp32Weights });
  // The same thread count as llama.cpp's (KVPACK_BENCH_THREADS); the WASM backend's default would take every core.
  const backend = createWasmBackend({ threads: request.threads });
  await backend.init();
  if (backend.threading && backend.threading.threads !== request.threads) {
    process.stderr.write(`  kvpack runs on ${backend.threading.threads} thread(s), not ${request.threads}: ${backend.threading.reason}\n`);
  }
  const resident = new ResidentLlamaWeights(backend, weights, fp32Weights ? {} : { blocks: matrixBlocks });
  const runtime = new KernelLlamaRuntime(resident);
  const loadSeconds = (performance.now() - loadStarted) / 1000;
  const config = weights.config;
  const shape = runtime.cacheShape;
  const kvDim = config.kvHeads * config.headDim;
  const tokens = request.tokens;

  // Prefill: real forward steps from an empty cache (one untimed step first warms up the JIT).
  const prefillCache = createCache(request.kv, shape);
  await runtime.forward(tokens[0], 0, prefillCache);
  const prefillStarted = performance.now();
  for (let position = 1; position <= request.prefillTokens; position++) await runtime.forward(tokens[position], position, prefillCache);
  const prefillTokensPerSecond = request.prefillTokens / ((performance.now() - prefillStarted) / 1000);

  // Noise with roughly the spread of real keys/values; 512 rows cycled.
  const noise = new Float32Array(513 * kvDim);
  let seed = 12345;
  for (let i = 0; i < noise.length; i++) {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    noise[i] = (seed / 4294967296 - 0.5) * 4;
  }
  const cache = createCache(request.kv, shape);
  const contexts: ContextResult[] = [];
  for (const context of request.contexts) {
    fillTo(cache, context, noise, kvDim);
    let token = tokens[context % tokens.length];
    const started = performance.now();
    for (let step = 0; step < request.decodeSteps; step++) {
      const logits = await runtime.forward(token, cache.length(0), cache);
      token = argmax(logits);
    }
    const seconds = (performance.now() - started) / 1000;
    contexts.push({ context, decodeTokensPerSecond: request.decodeSteps / seconds, kvBytesPerToken: cache.byteLength() / cache.length(0) });
    process.stderr.write(`  ${request.weights} ${request.kv} @${context}: ${(request.decodeSteps / seconds).toFixed(2)} tok/s\n`);
  }
  resident.dispose();
  backend.dispose();
  reportResult({ prefillTokensPerSecond, contexts, peakRssBytes: 0, loadSeconds });
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
