import type { PoolWorkerPort } from "./pool-worker.js";

/** One started worker, seen from the thread that started it. */
export interface HostWorker {
  post(message: unknown): void;
  listen(handler: (message: unknown) => void): void;
  onError(handler: (error: Error) => void): void;
  /** Whether a pending reply keeps a Node process alive (workers are unreferenced otherwise). */
  hold(held: boolean): void;
  terminate(): void;
}

/** Where worker threads come from: Node's worker_threads or the browser's Web Workers. */
export interface ThreadHost {
  readonly kind: "worker_threads" | "web-workers";
  /** os.availableParallelism() in Node, navigator.hardwareConcurrency in browsers. */
  readonly parallelism: number;
  /** Whether this thread may block in Atomics.wait (not a browser's main thread). */
  readonly canBlock: boolean;
  /** Starts a worker running `body(port)`, where body is a self-contained function's source. */
  spawn(body: string): HostWorker;
}

type NodeWorker = {
  postMessage(message: unknown): void;
  on(event: "message", handler: (message: unknown) => void): void;
  on(event: "error", handler: (error: Error) => void): void;
  ref(): void;
  unref(): void;
  terminate(): Promise<number>;
};
type NodeWorkerConstructor = new (source: string, options: { eval: true }) => NodeWorker;

interface HostGlobals {
  process?: { versions?: { node?: string } };
  navigator?: { hardwareConcurrency?: number };
  Worker?: new (url: string) => {
    postMessage(message: unknown): void;
    addEventListener(event: "message", handler: (event: { data: unknown }) => void): void;
    addEventListener(event: "error", handler: (event: { message?: string }) => void): void;
    terminate(): void;
  };
  WorkerGlobalScope?: unknown;
  crossOriginIsolated?: boolean;
}

const host = globalThis as unknown as HostGlobals;

/** The worker body called with its port, for a worker_threads worker (eval'd as CommonJS). */
function nodeWorkerSource(body: string): string {
  return (
    'const { parentPort } = require("node:worker_threads");\n' +
    `(${body})({ post: (message) => parentPort.postMessage(message), listen: (handler) => parentPort.on("message", handler) });\n`
  );
}

/** The same for a Web Worker (a classic script from a blob: URL). */
function webWorkerSource(body: string): string {
  return `(${body})({ post: (message) => self.postMessage(message), listen: (handler) => self.addEventListener("message", (event) => handler(event.data)) });\n`;
}

async function nodeHost(): Promise<ThreadHost> {
  // Specifiers in variables, so browser bundlers leave these Node-only imports alone.
  const workerThreads = "node:worker_threads";
  const os = "node:os";
  const { Worker } = (await import(/* @vite-ignore */ workerThreads)) as { Worker: NodeWorkerConstructor };
  const { availableParallelism, cpus } = (await import(/* @vite-ignore */ os)) as { availableParallelism?: () => number; cpus: () => unknown[] };
  return {
    kind: "worker_threads",
    parallelism: availableParallelism ? availableParallelism() : cpus().length,
    canBlock: true,
    spawn: (body) => {
      const worker = new Worker(nodeWorkerSource(body), { eval: true });
      worker.unref();
      const port: PoolWorkerPort = { post: (message) => worker.postMessage(message), listen: (handler) => worker.on("message", handler) };
      return {
        ...port,
        onError: (handler) => worker.on("error", handler),
        hold: (held) => (held ? worker.ref() : worker.unref()),
        terminate: () => void worker.terminate(),
      };
    },
  };
}

function webHost(WorkerClass: NonNullable<HostGlobals["Worker"]>): ThreadHost {
  return {
    kind: "web-workers",
    parallelism: host.navigator?.hardwareConcurrency ?? 1,
    canBlock: host.WorkerGlobalScope !== undefined,
    spawn: (body) => {
      const url = URL.createObjectURL(new Blob([webWorkerSource(body)], { type: "text/javascript" }));
      const worker = new WorkerClass(url);
      return {
        post: (message) => worker.postMessage(message),
        listen: (handler) => worker.addEventListener("message", (event) => handler(event.data)),
        onError: (handler) => worker.addEventListener("error", (event) => handler(new Error(event.message ?? "worker failed to load"))),
        hold: () => undefined,
        terminate: () => {
          worker.terminate();
          URL.revokeObjectURL(url);
        },
      };
    },
  };
}

/**
 * The thread host of this environment, or why there is none: SharedArrayBuffer is missing (a page
 * that is not cross-origin isolated) or no worker API exists.
 */
export async function detectThreadHost(): Promise<ThreadHost | { readonly unavailable: string }> {
  if (typeof SharedArrayBuffer === "undefined" || host.crossOriginIsolated === false) {
    return {
      unavailable:
        "SharedArrayBuffer is unavailable: the page is not cross-origin isolated " +
        "(serve it with Cross-Origin-Opener-Policy: same-origin and Cross-Origin-Embedder-Policy: require-corp)",
    };
  }
  if (typeof Atomics === "undefined") return { unavailable: "Atomics is unavailable" };
  if (host.process?.versions?.node) {
    try {
      return await nodeHost();
    } catch (error) {
      return { unavailable: `node:worker_threads could not be loaded: ${error instanceof Error ? error.message : String(error)}` };
    }
  }
  if (typeof host.Worker === "function") return webHost(host.Worker);
  return { unavailable: "no Worker API in this environment" };
}
