/**
 * Runs async tasks one at a time, in call order. An async runtime (KernelLlamaRuntime) reuses its
 * buffers between steps, so two generations interleaving on the event loop must not be inside it at once.
 */
export class SerialRunner {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(task: () => T | Promise<T>): Promise<T> {
    const result = this.tail.then(task);
    this.tail = result.catch(() => undefined);
    return result;
  }
}
