/**
 * Prefill benchmark: prompt tokens per second of KernelLlamaRuntime on the WASM backend, token by
 * token (`forward` per prompt token, the path before batched prefill) against `prefill` (chunks of
 * 64 through each layer at once, `matmulBatch`), on stories260K and on a random-weight Llama of
 * SmolLM2-135M's shape (dim 576, 9 query / 3 KV heads, head_dim 64, hidden 1536, 30 layers, vocab
 * 512) written with writeLlamaGguf(…, { tensorType: "F32" }) and read back. Dense fp32 cache.
 * Both paths in the same run, alternating trials, best kept; the last logits of the two paths are
 * compared (max |difference|). Prints a table, writes bench-results/prefill.json.
 *
 *   pnpm bench:prefill                        256-token prompts (about 2 minutes on 2 busy cores)
 *   KVPACK_BENCH_PREFILL_TOKENS=1024 …        longer prompts (SmolLM2 shape capped at its 2,048 context)
 *   KVPACK_BENCH_QUICK=1 …                    one trial each
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import {
  KernelLlamaRuntime,
  loadGgufLlama,
  loadLlama2cCheckpoint,
  loadLlama2cTokenizer,
  ResidentLlamaWeights,
  SeededRandom,
  writeLlamaGguf,
  type LlamaConfig,
  type LlamaWeights,
} from "@kvpack/adapters";
import { DenseKVCache } from "@kvpack/cache";
import { createWasmBackend } from "@kvpack/kernels";
import { writeBenchJson } from "./bench-output.js";
import { printTable } from "./bench-table.js";
import { modelsDataDirectory } from "./eval/models-data.js";

const quick = process.env.KVPACK_BENCH_QUICK === "1";
const trials = quick ? 1 : 2;
const promptTokens = Number(process.env.KVPACK_BENCH_PREFILL_TOKENS ?? 256);
const chunkSize = 64;

/** Gaussian weights (σ 0.02, norms 1) for `config`, from a fixed seed. */
function randomLlama(config: LlamaConfig, seed: number): LlamaWeights {
  const random = new SeededRandom(seed);
  const gaussian = (length: number) => {
    const values = new Float32Array(length);
    for (let i = 0; i < length; i += 2) {
      // Box–Muller: two normals per pair of uniforms.
      const radius = Math.sqrt(-2 * Math.log(1 - random.nextFloat())) * 0.02;
      const angle = 2 * Math.PI * random.nextFloat();
      values[i] = radius * Math.cos(angle);
      if (i + 1 < length) values[i + 1] = radius * Math.sin(angle);
    }
    return values;
  };
  const { dim, hiddenDim, heads, kvHeads, headDim, vocabSize } = config;
  const tokenEmbedding = gaussian(vocabSize * dim);
  return {
    config,
    tokenEmbedding,
    layers: Array.from({ length: config.layers }, () => ({
      attentionNorm: new Float32Array(dim).fill(1),
      wq: gaussian(heads * headDim * dim),
      wk: gaussian(kvHeads * headDim * dim),
      wv: gaussian(kvHeads * headDim * dim),
      wo: gaussian(dim * heads * headDim),
      ffnNorm: new Float32Array(dim).fill(1),
      w1: gaussian(hiddenDim * dim),
      w2: gaussian(dim * hiddenDim),
      w3: gaussian(hiddenDim * dim),
    })),
    finalNorm: new Float32Array(dim).fill(1),
    classifier: tokenEmbedding,
  };
}

interface Row {
  model: string;
  promptTokens: number;
  path: "token by token" | "prefill";
  chunkSize: number;
  tokensPerSecond: number;
  trialTokensPerSecond: number[];
  speedup: number;
  maxLastLogitDifference: number;
}

async function main(): Promise<void> {
  const directory = modelsDataDirectory();
  const tokenizer = loadLlama2cTokenizer(new Uint8Array(readFileSync(join(directory, "tok512.bin"))), 512);
  const stories = loadLlama2cCheckpoint(new Uint8Array(readFileSync(join(directory, "stories260K.bin"))));
  const smolShape: LlamaConfig = {
    dim: 576, hiddenDim: 1536, layers: 30, heads: 9, kvHeads: 3, vocabSize: 512, maxSequenceLength: 2048,
    headDim: 64, ropeTheta: 10000, normEpsilon: 1e-5, sharedClassifier: true,
  };
  const smol = loadGgufLlama(writeLlamaGguf(randomLlama(smolShape, 135), tokenizer, { name: "smollm2-135m-shape-random", tensorType: "F32" })).weights;
  const backend = createWasmBackend();
  await backend.init();
  const rows: Row[] = [];
  for (const [model, weights] of [["stories260K", stories], ["SmolLM2-135M shape (random F32)", smol]] as const) {
    const length = Math.min(promptTokens, weights.config.maxSequenceLength);
    const random = new SeededRandom(7);
    const tokens = Array.from({ length }, () => 1 + Math.floor(random.nextFloat() * (weights.config.vocabSize - 1)));
    const resident = new ResidentLlamaWeights(backend, weights);
    const runtime = new KernelLlamaRuntime(resident);
    const shape = { ...runtime.cacheShape, capacity: length };
    const paths = {
      "token by token": async () => {
        const cache = new DenseKVCache(shape);
        let logits: Float32Array = new Float32Array(0);
        for (const [position, token] of tokens.entries()) logits = await runtime.forward(token, position, cache);
        return logits;
      },
      prefill: async () => runtime.prefill(tokens, 0, new DenseKVCache(shape), { chunkSize }),
    };
    const rates: Record<keyof typeof paths, number[]> = { "token by token": [], prefill: [] };
    const last: Partial<Record<keyof typeof paths, Float32Array>> = {};
    await paths.prefill(); // warm-up (JIT, WASM memory growth)
    for (let trial = 0; trial < trials; trial++) {
      for (const name of ["token by token", "prefill"] as const) {
        const started = performance.now();
        last[name] = await paths[name]();
        const rate = length / ((performance.now() - started) / 1000);
        rates[name].push(rate);
        process.stderr.write(`${model} ${name}: ${rate.toFixed(1)} tok/s\n`);
      }
    }
    let difference = 0;
    for (let i = 0; i < last.prefill!.length; i++) difference = Math.max(difference, Math.abs(last.prefill![i] - last["token by token"]![i]));
    const best = (name: keyof typeof paths) => Math.max(...rates[name]);
    for (const name of ["token by token", "prefill"] as const) {
      rows.push({
        model,
        promptTokens: length,
        path: name,
        chunkSize: name === "prefill" ? chunkSize : 1,
        tokensPerSecond: best(name),
        trialTokensPerSecond: rates[name],
        speedup: best(name) / best("token by token"),
        maxLastLogitDifference: difference,
      });
    }
    resident.dispose();
  }
  backend.dispose();
  printTable("Prompt tokens per second, KernelLlamaRuntime on WASM, dense fp32 cache (best of the trials)", rows, [
    { header: "model", value: (row) => row.model },
    { header: "prompt", value: (row) => row.promptTokens, digits: 0 },
    { header: "path", value: (row) => row.path },
    { header: "chunk", value: (row) => row.chunkSize, digits: 0 },
    { header: "tok/s", value: (row) => row.tokensPerSecond, digits: 1 },
    { header: "× token by token", value: (row) => row.speedup, digits: 2 },
    { header: "max |Δ last logits|", value: (row) => row.maxLastLogitDifference, digits: 6 },
  ]);
  const path = writeBenchJson("prefill", { settings: { backend: "wasm", cache: "dense fp32", chunkSize, trials, quick }, rows });
  process.stdout.write(`\nwrote ${path}\n`);
}

await main();
