import type { CompressedKVCache } from "@kvpack/cache";
import type { ServedModel } from "../model/load-served-model.js";

/** Prefill yields to the event loop every this many tokens so other requests keep streaming. */
const prefillSliceTokens = 32;

export const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * Runs the prompt tokens from `from` on through the model into `cache`, pushing each one to
 * `fedTokens` once its KV is in. Returns the last token's logits, or undefined when the client
 * went away meanwhile (or there was nothing to compute).
 */
export async function prefill(
  model: ServedModel,
  cache: CompressedKVCache,
  promptTokens: readonly number[],
  from: number,
  fedTokens: number[],
  signal: AbortSignal,
): Promise<Float32Array | undefined> {
  let logits: Float32Array | undefined;
  for (let position = from; position < promptTokens.length; position++) {
    logits = await model.forward(promptTokens[position], position, cache);
    fedTokens.push(promptTokens[position]);
    if ((position - from + 1) % prefillSliceTokens === 0) {
      await yieldToEventLoop();
      if (signal.aborted) return undefined;
    }
  }
  return logits;
}
