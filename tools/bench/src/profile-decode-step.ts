/**
 * Where a decode step's time goes at SmolLM2-135M's shape (random weights written as Q8_0 by
 * writeLlamaGguf, loaded with the file's blocks resident, KernelLlamaRuntime on the WASM backend),
 * per cache and attention backend, at each context. Times are split by wrapping the backend's
 * kernels (every matmul, norm, RoPE, SwiGLU call) and the cache's append / attend, in CPU time
 * (process.cpuUsage, which on a loaded machine moves far less than wall time; with 1 matmul thread
 * it is the step's work); "other" is the rest of the step's CPU time (the loop's residual adds, the
 * embedding row, promise turns). "step ms" is wall time.
 *
 *   pnpm --filter @kvpack/bench exec tsx src/profile-decode-step.ts             contexts 512, 4096
 *   KVPACK_PROFILE_THREADS=n: matmul threads (default 1, as bench:vs-llama-cpp)
 *   KVPACK_PROFILE_VECTORS=host: RMSNorm, RoPE and SwiGLU in TypeScript instead of backend kernels
 *   KVPACK_PROFILE_CONTEXTS=512 KVPACK_PROFILE_CACHES="fibquant 2/2" KVPACK_PROFILE_ATTENTION=wasm …
 *
 * KVPACK_PROFILE_CPU=dir writes a V8 CPU profile of each config's timed steps there (Chrome DevTools).
 * Prints a table; no JSON (a profile, not a benchmark: rerun on a quiet machine before quoting).
 */
import { writeFileSync } from "node:fs";
import { Session } from "node:inspector/promises";
import { argmax, KernelLlamaRuntime, loadGgufLlama, ResidentLlamaWeights, writeLlamaGguf } from "@kvpack/adapters";
import { CompressedKVCache } from "@kvpack/cache";
import { createWasmBackend } from "@kvpack/kernels";
import { printTable } from "./bench-table.js";
import { kvpackCacheSpecs } from "./vs-llama-cpp/kvpack-caches.js";
import { fillCache } from "./vs-llama-cpp/fill-cache.js";
import { randomLlamaWeights, smolLm2Config, syntheticTokenizer } from "./vs-llama-cpp/random-smollm.js";

const contexts = (process.env.KVPACK_PROFILE_CONTEXTS ?? "512,4096").split(",").map(Number);
const caches = (process.env.KVPACK_PROFILE_CACHES ?? "dense fp16,turboquant 4/4,fibquant 2/2").split(",");
const attentions = (process.env.KVPACK_PROFILE_ATTENTION ?? "typescript,wasm").split(",") as Array<"typescript" | "wasm">;
const steps = Number(process.env.KVPACK_PROFILE_STEPS ?? 3);
const vectorKernels = (process.env.KVPACK_PROFILE_VECTORS ?? "backend") as "backend" | "host";
const threads = Number(process.env.KVPACK_PROFILE_THREADS ?? 1);

type Bucket = "matmul" | "classifier" | "vectors" | "append" | "attend";
const spent: Record<Bucket, number> = { matmul: 0, classifier: 0, vectors: 0, append: 0, attend: 0 };

/** This process's CPU time in ms (user + system): on a loaded machine it moves far less than wall time. */
function cpuNow(): number {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1000;
}

function timeAsync<A extends unknown[], R>(bucket: (args: A) => Bucket, fn: (...args: A) => Promise<R>): (...args: A) => Promise<R> {
  return async (...args: A) => {
    const started = cpuNow();
    try {
      return await fn(...args);
    } finally {
      spent[bucket(args)] += cpuNow() - started;
    }
  };
}

async function main(): Promise<void> {
  const config = smolLm2Config;
  const bytes = writeLlamaGguf(randomLlamaWeights(config), syntheticTokenizer(config.vocabSize), { tensorType: "Q8_0", name: "profile" });
  const { weights, matrixBlocks } = loadGgufLlama(bytes, { lazyMatrices: true });
  const backend = createWasmBackend({ threads });
  await backend.init();
  const resident = new ResidentLlamaWeights(backend, weights, { blocks: matrixBlocks });
  const kernels = backend.kernels as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
  for (const name of Object.keys(kernels)) {
    const original = kernels[name];
    if (typeof original !== "function") continue;
    const matmul = name.toLowerCase().includes("matmul");
    // The classifier is the one matmul with vocabSize rows.
    kernels[name] = timeAsync(
      (args) => (matmul ? ((args[0] as { rows?: number }).rows === config.vocabSize ? "classifier" : "matmul") : "vectors"),
      original.bind(kernels),
    );
  }
  const rows: Array<Record<string, string | number>> = [];
  for (const name of caches) {
    for (const attention of attentions) {
      const runtime = new KernelLlamaRuntime(resident, { cacheAttention: attention === "wasm" ? "kernel" : "typescript", vectorKernels });
      const cache = new CompressedKVCache({ ...runtime.cacheShape, ...kvpackCacheSpecs(name, config.headDim) });
      const append = cache.append.bind(cache);
      const attend = cache.attend.bind(cache);
      cache.append = (...args) => {
        const started = cpuNow();
        append(...args);
        spent.append += cpuNow() - started;
      };
      cache.attend = (...args) => {
        const started = cpuNow();
        attend(...args);
        spent.attend += cpuNow() - started;
      };
      for (const context of contexts) {
        const fillStarted = performance.now();
        fillCache(cache, context, config.kvHeads * config.headDim);
        const fillSeconds = (performance.now() - fillStarted) / 1000;
        let token = 5;
        token = argmax(await runtime.forward(token, cache.length(0), cache)); // warm-up (and the kernel module's start)
        for (const key of Object.keys(spent) as Bucket[]) spent[key] = 0;
        const session = process.env.KVPACK_PROFILE_CPU ? new Session() : undefined;
        if (session) {
          session.connect();
          await session.post("Profiler.enable");
          await session.post("Profiler.start");
        }
        const started = performance.now();
        const cpuStarted = process.cpuUsage();
        for (let step = 0; step < steps; step++) token = argmax(await runtime.forward(token, cache.length(0), cache));
        const total = (performance.now() - started) / steps;
        const cpu = process.cpuUsage(cpuStarted);
        if (session) {
          const { profile } = await session.post("Profiler.stop");
          writeFileSync(`${process.env.KVPACK_PROFILE_CPU}/${name.replace(/[^a-z0-9]+/gi, "-")}-${attention}-${context}.cpuprofile`, JSON.stringify(profile));
          session.disconnect();
        }
        const per = (bucket: Bucket) => spent[bucket] / steps;
        rows.push({
          cache: name,
          attention: cache.attentionBackendName(),
          context,
          "step ms": total,
          "cpu ms": (cpu.user + cpu.system) / 1000 / steps,
          "tok/s": 1000 / total,
          "attend ms": per("attend"),
          "append ms": per("append"),
          "matmul ms": per("matmul"),
          "classifier ms": per("classifier"),
          "norm/rope/swiglu ms": per("vectors"),
          "other ms": (cpu.user + cpu.system) / 1000 / steps - per("attend") - per("append") - per("matmul") - per("classifier") - per("vectors"),
          "fill s": fillSeconds,
        });
        process.stdout.write(`${name} ${attention} @${context}: ${total.toFixed(1)} ms/step (fill ${fillSeconds.toFixed(1)} s)\n`);
      }
      cache.truncate(0);
    }
  }
  const columns = Object.keys(rows[0]).map((header) => ({
    header,
    value: (row: Record<string, string | number>) => row[header],
    digits: typeof rows[0][header] === "number" ? (header === "context" ? 0 : 1) : undefined,
  }));
  printTable(`decode step at SmolLM2-135M shape (Q8_0 weights, WASM backend, ${threads} matmul thread(s), ${vectorKernels} vector kernels, ${steps} steps)`, rows, columns);
  resident.dispose();
  backend.dispose();
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
