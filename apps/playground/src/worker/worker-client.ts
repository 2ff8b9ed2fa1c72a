import type { WorkerRequest, WorkerResponse } from "./protocol.js";

type Listener = (message: WorkerResponse) => void;

/** Typed wrapper around the model worker: post requests, subscribe to every response. */
export class WorkerClient {
  private readonly worker: Worker;
  private readonly listeners = new Set<Listener>();

  constructor() {
    this.worker = new Worker(new URL("./model-worker.ts", import.meta.url), { type: "module", name: "kvpack-model" });
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
