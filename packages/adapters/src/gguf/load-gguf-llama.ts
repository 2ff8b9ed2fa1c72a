import { assertFiniteLlamaWeights } from "../llama2c/load-llama2c-checkpoint.js";
import type { LlamaConfig, LlamaLayerWeights, LlamaWeights } from "../model/llama-weights.js";
import { ModelFormatError } from "../model/model-format-error.js";
import { SentencePieceBpeTokenizer } from "../tokenizers/sentencepiece-bpe-tokenizer.js";
import { GgufFile } from "./gguf-file.js";

export interface GgufLlamaModel {
  readonly weights: LlamaWeights;
  /** The embedded SentencePiece tokenizer (tokenizer.ggml.model "llama"); undefined when the file has another kind or none. */
  readonly tokenizer: SentencePieceBpeTokenizer | undefined;
  readonly file: GgufFile;
}

function metadataNumber(file: GgufFile, key: string, fallback?: number): number {
  const value = file.metadata.get(key) ?? fallback;
  if (typeof value !== "number" || !Number.isFinite(value)) {
    throw new ModelFormatError("gguf", "bad-metadata", `GGUF metadata ${key} must be a number, got ${value === undefined ? "nothing" : JSON.stringify(String(value))}`);
  }
  return value;
}

/** The embedded tokenizer of a llama-family GGUF: pieces use "▁" for spaces, which becomes " " (the llama2.c form). */
export function ggufSentencePieceTokenizer(file: GgufFile): SentencePieceBpeTokenizer | undefined {
  if (file.metadata.get("tokenizer.ggml.model") !== "llama") return undefined;
  const tokens = file.metadata.get("tokenizer.ggml.tokens");
  if (!Array.isArray(tokens) || tokens.some((token) => typeof token !== "string")) {
    throw new ModelFormatError("gguf", "bad-metadata", "GGUF tokenizer.ggml.tokens must be an array of strings");
  }
  const scoreValues = file.metadata.get("tokenizer.ggml.scores");
  const scores = new Float32Array(tokens.length);
  if (scoreValues !== undefined) {
    if (!Array.isArray(scoreValues) || scoreValues.length !== tokens.length) {
      throw new ModelFormatError("gguf", "bad-metadata", `GGUF tokenizer.ggml.scores must hold one number per token (${tokens.length})`);
    }
    scoreValues.forEach((score, i) => (scores[i] = Number(score)));
  }
  return new SentencePieceBpeTokenizer({
    pieces: (tokens as string[]).map((piece) => piece.replaceAll("\u2581", " ")),
    scores,
    bosId: metadataNumber(file, "tokenizer.ggml.bos_token_id", 1),
    eosId: metadataNumber(file, "tokenizer.ggml.eos_token_id", 2),
  });
}

/**
 * Loads a Llama-architecture GGUF (v2/v3): metadata → LlamaConfig, F32/F16/BF16/Q8_0/Q4_0/Q4_1
 * tensors dequantized to fp32, and the embedded tokenizer. GGUF stores q/k in the interleaved RoPE
 * order llama2.c uses, so no permutation is needed.
 */
export function loadGgufLlama(bytes: ArrayBuffer | Uint8Array | GgufFile): GgufLlamaModel {
  const file = bytes instanceof GgufFile ? bytes : new GgufFile(bytes);
  const architecture = file.metadata.get("general.architecture");
  if (architecture !== "llama") {
    throw new ModelFormatError("gguf", "unsupported", `GGUF general.architecture is ${JSON.stringify(architecture)}; only "llama" is supported`);
  }
  const key = (name: string): string => `llama.${name}`;
  const dim = metadataNumber(file, key("embedding_length"));
  const heads = metadataNumber(file, key("attention.head_count"));
  const kvHeads = metadataNumber(file, key("attention.head_count_kv"), heads);
  const headDim = dim / heads;
  const rotaryDims = metadataNumber(file, key("rope.dimension_count"), headDim);
  if (!Number.isInteger(headDim) || headDim % 2 !== 0 || heads % kvHeads !== 0) {
    throw new ModelFormatError("gguf", "bad-metadata", `GGUF: embedding_length ${dim} must split into ${heads} heads of even size, and head_count must be a multiple of head_count_kv ${kvHeads}`);
  }
  if (rotaryDims !== headDim) throw new ModelFormatError("gguf", "unsupported", `GGUF: partial RoPE (rope.dimension_count ${rotaryDims} < head size ${headDim}) is not supported`);
  const embeddingInfo = file.tensors.get("token_embd.weight");
  if (!embeddingInfo) throw new ModelFormatError("gguf", "missing-tensor", "GGUF file has no tensor token_embd.weight");
  const vocabSize = embeddingInfo.dims[1];
  const sharedClassifier = !file.has("output.weight");
  const config: LlamaConfig = {
    dim,
    hiddenDim: metadataNumber(file, key("feed_forward_length")),
    layers: metadataNumber(file, key("block_count")),
    heads,
    kvHeads,
    vocabSize,
    maxSequenceLength: metadataNumber(file, key("context_length")),
    headDim,
    ropeTheta: metadataNumber(file, key("rope.freq_base"), 10000),
    normEpsilon: metadataNumber(file, key("attention.layer_norm_rms_epsilon"), 1e-5),
    sharedClassifier,
  };
  const { hiddenDim } = config;
  const kvDim = kvHeads * headDim;
  const tokenEmbedding = file.float32("token_embd.weight", [dim, vocabSize]);
  const layers: LlamaLayerWeights[] = [];
  for (let layer = 0; layer < config.layers; layer++) {
    const prefix = `blk.${layer}.`;
    layers.push({
      attentionNorm: file.float32(`${prefix}attn_norm.weight`, [dim]),
      wq: file.float32(`${prefix}attn_q.weight`, [dim, dim]),
      wk: file.float32(`${prefix}attn_k.weight`, [dim, kvDim]),
      wv: file.float32(`${prefix}attn_v.weight`, [dim, kvDim]),
      wo: file.float32(`${prefix}attn_output.weight`, [dim, dim]),
      ffnNorm: file.float32(`${prefix}ffn_norm.weight`, [dim]),
      w1: file.float32(`${prefix}ffn_gate.weight`, [dim, hiddenDim]),
      w2: file.float32(`${prefix}ffn_down.weight`, [hiddenDim, dim]),
      w3: file.float32(`${prefix}ffn_up.weight`, [dim, hiddenDim]),
    });
  }
  const finalNorm = file.float32("output_norm.weight", [dim]);
  const classifier = sharedClassifier ? tokenEmbedding : file.float32("output.weight", [dim, vocabSize]);
  const weights: LlamaWeights = { config, tokenEmbedding, layers, finalNorm, classifier };
  assertFiniteLlamaWeights(weights, "gguf");
  return { weights, tokenizer: ggufSentencePieceTokenizer(file), file };
}
