import type { LlamaConfig, LlamaWeights } from "./llama-weights.js";
import { ModelArgumentError } from "./model-format-error.js";
import { defaultRope, type RopeDescription } from "./rope.js";

/** How one layer attends: over the whole cache, or only its last `window` tokens (Gemma 2, Mistral). */
export type LayerAttention = { readonly kind: "full" } | { readonly kind: "sliding-window"; readonly window: number };

/**
 * One description of a Llama-family model that the runtimes read: configuration, weights, the
 * rotation, and each layer's attention kind. Loaders that know more than llama2.c (GGUF
 * `rope.freq_base`, `rope.scaling.type = llama3`, NeoX architectures, sliding-window layers) fill
 * it in; `describeLlamaModel(weights)` gives llama2.c's defaults.
 */
export interface LlamaModelDescription {
  readonly config: LlamaConfig;
  readonly weights: LlamaWeights;
  readonly rope: RopeDescription;
  /** One entry per layer. */
  readonly layerAttention: readonly LayerAttention[];
}

export function describeLlamaModel(
  weights: LlamaWeights,
  options: { readonly rope?: RopeDescription; readonly layerAttention?: readonly LayerAttention[] } = {},
): LlamaModelDescription {
  const { config } = weights;
  const layerAttention = options.layerAttention ?? Array.from({ length: config.layers }, () => ({ kind: "full" as const }));
  if (layerAttention.length !== config.layers) {
    throw new ModelArgumentError(`model description: ${layerAttention.length} layer attention kinds for ${config.layers} layers`);
  }
  for (const [layer, attention] of layerAttention.entries()) {
    if (attention.kind === "sliding-window" && !(Number.isInteger(attention.window) && attention.window > 0)) {
      throw new ModelArgumentError(`model description: layer ${layer} sliding window must be a positive integer, got ${attention.window}`);
    }
  }
  return { config, weights, rope: options.rope ?? defaultRope(config), layerAttention };
}

/** A description or bare weights (llama2.c defaults), as the runtimes accept them. */
export function toModelDescription(model: LlamaWeights | LlamaModelDescription): LlamaModelDescription {
  return "weights" in model ? model : describeLlamaModel(model);
}

/**
 * Throws unless every layer attends over the whole cache: the runtimes do not yet keep a per-layer
 * window (the cache has no per-layer window; issue #14 item 2).
 */
export function requireFullAttention(description: LlamaModelDescription, runtime: string): void {
  const layer = description.layerAttention.findIndex((attention) => attention.kind !== "full");
  if (layer >= 0) throw new ModelArgumentError(`${runtime}: layer ${layer} uses sliding-window attention, which this runtime does not support yet`);
}
