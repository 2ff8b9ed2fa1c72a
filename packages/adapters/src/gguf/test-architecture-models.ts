// Test-only helper (not exported from the package): random-weight models of each Llama-family
// architecture with its real head layout at small widths that are whole K-quant blocks (256), for
// the llama.cpp oracle (llama-cpp-conformance.test.ts) and the runtime tests.
import { describeLlamaModel, type LlamaArchitecture, type LlamaModelDescription } from "../model/llama-model-description.js";
import type { LlamaConfig, LlamaLayerWeights, LlamaWeights } from "../model/llama-weights.js";
import { gemma2AttentionScale, gemma2LayerAttention } from "./gguf-architecture.js";

/** Deterministic N(mean, σ²) values (xorshift32 + Box–Muller). */
export function gaussianArray(count: number, sigma: number, state: { value: number }, mean = 0): Float32Array {
  const next = (): number => {
    let s = state.value;
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    state.value = s >>> 0;
    return (state.value + 0.5) / 4294967296;
  };
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) out[i] = mean + sigma * Math.sqrt(-2 * Math.log(next())) * Math.cos(2 * Math.PI * next());
  return out;
}

/** The next token of the chain the random models are built to predict: (j·7 + 3) mod vocab. */
export function chainNext(token: number, vocabSize: number): number {
  return (token * 7 + 3) % vocabSize;
}

/**
 * The head layouts, each a scaled-down real model: Llama 3.2 (GQA 2:1, θ = 500000, llama3 RoPE
 * scaling factor 32 over 8192), Qwen2.5 (GQA 4:1, q/k/v biases, θ = 10⁶), Qwen3 (heads·headDim =
 * 2·dim, q/k norms), Phi-3 mini (no GQA, fused qkv and gate/up), Gemma 2 (head 256, heads·headDim =
 * 2·dim, GQA 2:1, tied embedding, sandwich norms, layer 0 a sliding window). dim 256 and hidden 512
 * everywhere: whole 256-blocks for the K-quants and IQ4_XS.
 */
const layouts: Record<LlamaArchitecture, { heads: number; kvHeads: number; headDim: number; ropeTheta: number }> = {
  llama: { heads: 4, kvHeads: 2, headDim: 64, ropeTheta: 500000 },
  qwen2: { heads: 4, kvHeads: 1, headDim: 64, ropeTheta: 1000000 },
  qwen3: { heads: 4, kvHeads: 2, headDim: 128, ropeTheta: 1000000 },
  phi3: { heads: 4, kvHeads: 4, headDim: 64, ropeTheta: 10000 },
  gemma2: { heads: 2, kvHeads: 1, headDim: 256, ropeTheta: 10000 },
};

/** Gemma 2 test switches: caps small enough to bite on these O(1) scores and O(10) logits (the real ones are 50 and 30), a window of 16 of the test's 68 positions. */
export const gemma2TestWindow = 16;
export const gemma2TestAttentionSoftCap = 2;
export const gemma2TestFinalSoftCap = 15;

/**
 * A random-weight model of `architecture`: 2 layers, dim 256, hidden 512, vocab `vocabSize` (512
 * for Gemma 2, whose lookup FFN needs one hidden unit per token). Matrices are N(0, 1/fan_in) so
 * activations stay O(1); norms and q/k norms are N(1, 0.1²), biases N(0, 0.3²).
 *
 * The greedy choice needs a margin well above the engines' rounding differences (random logits
 * alone have near-ties that any rounding flips), so every model predicts the chain
 * `chainNext`: untied models add 0.5 × the embedding of chainNext(j) to classifier row j (the
 * residual stream carries the current token's embedding t, so the j with chainNext(j) = t stands
 * out: the chain walked backwards); Gemma 2, whose classifier is the
 * embedding, gets a lookup FFN in its last layer — hidden unit k fires on token k's embedding and
 * writes chainNext(k)'s — and a post-FFN norm of 3, so chainNext(t)'s logit stands ~8σ out
 * (the chain walked forwards).
 */
export function randomArchitectureModel(architecture: LlamaArchitecture, vocabSize: number, seed = 1): LlamaModelDescription {
  const layout = layouts[architecture];
  const gemma = architecture === "gemma2";
  const config: LlamaConfig = {
    dim: 256,
    hiddenDim: 512,
    layers: 2,
    ...layout,
    vocabSize,
    maxSequenceLength: 256,
    normEpsilon: 1e-6,
    sharedClassifier: gemma,
  };
  if (gemma && vocabSize !== config.hiddenDim) throw new Error(`randomArchitectureModel: gemma2's lookup FFN needs vocabSize ${config.hiddenDim}`);
  const state = { value: seed >>> 0 || 1 };
  const { dim, hiddenDim, headDim } = config;
  const queryDim = config.heads * headDim;
  const kvDim = config.kvHeads * headDim;
  const norm = (n: number) => gaussianArray(n, 0.1, state, 1);
  const matrix = (rows: number, columns: number) => gaussianArray(rows * columns, 1 / Math.sqrt(columns), state);
  // Gemma scales the embedding by √dim: N(0, 1/dim) keeps the scaled rows at RMS 1.
  const tokenEmbedding = gaussianArray(vocabSize * dim, gemma ? 1 / Math.sqrt(dim) : 1, state);
  const layers: LlamaLayerWeights[] = Array.from({ length: config.layers }, (_, layer) => {
    const weights: Record<string, Float32Array> = {
      attentionNorm: norm(dim),
      wq: matrix(queryDim, dim),
      wk: matrix(kvDim, dim),
      wv: matrix(kvDim, dim),
      wo: matrix(dim, queryDim),
      ffnNorm: norm(dim),
      w1: matrix(hiddenDim, dim),
      w2: matrix(dim, hiddenDim),
      w3: matrix(hiddenDim, dim),
    };
    if (architecture === "qwen2") {
      weights.bq = gaussianArray(queryDim, 0.3, state);
      weights.bk = gaussianArray(kvDim, 0.3, state);
      weights.bv = gaussianArray(kvDim, 0.3, state);
    }
    if (architecture === "qwen3") {
      weights.queryNorm = norm(headDim);
      weights.keyNorm = norm(headDim);
    }
    if (gemma) {
      weights.postAttentionNorm = norm(dim);
      weights.postFfnNorm = norm(dim);
      if (layer === config.layers - 1) {
        // The lookup FFN: gate and up rows k = token k's embedding direction (unit norm), down column k = chainNext(k)'s.
        for (let k = 0; k < vocabSize; k++) {
          const row = tokenEmbedding.subarray(k * dim, (k + 1) * dim);
          const length = Math.hypot(...row);
          for (let i = 0; i < dim; i++) weights.w1[k * dim + i] = weights.w3[k * dim + i] = row[i] / length;
          const next = tokenEmbedding.subarray(chainNext(k, vocabSize) * dim, (chainNext(k, vocabSize) + 1) * dim);
          for (let i = 0; i < dim; i++) weights.w2[i * hiddenDim + k] = next[i];
        }
        weights.postFfnNorm.fill(3);
      }
    }
    return weights as unknown as LlamaLayerWeights;
  });
  let classifier = tokenEmbedding;
  if (!gemma) {
    classifier = gaussianArray(vocabSize * dim, 0.5, state);
    for (let j = 0; j < vocabSize; j++) {
      const source = chainNext(j, vocabSize) * dim;
      for (let i = 0; i < dim; i++) classifier[j * dim + i] += 0.5 * tokenEmbedding[source + i];
    }
  }
  const weights: LlamaWeights = { config, tokenEmbedding, layers, finalNorm: norm(dim), classifier };
  const rope = { style: architecture === "llama" ? ("interleaved" as const) : ("neox" as const), freqBase: config.ropeTheta };
  if (architecture === "llama") {
    return describeLlamaModel(weights, { architecture, rope: { ...rope, scaling: { kind: "llama3", factor: 32, lowFrequencyFactor: 1, highFrequencyFactor: 4, originalContextLength: 8192 } } });
  }
  if (!gemma) return describeLlamaModel(weights, { architecture, rope });
  return describeLlamaModel(weights, {
    architecture,
    rope,
    activation: "gelu-tanh",
    layerAttention: gemma2LayerAttention(config.layers, gemma2TestWindow),
    embeddingScale: Math.fround(Math.sqrt(dim)),
    attentionScale: gemma2AttentionScale(config.layers, dim, config.heads, headDim),
    attentionLogitSoftCap: gemma2TestAttentionSoftCap,
    finalLogitSoftCap: gemma2TestFinalSoftCap,
  });
}
