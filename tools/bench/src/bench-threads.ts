/**
 * Threads benchmark: the WASM backend's matmuls on one thread (the baseline) against every core the
 * machine reports, with the workers reached through Atomics (the default: idle workers poll 200 µs,
 * then sleep; and with no polling) and through postMessage, all in the same run, interleaved
 * trials, median kept.
 *
 *  1. Kernels at SmolLM2-135M shapes (rows × columns): 576×576 (q, o), 1536×576 (gate, up),
 *     576×1536 (down) as fp32 and Q8_0, 49152×576 Q8_0 (the tied classifier), a 32-token
 *     matmulBatch at 1536×576 (batched prefill), and the backend's decode-step attention (split by
 *     heads) over 4096 tokens, dense fp32 and 4-bit scalar codes.
 *  2. Dispatch cost: an 8×64 matmul split over every thread anyway, against the same call on one.
 *  3. Decode tokens/s of KernelLlamaRuntime on the random-weight SmolLM2-135M-shape Llama
 *     (vs-llama-cpp/random-smollm.ts) written as a Q8_0 GGUF and loaded with its blocks resident,
 *     dense fp32 cache, after a 32-token prompt; greedy ids must equal the 1-thread run's.
 *
 * Prints the tables and writes bench-results/threads.json.
 *
 *   pnpm bench:threads                         (about 2–3 minutes)
 *   KVPACK_BENCH_QUICK=1 pnpm bench:threads    fewer trials
 *   KVPACK_BENCH_THREADS=n                     the threaded variants' count (default: os.availableParallelism())
 */
import { availableParallelism } from "node:os";
import { argmax, KernelLlamaRuntime, loadGgufLlama, ResidentLlamaWeights, writeLlamaGguf } from "@kvpack/adapters";
import { DenseKVCache } from "@kvpack/cache";
import { createWasmBackend, type DeviceArray, type KernelBackend, type WasmBackendOptions, type WeightFormat } from "@kvpack/kernels";
import { writeBenchJson } from "./bench-output.js";
import { BenchProgress } from "./bench-progress.js";
import { printTable } from "./bench-table.js";
import { randomLlamaWeights, smolLm2Config, syntheticTokenizer } from "./vs-llama-cpp/random-smollm.js";

const quick = process.env.KVPACK_BENCH_QUICK === "1";
const threads = Number(process.env.KVPACK_BENCH_THREADS ?? availableParallelism());
const trials = quick ? 3 : 7;
const promptTokens = 32;
const decodeTokens = quick ? 16 : 32;

interface Variant {
  readonly name: string;
  readonly backend: KernelBackend;
}

interface KernelShape {
  readonly kernel: "matmul" | "quantizedMatmul" | "matmulBatch" | "denseAttention" | "attention";
  readonly format: "f32" | "q4" | WeightFormat;
  readonly rows: number;
  readonly columns: number;
  readonly count: number;
}

interface KernelRow {
  kernel: string;
  format: string;
  rows: number;
  columns: number;
  count: number;
  /** Median microseconds per call, by variant. */
  microseconds: Record<string, number>;
  /** Every trial's microseconds per call, by variant. */
  trialMicroseconds: Record<string, number[]>;
  /** One thread's median over each variant's. */
  speedup: Record<string, number>;
  /** Fastest trial by variant, and one thread's fastest over each variant's (on a loaded machine the least disturbed trial). */
  bestMicroseconds: Record<string, number>;
  bestSpeedup: Record<string, number>;
  /** Every variant's output has the same bits as one thread's. */
  bitIdentical: boolean;
}

const shapes: KernelShape[] = [
  { kernel: "matmul", format: "f32", rows: 576, columns: 576, count: 1 },
  { kernel: "matmul", format: "f32", rows: 1536, columns: 576, count: 1 },
  { kernel: "matmul", format: "f32", rows: 576, columns: 1536, count: 1 },
  { kernel: "quantizedMatmul", format: "q8_0", rows: 576, columns: 576, count: 1 },
  { kernel: "quantizedMatmul", format: "q8_0", rows: 1536, columns: 576, count: 1 },
  { kernel: "quantizedMatmul", format: "q8_0", rows: 576, columns: 1536, count: 1 },
  { kernel: "quantizedMatmul", format: "q8_0", rows: 49_152, columns: 576, count: 1 },
  { kernel: "matmulBatch", format: "f32", rows: 1536, columns: 576, count: 32 },
  // Attention split by heads: SmolLM2's 9 query / 3 KV heads of 64, over 4096 tokens (rows = heads,
  // columns = tokens, vectors = head dimension in the table). "q4" is 4-bit scalar codes.
  { kernel: "denseAttention", format: "f32", rows: 9, columns: 4096, count: 64 },
  { kernel: "attention", format: "q4", rows: 9, columns: 4096, count: 64 },
];

const kvHeads = 3;

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

function uniform(length: number, seed: number): Float32Array {
  const out = new Float32Array(length);
  let state = seed;
  for (let index = 0; index < length; index++) {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    out[index] = state / 4294967296 - 0.5;
  }
  return out;
}

/** Q8_0 blocks of random codes and scale 1/256 (the bench times them; their values do not matter). */
function q8Blocks(rows: number, columns: number): Uint8Array {
  const blocks = (rows * columns) / 32;
  const bytes = new Uint8Array(blocks * 34);
  const codes = uniform(blocks * 32, 7);
  for (let block = 0; block < blocks; block++) {
    bytes[block * 34] = 0x00;
    bytes[block * 34 + 1] = 0x1c; // fp16 2^-8
    for (let j = 0; j < 32; j++) bytes[block * 34 + 2 + j] = Math.round(codes[block * 32 + j] * 254) & 0xff;
  }
  return bytes;
}

/** A decode-step attention call of `shape` (rows heads, columns tokens, count head dimension) on resident keys and values. */
function attentionCall(backend: KernelBackend, shape: KernelShape): { call: () => Promise<Float32Array>; owned: DeviceArray[] } {
  const { rows: headCount, columns: tokenCount, count: dimension } = shape;
  const rowCount = kvHeads * tokenCount;
  const queries = uniform(headCount * dimension, 11);
  const common = { queries, headCount, kvHeadCount: kvHeads, tokenCount, dimension };
  if (shape.kernel === "denseAttention") {
    const keys = backend.upload(uniform(rowCount * dimension, 12));
    const values = backend.upload(uniform(rowCount * dimension, 13));
    return { call: () => backend.kernels.denseAttention({ ...common, keys, values }), owned: [keys, values] };
  }
  // 4-bit scalar levels (blockSize 1), two codes per byte, norms 1.
  const codebook = { codewords: Float32Array.from({ length: 16 }, (_, level) => (level - 7.5) / 8), blockSize: 1 };
  const codeBytes = (rowCount * dimension) / 2;
  const randomBytes = (seed: number) => Uint8Array.from(uniform(codeBytes, seed), (value) => Math.floor((value + 0.5) * 256) & 0xff);
  const keyCodes = backend.upload(randomBytes(14));
  const valueCodes = backend.upload(randomBytes(15));
  const norms = backend.upload(new Float32Array(rowCount).fill(1));
  const keys = { codes: keyCodes, bitWidth: 4 as const, norms, codebook };
  const values = { codes: valueCodes, bitWidth: 4 as const, norms, codebook };
  return { call: () => backend.kernels.attention({ ...common, keys, values }), owned: [keyCodes, valueCodes, norms] };
}

/** Microseconds per call of `action`, over at least `minimumMilliseconds` (after one untimed call). */
async function timeCalls(action: () => Promise<unknown>, minimumMilliseconds: number): Promise<number> {
  await action();
  let calls = 0;
  const started = performance.now();
  while (performance.now() - started < minimumMilliseconds || calls < 3) {
    await action();
    calls++;
  }
  return ((performance.now() - started) * 1000) / calls;
}

function sameBits(a: Float32Array, b: Float32Array): boolean {
  const left = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const right = new Uint32Array(b.buffer, b.byteOffset, b.length);
  return left.length === right.length && left.every((bits, index) => bits === right[index]);
}

async function benchKernels(variants: readonly Variant[], progress: BenchProgress): Promise<KernelRow[]> {
  const rows: KernelRow[] = [];
  for (const shape of shapes) {
    const { rows: outputs, columns, count } = shape;
    const matrixHost = shape.format === "q8_0" ? q8Blocks(outputs, columns) : uniform(outputs * columns, 3);
    const vectors = uniform(count * columns, 5);
    const calls = variants.map(({ backend }) => {
      if (shape.kernel === "denseAttention" || shape.kernel === "attention") return attentionCall(backend, shape);
      const matrix: DeviceArray = backend.upload(matrixHost);
      const call = (): Promise<Float32Array> =>
        shape.kernel === "quantizedMatmul"
          ? backend.kernels.quantizedMatmul!({ matrix, format: shape.format as WeightFormat, vector: vectors, rows: outputs, columns })
          : shape.kernel === "matmulBatch"
            ? backend.kernels.matmulBatch({ matrix, vectors, count, rows: outputs, columns })
            : backend.kernels.matmul({ matrix, vector: vectors, rows: outputs, columns });
      return { call, owned: [matrix] };
    });
    const outputsByVariant = await Promise.all(calls.map(({ call }) => call()));
    const trialMicroseconds: Record<string, number[]> = Object.fromEntries(variants.map(({ name }) => [name, []]));
    const minimumMilliseconds = outputs * columns * count > 10_000_000 ? 300 : 150;
    for (let trial = 0; trial < trials; trial++) {
      for (const [index, { name }] of variants.entries()) trialMicroseconds[name].push(await timeCalls(calls[index].call, minimumMilliseconds));
    }
    for (const { owned } of calls) for (const array of owned) array.dispose();
    const microseconds = Object.fromEntries(variants.map(({ name }) => [name, median(trialMicroseconds[name])]));
    const baseline = microseconds[variants[0].name];
    rows.push({
      kernel: shape.kernel,
      format: shape.format,
      rows: outputs,
      columns,
      count,
      microseconds,
      trialMicroseconds: Object.fromEntries(Object.entries(trialMicroseconds).map(([name, values]) => [name, values.map((value) => Math.round(value * 10) / 10)])),
      speedup: Object.fromEntries(variants.map(({ name }) => [name, baseline / microseconds[name]])),
      bestMicroseconds: Object.fromEntries(variants.map(({ name }) => [name, Math.min(...trialMicroseconds[name])])),
      bestSpeedup: Object.fromEntries(variants.map(({ name }) => [name, Math.min(...trialMicroseconds[variants[0].name]) / Math.min(...trialMicroseconds[name])])),
      bitIdentical: outputsByVariant.every((output) => sameBits(output, outputsByVariant[0])),
    });
    progress.step(`${shape.kernel} ${shape.format} ${outputs}×${columns}×${count}: ${variants.map(({ name }) => `${name} ${microseconds[name].toFixed(0)} µs`).join(", ")}`);
  }
  return rows;
}

interface DispatchRow {
  variant: string;
  /** Median microseconds per call of an 8 × 64 matmul split over every thread (parallelMinimumWork 0). */
  microseconds: number;
  trialMicroseconds: number[];
  /** Over the 1-thread call: what reaching the workers and waiting for them costs. */
  overheadMicroseconds: number;
}

/** The cost of one dispatch: a matmul too small to matter, split over every thread anyway. */
async function benchDispatch(variantOptions: readonly (readonly [string, WasmBackendOptions])[]): Promise<DispatchRow[]> {
  const backends = [];
  for (const [, options] of variantOptions) {
    const backend = createWasmBackend({ ...options, parallelMinimumWork: 0 });
    await backend.init();
    backends.push(backend);
  }
  const rows = 8;
  const columns = 64;
  const matrices = backends.map((backend) => backend.upload(uniform(rows * columns, 21)));
  const vector = uniform(columns, 22);
  const trialMicroseconds: number[][] = backends.map(() => []);
  for (let trial = 0; trial < trials; trial++) {
    for (const [index, backend] of backends.entries()) {
      trialMicroseconds[index].push(await timeCalls(() => backend.kernels.matmul({ matrix: matrices[index], vector, rows, columns }), 100));
    }
  }
  for (const backend of backends) backend.dispose();
  const baseline = median(trialMicroseconds[0]);
  return variantOptions.map(([name], index) => ({
    variant: name,
    microseconds: median(trialMicroseconds[index]),
    trialMicroseconds: trialMicroseconds[index].map((value) => Math.round(value * 10) / 10),
    overheadMicroseconds: median(trialMicroseconds[index]) - baseline,
  }));
}

interface DecodeRow {
  variant: string;
  tokensPerSecond: number;
  trialTokensPerSecond: number[];
  speedup: number;
  bestTokensPerSecond: number;
  bestSpeedup: number;
  sameIdsAsOneThread: boolean;
}

async function benchDecode(variants: readonly Variant[], progress: BenchProgress): Promise<{ rows: DecodeRow[]; fileBytes: number }> {
  const config = smolLm2Config;
  const file = writeLlamaGguf(randomLlamaWeights(config), syntheticTokenizer(config.vocabSize), { tensorType: "Q8_0", name: "random SmolLM2-135M shape Q8_0" });
  const prompt = Array.from({ length: promptTokens }, (_, index) => 3 + ((index * 7919) % (config.vocabSize - 3)));
  const runtimes = variants.map(({ backend }) => {
    const { weights, matrixBlocks } = loadGgufLlama(file, { lazyMatrices: true });
    const resident = new ResidentLlamaWeights(backend, weights, { blocks: matrixBlocks });
    return { resident, runtime: new KernelLlamaRuntime(resident) };
  });
  const decode = async (runtime: KernelLlamaRuntime) => {
    const cache = new DenseKVCache({ ...runtime.cacheShape, capacity: promptTokens + decodeTokens });
    let logits = await runtime.prefill(prompt, 0, cache);
    const ids: number[] = [];
    const started = performance.now();
    for (let step = 0; step < decodeTokens; step++) {
      ids.push(argmax(logits));
      logits = await runtime.forward(ids[step], promptTokens + step, cache);
    }
    return { tokensPerSecond: decodeTokens / ((performance.now() - started) / 1000), ids };
  };
  for (const { runtime } of runtimes) await decode(runtime); // warm-up
  const rates: number[][] = variants.map(() => []);
  const ids: number[][] = [];
  for (let trial = 0; trial < trials; trial++) {
    for (const [index, { runtime }] of runtimes.entries()) {
      const run = await decode(runtime);
      rates[index].push(run.tokensPerSecond);
      ids[index] = run.ids;
      progress.step(`decode trial ${trial + 1}: ${variants[index].name} ${run.tokensPerSecond.toFixed(1)} tokens/s`);
    }
  }
  for (const { resident } of runtimes) resident.dispose();
  const baseline = median(rates[0]);
  const rows = variants.map(({ name }, index) => ({
    variant: name,
    tokensPerSecond: median(rates[index]),
    trialTokensPerSecond: rates[index].map((rate) => Math.round(rate * 10) / 10),
    speedup: median(rates[index]) / baseline,
    bestTokensPerSecond: Math.max(...rates[index]),
    bestSpeedup: Math.max(...rates[index]) / Math.max(...rates[0]),
    sameIdsAsOneThread: ids[index].every((id, position) => id === ids[0][position]),
  }));
  return { rows, fileBytes: file.byteLength };
}

async function main(): Promise<void> {
  const variantOptions: (readonly [string, WasmBackendOptions])[] = [
    ["1 thread", { threads: 1 }],
    [`${threads} threads, atomics`, { threads, threadDispatch: "atomics" }],
    [`${threads} threads, atomics, no spin`, { threads, threadDispatch: "atomics", workerSpinMicroseconds: 0 }],
    [`${threads} threads, postMessage`, { threads, threadDispatch: "message" }],
  ];
  const variants: Variant[] = [];
  for (const [name, options] of variantOptions) {
    const backend = createWasmBackend(options);
    await backend.init();
    if (backend.threading?.threads !== options.threads) throw new Error(`${name}: runs ${backend.threading?.threads} thread(s): ${backend.threading?.reason}`);
    variants.push({ name, backend });
  }
  const progress = new BenchProgress(shapes.length + trials * variants.length);
  const kernelRows = await benchKernels(variants, progress);
  const decode = await benchDecode(variants, progress);
  const dispatch = await benchDispatch(variantOptions);

  const columns = variants.flatMap(({ name }, index) => [
    { header: `${name} µs`, value: (row: KernelRow) => row.microseconds[name], digits: 0 },
    ...(index === 0 ? [] : [{ header: "×", value: (row: KernelRow) => row.speedup[name], digits: 2 }, { header: "best ×", value: (row: KernelRow) => row.bestSpeedup[name], digits: 2 }]),
  ]);
  printTable(`WASM matmuls at SmolLM2-135M shapes, median of ${trials} interleaved trials; "best ×": fastest trial over fastest (baseline: 1 thread, same run)`, kernelRows, [
    { header: "kernel", value: (row) => row.kernel },
    { header: "format", value: (row) => row.format },
    { header: "rows×columns×vectors (heads×tokens×dim)", value: (row) => `${row.rows}×${row.columns}×${row.count}` },
    ...columns,
    { header: "bit-identical", value: (row) => String(row.bitIdentical) },
  ]);
  printTable(
    `KernelLlamaRuntime decode, random SmolLM2-135M-shape Q8_0 GGUF, ${decodeTokens} tokens after a ${promptTokens}-token prompt, dense fp32 cache (median and best of ${trials})`,
    decode.rows,
    [
      { header: "variant", value: (row) => row.variant },
      { header: "tokens/s", value: (row) => row.tokensPerSecond, digits: 1 },
      { header: "× 1 thread", value: (row) => row.speedup, digits: 2 },
      { header: "best tokens/s", value: (row) => row.bestTokensPerSecond, digits: 1 },
      { header: "best ×", value: (row) => row.bestSpeedup, digits: 2 },
      { header: "ids = 1 thread", value: (row) => String(row.sameIdsAsOneThread) },
    ],
  );
  printTable(`Dispatch: an 8×64 matmul split over every thread anyway (parallelMinimumWork 0), median of ${trials}`, dispatch, [
    { header: "variant", value: (row) => row.variant },
    { header: "µs per call", value: (row) => row.microseconds, digits: 1 },
    { header: "overhead over 1 thread µs", value: (row) => row.overheadMicroseconds, digits: 1 },
  ]);
  const path = writeBenchJson("threads", {
    threads,
    trials,
    method:
      "interleaved trials of every variant, median kept; kernels: calls repeated for ≥150 ms (≥300 ms above 10M multiply-adds) after one untimed call, resident matrices; decode: prefill then greedy decode, decode steps timed, one untimed warm-up; baseline: 1 thread in the same run",
    variants: variants.map(({ name, backend }) => ({ name, threading: backend.threading })),
    kernels: kernelRows,
    dispatch,
    decode: { model: "random SmolLM2-135M shape (vs-llama-cpp/random-smollm.ts), Q8_0 GGUF, blocks resident", fileBytes: decode.fileBytes, promptTokens, decodeTokens, cache: "dense fp32", rows: decode.rows },
  });
  process.stdout.write(`\nwrote ${path}\n`);
  for (const { backend } of variants) backend.dispose();
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
