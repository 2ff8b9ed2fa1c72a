import { describeLlamaModel, SeededRandom, type LlamaArchitecture, type LlamaModelDescription } from "@kvpack/adapters";
import { randomLlamaWeights } from "./random-llama.js";

/**
 * Test-only: a seeded random model of each architecture with its real head layout and switches —
 * GQA 4 / 2; head_dim 16 with hidden 32 for qwen3 and gemma2 (heads·head_dim ≠ hidden); qwen2
 * q/k/v biases; qwen3 q/k norms; gemma2 √hidden embedding scale, query_pre_attn_scalar 16, soft caps
 * 50 / 30, GeGLU, sandwich norms (as factors 1 + w) and a window of 8 on even layers; NeoX rotation
 * for all but llama; tied classifiers for gemma2.
 */
export function randomArchitectureModel(architecture: LlamaArchitecture, seed: number): LlamaModelDescription {
  const gemma = architecture === "gemma2";
  const wide = architecture === "qwen3" || gemma;
  const config = { dim: 32, hiddenDim: 48, layers: 2, heads: 4, kvHeads: 2, vocabSize: 512, maxSequenceLength: 128, headDim: wide ? 16 : 8, ropeTheta: 10000, normEpsilon: 1e-6, sharedClassifier: gemma };
  const base = randomLlamaWeights(config, seed);
  const random = new SeededRandom(seed + 1000);
  const vector = (length: number, scale: number, offset = 0) => Float32Array.from({ length }, () => offset + scale * (2 * random.nextFloat() - 1));
  const q = config.heads * config.headDim;
  const kv = config.kvHeads * config.headDim;
  const weights = {
    ...base,
    layers: base.layers.map((layer) => ({
      ...layer,
      ...(architecture === "qwen2" ? { bq: vector(q, 0.1), bk: vector(kv, 0.1), bv: vector(kv, 0.1) } : {}),
      ...(architecture === "qwen3" ? { queryNorm: vector(config.headDim, 0.1, 1), keyNorm: vector(config.headDim, 0.1, 1) } : {}),
      ...(gemma ? { postAttentionNorm: vector(config.dim, 0.1, 1), postFfnNorm: vector(config.dim, 0.1, 1) } : {}),
    })),
  };
  return describeLlamaModel(weights, {
    architecture,
    rope: { style: architecture === "llama" ? "interleaved" : "neox", freqBase: config.ropeTheta },
    ...(gemma
      ? {
          activation: "gelu-tanh" as const,
          embeddingScale: Math.fround(Math.sqrt(config.dim)),
          attentionScale: 1 / 4,
          attentionLogitSoftCap: 50,
          finalLogitSoftCap: 30,
          layerAttention: [{ kind: "sliding-window" as const, window: 8 }, { kind: "full" as const }],
        }
      : {}),
  });
}
