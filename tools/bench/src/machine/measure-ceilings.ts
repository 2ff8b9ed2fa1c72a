/**
 * The machine's own ceilings, measured in the run that uses them: streaming read and copy bandwidth of
 * a buffer far larger than the last-level cache, from JavaScript (Float64Array loops) and from WASM
 * (v128 loads/stores), on one thread and on every core at once (worker_threads), and the WASM SIMD
 * f32x4 multiply-add rate. Kernel tables divide their bytes/s and operations/s by these.
 */
import { Worker } from "node:worker_threads";
import { machineInfo } from "./machine-info.js";
import { probeChains, probeWasmBytes } from "./probe-wasm.js";

export interface ThreadCeilings {
  readonly threads: number;
  /** Bytes/s summed over threads; copy counts bytes read + written. */
  readonly jsReadBytesPerSecond: number;
  readonly jsCopyBytesPerSecond: number;
  readonly wasmReadBytesPerSecond: number;
  readonly wasmCopyBytesPerSecond: number;
  /** f32 multiply-adds per second (one multiply and one add each: 2 flops), f32x4 lanes counted. */
  readonly wasmSimdMultiplyAddsPerSecond: number;
}

export interface MachineCeilings {
  readonly bufferBytesPerThread: number;
  readonly millisecondsPerKernel: number;
  readonly singleThread: ThreadCeilings;
  readonly allThreads: ThreadCeilings;
  readonly note: string;
}

const mebibyte = 1 << 20;

/** Per-thread buffer: 8× the last-level cache, at least 256 MiB (128 MiB in quick mode), at most 1 GiB. */
export function probeBufferBytes(quick: boolean): number {
  const cache = machineInfo().lastLevelCacheBytes;
  const floor = (quick ? 128 : 256) * mebibyte;
  const wanted = typeof cache === "number" ? Math.max(floor, 8 * cache) : floor;
  return Math.min(1024 * mebibyte, Math.ceil(wanted / (64 * mebibyte)) * 64 * mebibyte);
}

async function runThreads(threads: number, bufferBytes: number, milliseconds: number): Promise<ThreadCeilings> {
  const wasmBytes = probeWasmBytes(bufferBytes / 65536);
  const barrier = new SharedArrayBuffer(8);
  const url = new URL("./ceiling-worker.mjs", import.meta.url);
  const runs = Array.from({ length: threads }, () => {
    const worker = new Worker(url, { workerData: { wasmBytes, bufferBytes, milliseconds, barrier, threads, chains: probeChains } });
    return new Promise<Record<string, number>>((resolve, reject) => {
      worker.once("message", (message: { results: Record<string, number> }) => {
        resolve(message.results);
        void worker.terminate();
      });
      worker.once("error", reject);
    });
  });
  const results = await Promise.all(runs);
  const sum = (key: string) => results.reduce((total, result) => total + result[key], 0);
  return {
    threads,
    jsReadBytesPerSecond: sum("jsRead"),
    jsCopyBytesPerSecond: sum("jsCopy"),
    wasmReadBytesPerSecond: sum("wasmRead"),
    wasmCopyBytesPerSecond: sum("wasmCopy"),
    wasmSimdMultiplyAddsPerSecond: sum("wasmMultiplyAdd"),
  };
}

export async function measureCeilings(options: { quick?: boolean; threads?: number } = {}): Promise<MachineCeilings> {
  const quick = options.quick ?? process.env.KVPACK_BENCH_QUICK === "1";
  const bufferBytesPerThread = probeBufferBytes(quick);
  const millisecondsPerKernel = quick ? 300 : 1000;
  const singleThread = await runThreads(1, bufferBytesPerThread, millisecondsPerKernel);
  const allThreads = await runThreads(options.threads ?? machineInfo().cores, bufferBytesPerThread, millisecondsPerKernel);
  return {
    bufferBytesPerThread,
    millisecondsPerKernel,
    singleThread,
    allThreads,
    note:
      "median pass over a buffer of bufferBytesPerThread per thread (threads start together at a barrier; all-thread figures are sums); read: JS Float64Array loop with 4 accumulators / WASM v128.load ×8 per iteration; copy: half the buffer into the other half, bytes read + written (STREAM convention), JS element loop / WASM v128 load+store; multiply-add: WASM f32x4 mul then add on 12 independent register chains (no FMA in baseline WASM SIMD), lanes counted",
  };
}
