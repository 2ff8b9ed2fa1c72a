/**
 * Runs async tasks one at a time, in call order. An async runtime (KernelLlamaRuntime) reuses its
 * buffers between steps, so two generations interleaving on the event loop must not be inside it at
 * once. Each turn starts on a fresh event-loop turn (setImmediate): a runtime whose kernels resolve at
 * once runs a whole batch in microtasks, and without the gap the next queued batch would start before
 * any I/O (a client's disconnect, /health) was handled.
 */
export class SerialRunner {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(task: () => T | Promise<T>): Promise<T> {
    const result = this.tail.then(() => new Promise<void>((resolve) => setImmediate(resolve))).then(task);
    this.tail = result.catch(() => undefined);
    return result;
  }
}
