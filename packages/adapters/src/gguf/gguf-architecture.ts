import type { LayerAttention, LlamaArchitecture } from "../model/llama-model-description.js";
import type { FeedForwardActivation } from "../model/llama-model-description.js";
import type { RopeStyle } from "../model/rope.js";

/**
 * What tells the Llama-family GGUF architectures apart, as llama.cpp's llama-arch.cpp and
 * llama-model.cpp load and run them (LLM_ARCH_LLAMA, _QWEN2, _QWEN3, _PHI3, _GEMMA2). Metadata keys
 * are `{architecture}.…`; tensor names are llama.cpp's LLM_TENSOR_* names.
 */
export interface GgufArchitecture {
  readonly name: LlamaArchitecture;
  /** LLAMA_ROPE_TYPE_NORM (interleaved pairs, q/k permuted by the converter) or _NEOX. */
  readonly ropeStyle: RopeStyle;
  /** Qwen2: attn_q/k/v.bias are required (llama and the others read them when present). */
  readonly requiresBiases: boolean;
  /** Qwen3: attn_q_norm / attn_k_norm (per-head RMSNorm before RoPE) are required. */
  readonly queryKeyNorms: boolean;
  /** Phi-3: attn_qkv (q, k, v rows stacked) and ffn_up holding gate then up rows (no ffn_gate). */
  readonly fused: boolean;
  /** Gemma 2: post_attention_norm / post_ffw_norm, GELU, √dim embedding scale, soft caps, alternating sliding windows. */
  readonly gemma: boolean;
  /** Gemma 2 always ties the classifier to token_embd (llama.cpp ignores any output.weight). */
  readonly alwaysTied: boolean;
  readonly activation: FeedForwardActivation;
}

export const ggufArchitectures: Readonly<Record<LlamaArchitecture, GgufArchitecture>> = {
  llama: { name: "llama", ropeStyle: "interleaved", requiresBiases: false, queryKeyNorms: false, fused: false, gemma: false, alwaysTied: false, activation: "silu" },
  qwen2: { name: "qwen2", ropeStyle: "neox", requiresBiases: true, queryKeyNorms: false, fused: false, gemma: false, alwaysTied: false, activation: "silu" },
  qwen3: { name: "qwen3", ropeStyle: "neox", requiresBiases: false, queryKeyNorms: true, fused: false, gemma: false, alwaysTied: false, activation: "silu" },
  phi3: { name: "phi3", ropeStyle: "neox", requiresBiases: false, queryKeyNorms: false, fused: true, gemma: false, alwaysTied: false, activation: "silu" },
  gemma2: { name: "gemma2", ropeStyle: "neox", requiresBiases: false, queryKeyNorms: false, fused: false, gemma: true, alwaysTied: true, activation: "gelu-tanh" },
};

/** llama.cpp's defaults for Gemma 2's soft caps when the file has no key (llama_hparams). */
export const gemma2DefaultAttentionSoftCap = 50;
export const gemma2DefaultFinalSoftCap = 30;

/**
 * Gemma 2's layer pattern (llama.cpp `set_swa_pattern(2)`, Hugging Face `is_sliding = not layer_idx % 2`):
 * even layers attend a sliding window, odd layers everything.
 */
export function gemma2LayerAttention(layers: number, window: number): LayerAttention[] {
  return Array.from({ length: layers }, (_, layer) => (layer % 2 === 0 ? { kind: "sliding-window", window } : { kind: "full" }));
}

/**
 * Gemma 2's q·k scale as llama.cpp computes it: 1/√(n_embd/n_head) for the 27B (46 layers), else
 * 1/√head_dim (gemma_pytorch's query_pre_attn_scalar; GGUF has no key for it).
 */
export function gemma2AttentionScale(layers: number, dim: number, heads: number, headDim: number): number {
  return Math.fround(1 / Math.sqrt(layers === 46 ? Math.floor(dim / heads) : headDim));
}
