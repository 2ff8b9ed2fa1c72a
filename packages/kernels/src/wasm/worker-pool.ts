import { poolWorkerMain, type PoolWorkerSetup } from "./pool-worker.js";
import type { HostWorker, ThreadHost } from "./thread-host.js";

// Control block (Int32 words at `control`, then float64 arguments), shared by the calling thread and
// the workers; pool-worker.ts repeats these numbers.
const nextChunkWord = 0;
const functionWord = 1;
const countWord = 2;
const grainWord = 3;
const argumentCountWord = 4;
const errorWord = 5;
const firstStateWord = 8;
const maximumChunks = 0xffff;
/** A worker's state word: idle (0) → posted (by the caller) → running (by the worker) → idle; or posted → cancelled (by the caller). */
const posted = 1;
const running = 2;
const cancelled = 3;
const stopped = 4;
const maximumArguments = 32;

export type PoolDispatch = "atomics" | "message";

/** Another module the workers instantiate over its own (shared) memory, whose exports the pool may call too. */
export interface PoolModule {
  readonly module: WebAssembly.Module;
  readonly memory: WebAssembly.Memory;
  /** The calling thread's instance of `module` over `memory`. */
  readonly exports: WebAssembly.Exports;
  readonly functions: readonly string[];
}

export interface WorkerPoolOptions {
  readonly host: ThreadHost;
  /** A module whose memory is imported as env.memory and shared. */
  readonly module: WebAssembly.Module;
  readonly memory: WebAssembly.Memory;
  /** The calling thread's instance of `module` over `memory` (it runs chunks too). */
  readonly exports: WebAssembly.Exports;
  /** Exports `parallelFor` may call; each takes its own arguments, then [start, end). */
  readonly functions: readonly string[];
  /**
   * More modules, each over its own memory (e.g. the cache's attention kernels beside the matmuls),
   * so one set of workers serves both and stays warm between their calls. Function names must be
   * unique across all modules.
   */
  readonly extraModules?: readonly PoolModule[];
  /** Threads in all, the calling one included (≥ 2). */
  readonly threads: number;
  /** Byte offset of `WorkerPool.controlBytes(threads)` bytes of `memory`, 8-byte aligned, owned by the pool. */
  readonly control: number;
  /**
   * "atomics" (default): workers poll and then sleep on a state word, so a call costs no message.
   * "message": one postMessage per worker per call and one reply (kept to measure the difference).
   */
  readonly dispatch?: PoolDispatch;
  /** How long an idle worker polls before it sleeps (default 200 µs; only for "atomics"). */
  readonly spinMicroseconds?: number;
}

interface PoolWorker {
  readonly host: HostWorker;
  /** Resolves the pending "message"-dispatch job. */
  done?: () => void;
}

/** Words: the header, a state word per thread, then a chunk counter per thread (for `chunkCounts`). */
function controlWords(threads: number): number {
  return firstStateWord + 2 * threads;
}

function argumentsOffset(threads: number): number {
  return Math.ceil((controlWords(threads) * 4) / 8) * 8;
}

/**
 * Threads over one shared WebAssembly.Memory, each with its own instance of the same module. A call
 * splits [0, count) into chunks of `grain` items that the calling thread and the workers claim from
 * one atomic word, so a busy core (this machine is shared) slows a call down by less than its
 * share. The calling thread claims from the front, the workers from the back: a thread then tends to
 * run the same chunks call after call (the same attention work items, whose scratch stays in its
 * core's caches; measured ~2–5 % on a 2-thread layer at 16K rows). Nothing here knows what the
 * functions compute: the kernels say which export to call with which arguments, and every item
 * must be independent of the others (a matmul row, an attention head).
 */
export class WorkerPool {
  readonly threads: number;
  readonly dispatch: PoolDispatch;
  private readonly workers: PoolWorker[];
  private readonly words: Int32Array;
  private readonly argumentValues: Float64Array;
  private readonly functionIndex: Map<string, number>;
  private readonly kernels: ((...args: number[]) => void)[];
  private readonly canBlock: boolean;
  private disposed = false;

  /** Bytes of control block a pool of `threads` needs. */
  static controlBytes(threads: number): number {
    return argumentsOffset(threads) + maximumArguments * 8;
  }

  /** Starts `threads − 1` workers and resolves once each has instantiated the module. */
  static async start(options: WorkerPoolOptions): Promise<WorkerPool> {
    const dispatch = options.dispatch ?? "atomics";
    const body = poolWorkerMain.toString();
    const workers: PoolWorker[] = [];
    new Int32Array(options.memory.buffer, options.control, controlWords(options.threads)).fill(0);
    try {
      const ready: Promise<void>[] = [];
      for (let index = 1; index < options.threads; index++) {
        const host = options.host.spawn(body);
        const worker: PoolWorker = { host };
        workers.push(worker);
        host.hold(true);
        ready.push(
          new Promise<void>((resolve, reject) => {
            host.onError(reject);
            host.listen((message) => {
              const data = message as { type: string; message?: string };
              if (data.type === "ready") resolve();
              else if (data.type === "error") reject(new Error(`worker ${index}: ${data.message}`));
              else if (data.type === "done") worker.done?.();
            });
          }),
        );
        const setup: PoolWorkerSetup = {
          type: "setup",
          module: options.module,
          memory: options.memory,
          functions: options.functions,
          extraModules: (options.extraModules ?? []).map(({ module, memory, functions }) => ({ module, memory, functions })),
          control: options.control,
          controlWords: controlWords(options.threads),
          threads: options.threads,
          argumentsOffset: argumentsOffset(options.threads),
          maximumArguments,
          index,
          dispatch,
          spinMicroseconds: options.spinMicroseconds ?? 200,
        };
        host.post(setup);
      }
      await Promise.all(ready);
      for (const worker of workers) worker.host.hold(false);
    } catch (error) {
      for (const worker of workers) worker.host.terminate();
      throw error;
    }
    return new WorkerPool(options, dispatch, workers);
  }

  private constructor(options: WorkerPoolOptions, dispatch: PoolDispatch, workers: PoolWorker[]) {
    this.threads = options.threads;
    this.dispatch = dispatch;
    this.workers = workers;
    this.canBlock = options.host.canBlock;
    this.words = new Int32Array(options.memory.buffer, options.control, controlWords(options.threads));
    this.argumentValues = new Float64Array(options.memory.buffer, options.control + argumentsOffset(options.threads), maximumArguments);
    const modules = [{ exports: options.exports, functions: options.functions }, ...(options.extraModules ?? [])];
    this.functionIndex = new Map();
    this.kernels = [];
    for (const { exports, functions } of modules) {
      for (const name of functions) {
        if (this.functionIndex.has(name)) throw new Error(`pool function "${name}" is exported by two modules`);
        this.functionIndex.set(name, this.kernels.length);
        this.kernels.push(exports[name] as (...args: number[]) => void);
      }
    }
  }

  /**
   * Calls `name(...args, start, end)` over chunks of `grain` items covering [0, count), on every
   * thread; returns (or resolves, for "message" dispatch) when all of them are done.
   */
  parallelFor(name: string, args: readonly number[], count: number, grain: number): void | Promise<void> {
    if (this.disposed) throw new Error("the worker pool was disposed");
    const index = this.functionIndex.get(name);
    if (index === undefined) throw new Error(`"${name}" is not a pool function`);
    if (args.length > maximumArguments) throw new Error(`at most ${maximumArguments} arguments`);
    const words = this.words;
    words[functionWord] = index;
    words[countWord] = count;
    // At most 65,535 chunks: the claim word counts each end in 16 bits.
    words[grainWord] = Math.max(1, grain, Math.ceil(count / maximumChunks));
    words[argumentCountWord] = args.length;
    words[errorWord] = 0;
    this.argumentValues.set(args);
    Atomics.store(words, nextChunkWord, 0);
    if (this.dispatch === "message") return this.runByMessage(this.kernels[index], args, count);
    for (let worker = 1; worker < this.threads; worker++) {
      Atomics.store(words, firstStateWord + worker, posted);
      Atomics.notify(words, firstStateWord + worker, 1);
    }
    let failure: unknown;
    try {
      this.runChunks(this.kernels[index], args, count);
    } catch (error) {
      failure = error;
    }
    for (let worker = 1; worker < this.threads; worker++) this.awaitWorker(firstStateWord + worker);
    this.checkErrors(failure);
  }

  /** Chunks each thread has run since the pool started (index 0: the calling thread). */
  chunkCounts(): number[] {
    return Array.from({ length: this.threads }, (_, thread) => Atomics.load(this.words, firstStateWord + this.threads + thread));
  }

  /** Stops the workers (they leave their wait loop) and terminates them. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (let worker = 1; worker < this.threads; worker++) {
      Atomics.store(this.words, firstStateWord + worker, stopped);
      Atomics.notify(this.words, firstStateWord + worker);
    }
    for (const worker of this.workers) worker.host.terminate();
  }

  private async runByMessage(kernel: (...args: number[]) => void, args: readonly number[], count: number): Promise<void> {
    const replies = this.workers.map(
      (worker) =>
        new Promise<void>((resolve) => {
          worker.done = resolve;
          worker.host.hold(true);
          worker.host.post({ type: "job" });
        }),
    );
    let failure: unknown;
    try {
      this.runChunks(kernel, args, count);
    } catch (error) {
      failure = error;
    }
    await Promise.all(replies);
    for (const worker of this.workers) worker.host.hold(false);
    this.checkErrors(failure);
  }

  private runChunks(kernel: (...args: number[]) => void, args: readonly number[], count: number): void {
    const words = this.words;
    const grain = words[grainWord];
    const chunks = Math.ceil(count / grain);
    const call = [...args, 0, 0];
    for (;;) {
      // The claim word: chunks taken from the front (low 16 bits) and from the back (high 16 bits).
      let chunk = -1;
      for (;;) {
        const claimed = Atomics.load(words, nextChunkWord);
        const front = claimed & 0xffff;
        if (front + (claimed >>> 16) >= chunks) break;
        if (Atomics.compareExchange(words, nextChunkWord, claimed, claimed + 1) === claimed) {
          chunk = front;
          break;
        }
      }
      if (chunk < 0) return;
      const start = chunk * grain;
      call[args.length] = start;
      call[args.length + 1] = Math.min(count, start + grain);
      kernel(...call);
      this.words[firstStateWord + this.threads]++;
    }
  }

  /** A worker that has not picked the job up is cancelled (its chunks were taken); a running one is waited for. */
  private awaitWorker(stateWord: number): void {
    const words = this.words;
    if (Atomics.compareExchange(words, stateWord, posted, cancelled) === posted) return;
    let polls = 0;
    while (Atomics.load(words, stateWord) === running) {
      // Poll briefly (the worker is finishing its last chunk), then sleep where this thread may.
      if (++polls > 4096 && this.canBlock) Atomics.wait(words, stateWord, running, 50);
    }
  }

  private checkErrors(failure: unknown): void {
    if (failure !== undefined) throw failure;
    if (Atomics.load(this.words, errorWord) !== 0) throw new Error("a worker's kernel call failed (a trap in the WebAssembly module)");
  }
}
