/**
 * Kernel benchmark: per backend (ts reference, wasm SIMD, webgpu through Node's `webgpu` package)
 * encode and decode throughput, and decode-step attention over 1K–64K cached tokens (d = 64, 128;
 * 8 heads) on compressed pages — FibQuant k = 2 at 2 bits (4-bit codes) and 4-bit scalar — against
 * dense fp32 attention in the same backend. Prints tables, writes bench-results/kernels.json.
 *
 *   pnpm bench:kernels                         full run (a few minutes)
 *   KVPACK_BENCH_QUICK=1 pnpm bench:kernels    smaller sizes, shorter timings
 *
 * Cached pages hold random codes and norms: the kernels' speed does not depend on code values.
 * Resident arrays (`backend.upload`) keep caches in WASM memory / GPU buffers, as a runtime would.
 */
import {
  createTypeScriptBackend,
  createWasmBackend,
  packCodes,
  type CompressedRows,
  type DeviceArray,
  type KernelBackend,
} from "@kvpack/kernels";
import { benchCeilings, writeBenchJson } from "./bench-output.js";
import type { MachineCeilings } from "./machine/measure-ceilings.js";
import { nodeWebGpu, type BackendEntry } from "./bench-webgpu.js";
import { BenchProgress } from "./bench-progress.js";
import { printTable } from "./bench-table.js";

const quick = process.env.KVPACK_BENCH_QUICK === "1";
const tokenCounts = quick ? [1024, 16384] : [1024, 4096, 16384, 65536];
const dimensions = [64, 128];
const headCount = 8;
const timingMilliseconds = quick ? 60 : 100;
/** Interleaved trials per attention point; the fastest is kept. */
const trials = quick ? 3 : 7;
/** SwiftShader through Node's webgpu aborts on buffers ≥ 2 MB (toolchain.md 3a-ii): stay at ≤ 256K floats. */
const gpuBufferLimitBytes = 256 * 1024 * 4;

// ---- data ---------------------------------------------------------------------------------

let seed = 12345;
function random(): number {
  seed = (seed * 1664525 + 1013904223) >>> 0;
  return seed / 4294967296;
}
function gaussian(length: number, scale = 1): Float32Array {
  const out = new Float32Array(length);
  for (let index = 0; index < length; index++) {
    out[index] = scale * Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  }
  return out;
}

interface Format {
  readonly name: string;
  /** Code bits per coordinate. */
  readonly bits: number;
  readonly codewords: Float32Array;
  readonly blockSize: number;
}

/** FibQuant's initial k = 2 codebook (codec-spec.md): golden-angle directions, Beta-quantile radii. */
function fibquantFormat(dimension: number): Format {
  const size = 16;
  const phi = (1 + Math.sqrt(5)) / 2;
  const codewords = new Float32Array(size * 2);
  for (let n = 1; n <= size; n++) {
    const radius = Math.sqrt(1 - Math.pow(1 - (n - 0.5) / size, 4 / dimension));
    const angle = (2 * Math.PI * n) / (phi * phi);
    codewords[(n - 1) * 2] = radius * Math.cos(angle);
    codewords[(n - 1) * 2 + 1] = radius * Math.sin(angle);
  }
  return { name: "fibquant k=2 2-bit", bits: 2, codewords, blockSize: 2 };
}
function scalarFormat(dimension: number): Format {
  const span = 2.5 / Math.sqrt(dimension);
  const codewords = Float32Array.from({ length: 16 }, (_, index) => -span + (2 * span * (index + 0.5)) / 16);
  return { name: "scalar 4-bit", bits: 4, codewords, blockSize: 1 };
}

/** Random 4-bit codes packed two per byte, rows on byte boundaries, plus norms. */
function randomRows(format: Format, rowCount: number, dimension: number): { codes: Uint8Array; norms: Float32Array } {
  const blocks = dimension / format.blockSize;
  const indices = new Uint8Array(rowCount * blocks);
  for (let index = 0; index < indices.length; index++) indices[index] = Math.floor(random() * 16);
  const norms = Float32Array.from({ length: rowCount }, () => 4 + 8 * random());
  return { codes: packCodes(indices, rowCount, blocks, 4), norms };
}

// ---- timing -------------------------------------------------------------------------------

/** Fastest of `trials` timings (see timeCall): robust against a busy, shared machine. */
async function bestTime(action: () => Promise<unknown>): Promise<number> {
  let best = Infinity;
  for (let trial = 0; trial < trials; trial++) best = Math.min(best, await timeCall(action));
  return best;
}

/** Milliseconds per call: one warm-up, then repeats for ≥ timingMilliseconds (≥ 3 calls unless one call takes > 1 s). */
async function timeCall(action: () => Promise<unknown>): Promise<number> {
  const warmStart = performance.now();
  await action();
  const warm = performance.now() - warmStart;
  if (warm > 1000) return warm;
  let calls = 0;
  const started = performance.now();
  while (performance.now() - started < timingMilliseconds || calls < 3) {
    await action();
    calls++;
  }
  return (performance.now() - started) / calls;
}

// ---- backends -----------------------------------------------------------------------------

// ---- encode / decode ----------------------------------------------------------------------

interface CodingRow {
  backend: string;
  format: string;
  dimension: number;
  vectors: number;
  encodeVectorsPerSecond: number | null;
  encodeGigabytesPerSecond: number | null;
  decodeVectorsPerSecond: number | null;
  decodeGigabytesPerSecond: number | null;
  decodeSpeedupVsTs: number | null;
  /** Bytes the decode moves (codes + norms read, fp32 written) per second, and that over the single-thread copy ceiling (JS for ts, WASM otherwise). */
  decodeBytesMovedPerSecond: number | null;
  decodeFractionOfCopyCeiling: number | null;
  status: string;
}

async function benchCoding(entry: BackendEntry, format: Format, dimension: number): Promise<CodingRow> {
  const { backend } = entry;
  const isGpu = backend.name === "webgpu";
  // GPU: the encode input and the decode output must stay ≤ 256K floats.
  const vectors = isGpu ? gpuBufferLimitBytes / 4 / dimension : backend.name === "ts" ? (quick ? 1024 : 4096) : quick ? 8192 : 32768;
  const input = gaussian(vectors * dimension);
  const codebook = { codewords: format.codewords, blockSize: format.blockSize };
  const encodeMs = await bestTime(() => backend.kernels.encode({ vectors: input, count: vectors, dimension, codebook }));
  const encoded = await backend.kernels.encode({ vectors: input, count: vectors, dimension, codebook });
  const codes = packCodes(encoded.codes as Uint8Array, vectors, dimension / format.blockSize, 4);
  let decodeMs: number;
  if (backend.name === "ts") {
    const rows: CompressedRows = { codes, bitWidth: 4, norms: encoded.norms, codebook };
    decodeMs = await bestTime(() => backend.kernels.decode({ rows, count: vectors, dimension }));
  } else {
    // Codes, norms and output resident: the copy would cost more than the kernel.
    const residentCodes = backend.upload(codes);
    const residentNorms = backend.upload(encoded.norms);
    const output = backend.allocate("float32", vectors * dimension);
    const rows: CompressedRows = { codes: residentCodes, bitWidth: 4, norms: residentNorms, codebook };
    decodeMs = await bestTime(() => backend.kernels.decode({ rows, count: vectors, dimension }, output));
    for (const array of [residentCodes, residentNorms, output]) array.dispose();
  }
  const fp16Bytes = vectors * dimension * 2;
  return {
    backend: backend.name,
    format: format.name,
    dimension,
    vectors,
    encodeVectorsPerSecond: (vectors * 1000) / encodeMs,
    encodeGigabytesPerSecond: fp16Bytes / encodeMs / 1e6,
    decodeVectorsPerSecond: (vectors * 1000) / decodeMs,
    decodeGigabytesPerSecond: fp16Bytes / decodeMs / 1e6,
    decodeSpeedupVsTs: null,
    decodeBytesMovedPerSecond: (vectors * (dimension * format.bits / 8 + 4 + dimension * 4) * 1000) / decodeMs,
    decodeFractionOfCopyCeiling: null,
    status: "ok",
  };
}

// ---- attention ----------------------------------------------------------------------------

interface AttentionRow {
  backend: string;
  dimension: number;
  tokens: number;
  format: string;
  /** K and V bytes the step reads (codes + norms, or fp32). */
  megabytesRead: number;
  millisecondsPerStep: number | null;
  speedupVsDense: number | null;
  /** megabytesRead per step time, and that over the single-thread streaming-read ceiling (JS for ts, WASM otherwise). */
  bytesReadPerSecond: number | null;
  fractionOfReadCeiling: number | null;
  /** Nominal 2·d multiply-adds per cached token and head (q·k and p·v; lookups count as one), per second, and over the WASM SIMD ceiling. */
  multiplyAddsPerSecond: number | null;
  fractionOfSimdCeiling: number | null;
  status: string;
}

/**
 * Dense and compressed steps of one (backend, d, tokens) point are timed in interleaved trials and
 * the fastest trial of each is kept: on a shared, noisy machine this compares them under the same
 * conditions.
 */
async function benchAttention(entry: BackendEntry, dimension: number, tokens: number, progress: BenchProgress): Promise<AttentionRow[]> {
  const { backend } = entry;
  const rowCount = headCount * tokens;
  const queries = gaussian(headCount * dimension);
  const shape = { queries, tokenCount: tokens, headCount, kvHeadCount: headCount, dimension };
  const denseBytes = rowCount * dimension * 4;
  const isGpu = backend.name === "webgpu";
  const tooSlowForTs = backend.name === "ts" && tokens > 16384;
  const owned: DeviceArray[] = [];
  const candidates: Array<{ format: string; megabytesRead: number; step?: () => Promise<unknown>; status: string }> = [];

  progress.step(`${backend.name} d=${dimension} ${tokens} tokens: dense fp32, fibquant, scalar`);
  const denseCandidate = { format: "dense fp32", megabytesRead: (2 * denseBytes) / 1e6, status: "ok" } as (typeof candidates)[number];
  if (isGpu && (denseBytes > gpuBufferLimitBytes || rowCount * 4 > gpuBufferLimitBytes)) {
    denseCandidate.status = `skipped: ${(denseBytes / 1e6).toFixed(1)} MB buffer > 1 MB SwiftShader limit`;
  } else if (tooSlowForTs) {
    denseCandidate.status = "skipped: ts reference over 16K tokens (time budget)";
  } else {
    const keys = backend.allocate("float32", rowCount * dimension);
    const values = backend.allocate("float32", rowCount * dimension);
    owned.push(keys, values);
    const chunkRows = 4096;
    for (let row = 0; row < rowCount; row += chunkRows) {
      const length = Math.min(chunkRows, rowCount - row) * dimension;
      keys.write(gaussian(length), row * dimension);
      values.write(gaussian(length), row * dimension);
    }
    denseCandidate.step = () => backend.kernels.denseAttention({ ...shape, keys, values });
  }
  candidates.push(denseCandidate);

  for (const format of [fibquantFormat(dimension), scalarFormat(dimension)]) {
    const codeBytes = (rowCount * dimension * format.bits) / 8;
    const candidate = { format: format.name, megabytesRead: (2 * (codeBytes + rowCount * 4)) / 1e6, status: "ok" } as (typeof candidates)[number];
    candidates.push(candidate);
    if (isGpu && (codeBytes > gpuBufferLimitBytes || rowCount * 4 > gpuBufferLimitBytes)) {
      candidate.status = `skipped: ${(codeBytes / 1e6).toFixed(1)} MB code buffer > 1 MB SwiftShader limit`;
      continue;
    }
    if (tooSlowForTs) {
      candidate.status = "skipped: ts reference over 16K tokens (time budget)";
      continue;
    }
    const codebook = { codewords: format.codewords, blockSize: format.blockSize };
    const resident = (data: Uint8Array | Float32Array) => {
      const array = backend.upload(data);
      owned.push(array);
      return array;
    };
    const keyData = randomRows(format, rowCount, dimension);
    const valueData = randomRows(format, rowCount, dimension);
    const keys: CompressedRows = { codes: resident(keyData.codes), bitWidth: 4, norms: resident(keyData.norms), codebook };
    const values: CompressedRows = { codes: resident(valueData.codes), bitWidth: 4, norms: resident(valueData.norms), codebook };
    candidate.step = () => backend.kernels.attention({ ...shape, keys, values });
  }

  const best = candidates.map(() => Infinity);
  for (let trial = 0; trial < trials; trial++) {
    for (const [index, candidate] of candidates.entries()) {
      if (candidate.step) best[index] = Math.min(best[index], await timeCall(candidate.step));
    }
  }
  for (const array of owned) array.dispose();
  const denseMs = candidates[0].step ? best[0] : null;
  return candidates.map((candidate, index) => ({
    backend: backend.name,
    dimension,
    tokens,
    format: candidate.format,
    megabytesRead: candidate.megabytesRead,
    millisecondsPerStep: candidate.step ? best[index] : null,
    speedupVsDense: candidate.step && denseMs !== null ? denseMs / best[index] : null,
    bytesReadPerSecond: candidate.step ? (candidate.megabytesRead * 1e6 * 1000) / best[index] : null,
    fractionOfReadCeiling: null,
    multiplyAddsPerSecond: candidate.step ? (2 * dimension * rowCount * 1000) / best[index] : null,
    fractionOfSimdCeiling: null,
    status: candidate.status,
  }));
}

// ---- main ---------------------------------------------------------------------------------

/** Fills the ceiling fractions: single-thread figures, since every kernel here runs on one thread. */
function applyCeilings(coding: CodingRow[], attention: AttentionRow[], ceilings: MachineCeilings | { skipped: string }): void {
  if ("skipped" in ceilings) return;
  const single = ceilings.singleThread;
  const read = (backend: string) => (backend === "ts" ? single.jsReadBytesPerSecond : backend === "wasm" ? single.wasmReadBytesPerSecond : null);
  const copy = (backend: string) => (backend === "ts" ? single.jsCopyBytesPerSecond : backend === "wasm" ? single.wasmCopyBytesPerSecond : null);
  const simd = (backend: string) => (backend === "webgpu" ? null : single.wasmSimdMultiplyAddsPerSecond);
  for (const row of coding) {
    const ceiling = copy(row.backend);
    if (ceiling && row.decodeBytesMovedPerSecond) row.decodeFractionOfCopyCeiling = row.decodeBytesMovedPerSecond / ceiling;
  }
  for (const row of attention) {
    const readCeiling = read(row.backend);
    const simdCeiling = simd(row.backend);
    if (readCeiling && row.bytesReadPerSecond) row.fractionOfReadCeiling = row.bytesReadPerSecond / readCeiling;
    if (simdCeiling && row.multiplyAddsPerSecond) row.fractionOfSimdCeiling = row.multiplyAddsPerSecond / simdCeiling;
  }
}

async function main(): Promise<void> {
  // Measured first, in this run, before the kernels heat the machine differently.
  const ceilings = benchCeilings();
  const entries: BackendEntry[] = [];
  const skippedBackends: Record<string, string> = {};
  // wasm on one thread, so these numbers stay comparable with earlier runs; bench:threads compares thread counts.
  for (const create of [createTypeScriptBackend, () => createWasmBackend({ threads: 1 })]) {
    const backend = create();
    await backend.init();
    entries.push({ backend, note: backend.name === "ts" ? "TypeScript reference (float64 loops)" : "AssemblyScript, f32x4 SIMD, 1 thread" });
  }
  const gpu = await nodeWebGpu();
  if ("skipped" in gpu) skippedBackends.webgpu = gpu.skipped;
  else entries.push(gpu);

  const formats = (dimension: number) => [fibquantFormat(dimension), scalarFormat(dimension)];
  const total = entries.length * dimensions.length * (formats(64).length + tokenCounts.length);
  const progress = new BenchProgress(total);

  const coding: CodingRow[] = [];
  for (const entry of entries) {
    for (const dimension of dimensions) {
      for (const format of formats(dimension)) {
        progress.step(`${entry.backend.name} encode/decode ${format.name} d=${dimension}`);
        coding.push(await benchCoding(entry, format, dimension));
      }
    }
  }
  for (const row of coding) {
    const reference = coding.find((other) => other.backend === "ts" && other.format === row.format && other.dimension === row.dimension);
    if (reference?.decodeVectorsPerSecond && row.decodeVectorsPerSecond) row.decodeSpeedupVsTs = row.decodeVectorsPerSecond / reference.decodeVectorsPerSecond;
  }

  const attention: AttentionRow[] = [];
  for (const entry of entries) {
    for (const dimension of dimensions) {
      for (const tokens of tokenCounts) attention.push(...(await benchAttention(entry, dimension, tokens, progress)));
    }
  }

  applyCeilings(coding, attention, ceilings);
  if (!("skipped" in ceilings)) {
    const single = ceilings.singleThread;
    process.stdout.write(
      `\nCeilings, one thread: JS read ${(single.jsReadBytesPerSecond / 1e9).toFixed(2)} GB/s, WASM read ${(single.wasmReadBytesPerSecond / 1e9).toFixed(2)} GB/s, ` +
        `WASM copy ${(single.wasmCopyBytesPerSecond / 1e9).toFixed(2)} GB/s, WASM SIMD ${(single.wasmSimdMultiplyAddsPerSecond / 1e9).toFixed(2)} G multiply-adds/s\n`,
    );
  }
  printTable("Encode / decode throughput (GB/s of fp16-equivalent KV; decode into resident memory except ts)", coding, [
    { header: "backend", value: (row) => row.backend },
    { header: "format", value: (row) => row.format },
    { header: "d", value: (row) => row.dimension, digits: 0 },
    { header: "vectors", value: (row) => row.vectors, digits: 0 },
    { header: "encode vec/s", value: (row) => row.encodeVectorsPerSecond ?? "-", digits: 0 },
    { header: "encode GB/s", value: (row) => row.encodeGigabytesPerSecond ?? "-", digits: 3 },
    { header: "decode vec/s", value: (row) => row.decodeVectorsPerSecond ?? "-", digits: 0 },
    { header: "decode GB/s", value: (row) => row.decodeGigabytesPerSecond ?? "-", digits: 3 },
    { header: "decode × ts", value: (row) => row.decodeSpeedupVsTs ?? "-", digits: 1 },
    { header: "decode / copy ceiling", value: (row) => row.decodeFractionOfCopyCeiling ?? "-", digits: 3 },
  ]);
  printTable(`Decode-step attention, ${headCount} heads (MHA), compressed pages vs dense fp32 in the same backend`, attention, [
    { header: "backend", value: (row) => row.backend },
    { header: "d", value: (row) => row.dimension, digits: 0 },
    { header: "tokens", value: (row) => row.tokens, digits: 0 },
    { header: "format", value: (row) => row.format },
    { header: "MB read", value: (row) => row.megabytesRead, digits: 1 },
    { header: "ms/step", value: (row) => row.millisecondsPerStep ?? "-", digits: 3 },
    { header: "× dense", value: (row) => row.speedupVsDense ?? "-", digits: 2 },
    { header: "GB/s", value: (row) => (row.bytesReadPerSecond === null ? "-" : row.bytesReadPerSecond / 1e9), digits: 2 },
    { header: "/ read ceiling", value: (row) => row.fractionOfReadCeiling ?? "-", digits: 3 },
    { header: "/ SIMD ceiling", value: (row) => row.fractionOfSimdCeiling ?? "-", digits: 3 },
    { header: "status", value: (row) => row.status },
  ]);

  const wasmDecode = coding.filter((row) => row.backend === "wasm").map((row) => row.decodeSpeedupVsTs ?? 0);
  const wasm16k = attention.filter((row) => row.backend === "wasm" && row.tokens === 16384 && row.format !== "dense fp32");
  const checks = {
    wasmDecodeAtLeast10xTs: { minimum: Math.min(...wasmDecode), passed: Math.min(...wasmDecode) >= 10 },
    wasmCompressedAttention16kAtLeast1_5xDense: {
      minimum: Math.min(...wasm16k.map((row) => row.speedupVsDense ?? 0)),
      passed: wasm16k.length > 0 && wasm16k.every((row) => (row.speedupVsDense ?? 0) >= 1.5),
    },
  };
  process.stdout.write(
    `\nWASM decode vs ts: ${checks.wasmDecodeAtLeast10xTs.minimum.toFixed(1)}× at least (target ≥ 10×: ${checks.wasmDecodeAtLeast10xTs.passed ? "met" : "NOT met"})\n` +
      `WASM compressed attention at 16K tokens vs dense fp32: ${checks.wasmCompressedAttention16kAtLeast1_5xDense.minimum.toFixed(2)}× at least (target ≥ 1.5×: ${checks.wasmCompressedAttention16kAtLeast1_5xDense.passed ? "met" : "NOT met"})\n`,
  );
  const path = writeBenchJson("kernels", {
    quick,
    headCount,
    backends: Object.fromEntries(entries.map((entry) => [entry.backend.name, entry.note])),
    skippedBackends,
    coding,
    attention,
    checks,
  });
  process.stdout.write(`wrote ${path}\n`);
  for (const entry of entries) entry.backend.dispose();
}

await main();
