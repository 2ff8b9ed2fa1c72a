/** What the worker's host adapter (thread-host.ts) hands the worker body: its end of the message channel. */
export interface PoolWorkerPort {
  post(message: unknown): void;
  listen(handler: (message: unknown) => void): void;
}

/** The first message a pool worker receives (worker-pool.ts sends it). */
export interface PoolWorkerSetup {
  readonly type: "setup";
  readonly module: WebAssembly.Module;
  readonly memory: WebAssembly.Memory;
  /** Exports the pool may call, by index; each takes its arguments, then [start, end). */
  readonly functions: readonly string[];
  /** More modules over their own memories; their functions are numbered after `functions`, in order. */
  readonly extraModules: ReadonlyArray<{ readonly module: WebAssembly.Module; readonly memory: WebAssembly.Memory; readonly functions: readonly string[] }>;
  /** Byte offset of the control block in `memory` (layout in worker-pool.ts). */
  readonly control: number;
  readonly controlWords: number;
  readonly threads: number;
  readonly argumentsOffset: number;
  readonly maximumArguments: number;
  /** This worker's number, 1 … threads − 1 (0 is the calling thread). */
  readonly index: number;
  readonly dispatch: "atomics" | "message";
  /** How long an idle worker polls its state word before it sleeps in Atomics.wait. */
  readonly spinMicroseconds: number;
}

/**
 * The body of every pool worker, in Node's worker_threads and in Web Workers alike. It is shipped
 * as source text (`poolWorkerMain.toString()`), so it must not reference anything outside itself:
 * the control block's word numbers and states are repeated here from worker-pool.ts.
 *
 * It instantiates the shared-memory kernels module over the pool's memory, then takes jobs: with
 * "atomics" it polls and then sleeps on its state word (no message per job); with "message" each job
 * is a message and the reply says it is done. Either way the rows of a job are claimed chunk by chunk
 * from one atomic word shared with the calling thread (which claims from the front) and the other
 * workers (from the back, as this one).
 */
export function poolWorkerMain(port: PoolWorkerPort): void {
  // Word numbers of the control block and the states of a worker's state word (see worker-pool.ts).
  const nextChunkWord = 0;
  const functionWord = 1;
  const countWord = 2;
  const grainWord = 3;
  const argumentCountWord = 4;
  const errorWord = 5;
  const firstStateWord = 8;
  const idle = 0;
  const posted = 1;
  const running = 2;
  const stopped = 4;

  let job: (() => void) | undefined;

  const setUp = (setup: PoolWorkerSetup): void => {
    const functions: Array<(...args: number[]) => void> = [];
    for (const { module, memory, functions: names } of [setup, ...setup.extraModules]) {
      const instance = new WebAssembly.Instance(module, { env: { memory } });
      const exports = instance.exports as Record<string, (...args: number[]) => void>;
      for (const name of names) {
        const kernel = exports[name];
        if (typeof kernel !== "function") throw new Error(`the module has no export "${name}"`);
        functions.push(kernel);
      }
    }
    // The control block sits at a low address: this view stays valid when the memory grows.
    const words = new Int32Array(setup.memory.buffer, setup.control, setup.controlWords);
    const argumentValues = new Float64Array(setup.memory.buffer, setup.control + setup.argumentsOffset, setup.maximumArguments);
    const chunkCountWord = firstStateWord + setup.threads + setup.index;
    job = () => {
      const kernel = functions[words[functionWord]];
      const count = words[countWord];
      const grain = words[grainWord];
      const argumentCount = words[argumentCountWord];
      const call: number[] = [];
      for (let index = 0; index < argumentCount; index++) call.push(argumentValues[index]);
      call.push(0, 0);
      const chunks = Math.ceil(count / grain);
      try {
        for (;;) {
          // Chunks taken from the back: the high 16 bits of the claim word count them.
          let chunk = -1;
          for (;;) {
            const claimed = Atomics.load(words, nextChunkWord);
            const back = claimed >>> 16;
            if ((claimed & 0xffff) + back >= chunks) break;
            if (Atomics.compareExchange(words, nextChunkWord, claimed, claimed + 0x10000) === claimed) {
              chunk = chunks - 1 - back;
              break;
            }
          }
          if (chunk < 0) break;
          const start = chunk * grain;
          call[argumentCount] = start;
          call[argumentCount + 1] = Math.min(count, start + grain);
          kernel(...call);
          words[chunkCountWord]++;
        }
      } catch {
        Atomics.store(words, errorWord, 1);
      }
    };
    port.post({ type: "ready" });
    if (setup.dispatch === "message") return;
    const stateWord = firstStateWord + setup.index;
    const spinMilliseconds = setup.spinMicroseconds / 1000;
    // From here on this worker never returns to its event loop: it waits on its state word.
    for (;;) {
      let state = Atomics.load(words, stateWord);
      if (state !== posted && state !== stopped) {
        const deadline = performance.now() + spinMilliseconds;
        let polls = 0;
        while ((state = Atomics.load(words, stateWord)) !== posted && state !== stopped) {
          if ((++polls & 1023) === 0 && performance.now() > deadline) Atomics.wait(words, stateWord, state);
        }
      }
      if (state === stopped) return;
      // The calling thread may have cancelled the job (taken every chunk itself) in the meantime.
      if (Atomics.compareExchange(words, stateWord, posted, running) !== posted) continue;
      job();
      Atomics.store(words, stateWord, idle);
      Atomics.notify(words, stateWord);
    }
  };

  port.listen((message) => {
    const data = message as { type: string };
    if (data.type === "setup") {
      try {
        setUp(data as PoolWorkerSetup);
      } catch (error) {
        port.post({ type: "error", message: error instanceof Error ? error.message : String(error) });
      }
    } else if (data.type === "job" && job) {
      job();
      port.post({ type: "done" });
    }
  });
}
