import { type LlamaConfig, type LlamaWeights, SentencePieceBpeTokenizer } from "@kvpack/adapters";

/** SmolLM2-135M's shape (its config.json): tied embeddings, 49,152 tokens, RoPE θ 100,000. */
export const smolLm2Config: LlamaConfig = {
  dim: 576,
  hiddenDim: 1536,
  layers: 30,
  heads: 9,
  kvHeads: 3,
  vocabSize: 49_152,
  maxSequenceLength: 32_768,
  headDim: 64,
  ropeTheta: 100_000,
  normEpsilon: 1e-5,
  sharedClassifier: true,
};

/** xorshift32 filling `length` uniform values in [−scale, scale]: deterministic and allocation-free per value. */
function uniform(length: number, scale: number, state: { seed: number }): Float32Array {
  const out = new Float32Array(length);
  let s = state.seed;
  for (let i = 0; i < length; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    out[i] = ((s >>> 0) / 4294967296 - 0.5) * 2 * scale;
  }
  state.seed = s;
  return out;
}

/**
 * Random weights of the given shape. Uniform with standard deviation 0.02 (HF Llama's initializer
 * range), norms at 1, so activations stay finite through 30 layers; the timings do not depend on values.
 */
export function randomLlamaWeights(config: LlamaConfig, seed = 1): LlamaWeights {
  const state = { seed };
  const scale = 0.02 * Math.sqrt(3);
  const { dim, hiddenDim, kvHeads, headDim } = config;
  const kvDim = kvHeads * headDim;
  const ones = (length: number) => new Float32Array(length).fill(1);
  const tokenEmbedding = uniform(config.vocabSize * dim, scale, state);
  const layers = Array.from({ length: config.layers }, () => ({
    attentionNorm: ones(dim),
    wq: uniform(dim * dim, scale, state),
    wk: uniform(kvDim * dim, scale, state),
    wv: uniform(kvDim * dim, scale, state),
    wo: uniform(dim * dim, scale, state),
    ffnNorm: ones(dim),
    w1: uniform(hiddenDim * dim, scale, state),
    w2: uniform(dim * hiddenDim, scale, state),
    w3: uniform(hiddenDim * dim, scale, state),
  }));
  return { config, tokenEmbedding, layers, finalNorm: ones(dim), classifier: tokenEmbedding };
}

/**
 * A SentencePiece vocabulary of `size` pieces: <unk>, <s>, </s>, the 256 byte pieces, then distinct
 * made-up words. Enough for writeLlamaGguf (which wants a tokenizer of the model's size) and for
 * llama.cpp to load the file; the bench feeds token ids directly, so no text is tokenized.
 */
export function syntheticTokenizer(size: number): SentencePieceBpeTokenizer {
  const pieces: string[] = ["<unk>", "\n<s>\n", "\n</s>\n"];
  for (let byte = 0; byte < 256; byte++) pieces.push(`<0x${byte.toString(16).toUpperCase().padStart(2, "0")}>`);
  for (let id = pieces.length; id < size; id++) pieces.push(` w${id.toString(36)}`);
  const scores = new Float32Array(size);
  for (let id = 0; id < size; id++) scores[id] = -id;
  return new SentencePieceBpeTokenizer({ pieces, scores, bosId: 1, eosId: 2 });
}
