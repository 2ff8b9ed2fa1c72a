import type { LlamaConfig, LlamaLayerWeights, LlamaWeights } from "./llama-weights.js";
import { ModelArgumentError } from "./model-format-error.js";
import { defaultRope, type RopeDescription } from "./rope.js";

/** How one layer attends: over the whole cache, or only its last `window` tokens (Gemma 2, Mistral). */
export type LayerAttention = { readonly kind: "full" } | { readonly kind: "sliding-window"; readonly window: number };

/**
 * The Llama-family architectures the one forward loop runs (GGUF `general.architecture`, Hugging
 * Face `model_type`): they differ only in the optional weights (biases, q/k norms, sandwich norms)
 * and the switches of the description below.
 */
export type LlamaArchitecture = "llama" | "qwen2" | "qwen3" | "phi3" | "gemma2";

export const llamaArchitectures: readonly LlamaArchitecture[] = ["llama", "qwen2", "qwen3", "phi3", "gemma2"];

/** The gated feed-forward's activation: silu(gate)·up (SwiGLU) or gelu_tanh(gate)·up (GeGLU, Gemma 2). */
export type FeedForwardActivation = "silu" | "gelu-tanh";

/**
 * One description of a Llama-family model that the runtimes read: configuration, weights, the
 * rotation, each layer's attention kind, and the few switches that tell the architectures apart.
 * Loaders (GGUF metadata, Hugging Face config.json) fill it in; `describeLlamaModel(weights)` gives
 * llama2.c's defaults. Optional per-layer weights (q/k/v biases, q/k norms, post norms) live in
 * `weights.layers[i]`: the forward loop applies whichever are present.
 */
export interface LlamaModelDescription {
  readonly architecture: LlamaArchitecture;
  readonly config: LlamaConfig;
  readonly weights: LlamaWeights;
  readonly rope: RopeDescription;
  /** One entry per layer. */
  readonly layerAttention: readonly LayerAttention[];
  readonly activation: FeedForwardActivation;
  /** Multiplies the token embedding before the first layer: √dim for Gemma 2 (rounded to float32), else 1. */
  readonly embeddingScale: number;
  /** Softmax scale of q·k: 1/√headDim, or Gemma 2's query_pre_attn_scalar^(−1/2). */
  readonly attentionScale: number;
  /** cap·tanh(score / cap) on the scaled attention scores before the softmax (Gemma 2: 50); undefined = none. */
  readonly attentionLogitSoftCap?: number;
  /** cap·tanh(logit / cap) on the final logits (Gemma 2: 30); undefined = none. */
  readonly finalLogitSoftCap?: number;
}

/** Everything but the weights is optional: llama2.c's defaults fill in the rest. */
export interface DescribeLlamaModelOptions {
  readonly architecture?: LlamaArchitecture;
  readonly rope?: RopeDescription;
  readonly layerAttention?: readonly LayerAttention[];
  readonly activation?: FeedForwardActivation;
  readonly embeddingScale?: number;
  readonly attentionScale?: number;
  readonly attentionLogitSoftCap?: number;
  readonly finalLogitSoftCap?: number;
}

const optionalLayerVectors = ["bq", "bk", "bv", "queryNorm", "keyNorm", "postAttentionNorm", "postFfnNorm"] as const;

/** The length each optional per-layer vector must have. */
function optionalVectorLength(config: LlamaConfig, name: (typeof optionalLayerVectors)[number]): number {
  switch (name) {
    case "bq":
      return config.heads * config.headDim;
    case "bk":
    case "bv":
      return config.kvHeads * config.headDim;
    case "queryNorm":
    case "keyNorm":
      return config.headDim;
    default:
      return config.dim;
  }
}

function positiveFinite(value: number, what: string): number {
  if (!(value > 0) || !Number.isFinite(value)) throw new ModelArgumentError(`model description: ${what} must be a positive finite number, got ${value}`);
  return value;
}

export function describeLlamaModel(weights: LlamaWeights, options: DescribeLlamaModelOptions = {}): LlamaModelDescription {
  const { config } = weights;
  const architecture = options.architecture ?? "llama";
  if (!llamaArchitectures.includes(architecture)) {
    throw new ModelArgumentError(`model description: architecture must be one of ${llamaArchitectures.join(", ")}, got ${JSON.stringify(architecture)}`);
  }
  const layerAttention = options.layerAttention ?? Array.from({ length: config.layers }, () => ({ kind: "full" as const }));
  if (layerAttention.length !== config.layers) {
    throw new ModelArgumentError(`model description: ${layerAttention.length} layer attention kinds for ${config.layers} layers`);
  }
  for (const [layer, attention] of layerAttention.entries()) {
    if (attention.kind === "sliding-window" && !(Number.isInteger(attention.window) && attention.window > 0)) {
      throw new ModelArgumentError(`model description: layer ${layer} sliding window must be a positive integer, got ${attention.window}`);
    }
  }
  for (const [layer, layerWeights] of weights.layers.entries()) {
    for (const name of optionalLayerVectors) {
      const vector = (layerWeights as LlamaLayerWeights)[name];
      const expected = optionalVectorLength(config, name);
      if (vector !== undefined && vector.length !== expected) {
        throw new ModelArgumentError(`model description: layer ${layer} ${name} has ${vector.length} values, expected ${expected}`);
      }
    }
    if ((layerWeights.queryNorm === undefined) !== (layerWeights.keyNorm === undefined)) {
      throw new ModelArgumentError(`model description: layer ${layer} has only one of queryNorm and keyNorm`);
    }
  }
  if (weights.classifierBias !== undefined && weights.classifierBias.length !== config.vocabSize) {
    throw new ModelArgumentError(`model description: classifierBias has ${weights.classifierBias.length} values, expected vocabSize ${config.vocabSize}`);
  }
  const activation = options.activation ?? "silu";
  if (activation !== "silu" && activation !== "gelu-tanh") throw new ModelArgumentError(`model description: activation must be "silu" or "gelu-tanh", got ${JSON.stringify(activation)}`);
  const description: LlamaModelDescription = {
    architecture,
    config,
    weights,
    rope: options.rope ?? defaultRope(config),
    layerAttention,
    activation,
    embeddingScale: positiveFinite(options.embeddingScale ?? 1, "embeddingScale"),
    attentionScale: positiveFinite(options.attentionScale ?? 1 / Math.sqrt(config.headDim), "attentionScale"),
  };
  const caps: { attentionLogitSoftCap?: number; finalLogitSoftCap?: number } = {};
  if (options.attentionLogitSoftCap !== undefined) caps.attentionLogitSoftCap = positiveFinite(options.attentionLogitSoftCap, "attentionLogitSoftCap");
  if (options.finalLogitSoftCap !== undefined) caps.finalLogitSoftCap = positiveFinite(options.finalLogitSoftCap, "finalLogitSoftCap");
  return { ...description, ...caps };
}

/** A description or bare weights (llama2.c defaults), as the runtimes accept them. */
export function toModelDescription(model: LlamaWeights | LlamaModelDescription): LlamaModelDescription {
  return "weights" in model ? model : describeLlamaModel(model);
}
