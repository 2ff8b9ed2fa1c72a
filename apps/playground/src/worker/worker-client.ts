import type { WorkerRequest, WorkerResponse } from "./protocol.js";

type Listener = (message: WorkerResponse) => void;

/** Starts the worker that loads and runs models and measures the frontier. */
export function createModelWorker(): Worker {
  return new Worker(new URL("./model-worker.ts", import.meta.url), { type: "module", name: "kvpack-model" });
}

/** Starts the worker that builds FibQuant codebooks, so a slow build never holds up generation. */
export function createCodebookWorker(): Worker {
  return new Worker(new URL("./codebook-worker.ts", import.meta.url), { type: "module", name: "kvpack-codebook" });
}

/** Typed wrapper around a worker: post requests, subscribe to every response. */
export class WorkerClient {
  private readonly worker: Worker;
  private readonly listeners = new Set<Listener>();

  constructor(worker: Worker) {
    this.worker = worker;
    this.worker.addEventListener("message", (event: MessageEvent<WorkerResponse>) => {
      for (const listener of this.listeners) listener(event.data);
    });
    this.worker.addEventListener("error", (event) => {
      const message: WorkerResponse = {
        type: "error",
        task: "init",
        message: "The background worker that runs the model stopped unexpectedly. Reload the page to start again.",
        detail: event.message || "worker error",
      };
      for (const listener of this.listeners) listener(message);
    });
  }

  post(request: WorkerRequest, transfer: Transferable[] = []): void {
    this.worker.postMessage(request, transfer);
  }

  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
