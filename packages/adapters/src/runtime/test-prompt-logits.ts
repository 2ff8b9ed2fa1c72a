import type { LlamaWeights } from "../model/llama-weights.js";
import { createDenseCache } from "./create-dense-cache.js";
import { LlamaRuntime } from "./llama-runtime.js";

// Test-only helpers (not exported from the package) for comparing loaded weights against a reference JSON.

/** The logits after feeding `tokenIds` one by one through a fresh LlamaRuntime over a dense cache (a copy). */
export function promptLogits(weights: LlamaWeights, tokenIds: readonly number[]): Float32Array {
  const runtime = new LlamaRuntime(weights);
  const cache = createDenseCache(runtime);
  let logits: Float32Array = new Float32Array(0);
  tokenIds.forEach((token, position) => (logits = runtime.forward(token, position, cache)));
  return logits.slice();
}

export function maxAbsoluteDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  return worst;
}
