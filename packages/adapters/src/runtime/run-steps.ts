/** A value now, or a promise of it: what one step of a forward loop hands its driver. */
export type Step<T> = T | Promise<T>;

/**
 * A forward loop written once as a generator: it yields each kernel call's result (a value or a
 * promise) and is resumed with the value. `runSync` drives it for synchronous kernels,
 * `runAsync` awaits each step for kernel backends (WASM, WebGPU), so both runtimes share one loop.
 */
export type Steps<T> = Generator<Step<Float32Array>, T, Float32Array>;

export function runSync<T>(steps: Steps<T>): T {
  let result = steps.next();
  while (!result.done) {
    if (result.value instanceof Promise) throw new Error("runSync: a kernel returned a promise; use an async runtime for this backend");
    result = steps.next(result.value);
  }
  return result.value;
}

export async function runAsync<T>(steps: Steps<T>): Promise<T> {
  let result = steps.next();
  while (!result.done) result = steps.next(await result.value);
  return result.value;
}
