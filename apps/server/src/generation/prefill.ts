import type { CompressedKVCache } from "@kvpack/cache";
import type { ServedModel } from "../model/load-served-model.js";

/**
 * Prefill yields to the event loop every this many tokens so other requests keep streaming; a
 * runtime with a batched prefill runs each slice as one batch.
 */
const prefillSliceTokens = 32;
const batchedSliceTokens = 64;

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
  if (model.prefill) {
    for (let position = from; position < promptTokens.length; position += batchedSliceTokens) {
      // Checked before each batch: a request that was cancelled while it waited for its turn costs nothing.
      if (signal.aborted) return undefined;
      const slice = promptTokens.slice(position, position + batchedSliceTokens);
      logits = await model.prefill(slice, position, cache, signal);
      if (logits === undefined) return undefined;
      fedTokens.push(...slice);
      await yieldToEventLoop();
    }
    return signal.aborted ? undefined : logits;
  }
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
