import { assertFiniteLlamaWeights } from "../llama2c/load-llama2c-checkpoint.js";
import type { LlamaConfig, LlamaLayerWeights, LlamaWeights } from "../model/llama-weights.js";
import { ModelFormatError } from "../model/model-format-error.js";
import { SentencePieceBpeTokenizer } from "../tokenizers/sentencepiece-bpe-tokenizer.js";
import { GgufFile } from "./gguf-file.js";
import { type GgufTokenizer, ggufTokenizer } from "./gguf-tokenizer.js";
import { type LlamaMatrixBlocks, llamaMatrixBlocks } from "./llama-matrix-blocks.js";

export interface GgufLlamaModel {
  readonly weights: LlamaWeights;
  /** The embedded tokenizer (ggufTokenizer: "llama" SentencePiece or "gpt2" byte-level BPE); undefined when the file has none. */
  readonly tokenizer: GgufTokenizer | undefined;
  readonly file: GgufFile;
  /** The weight matrices as the file's blocks (views), for backends that multiply them in place. */
  readonly matrixBlocks: LlamaMatrixBlocks;
}

export interface LoadGgufLlamaOptions {
  /**
   * Dequantize each weight matrix (and the embedding) to fp32 only when it is first read, then keep it
   * (default false: all at load). With ResidentLlamaWeights' `blocks` the matrices are never read, so
   * resident memory stays near the file's bytes; finiteness is checked per matrix when dequantized.
   */
  readonly lazyMatrices?: boolean;
}

/** Defines `key` on `target` as a getter that computes once, checks finiteness and caches. */
function lazyProperty(target: object, key: string, what: string, compute: () => Float32Array): void {
  let value: Float32Array | undefined;
  Object.defineProperty(target, key, {
    enumerable: true,
    get: () => {
      if (!value) {
        value = compute();
        for (let i = 0; i < value.length; i++) {
          if (!Number.isFinite(value[i])) throw new ModelFormatError("gguf", "non-finite", `gguf: ${what} holds a non-finite value (${value[i]}) at element ${i}`);
        }
      }
      return value;
    },
  });
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
export function loadGgufLlama(bytes: ArrayBuffer | Uint8Array | GgufFile, options: LoadGgufLlamaOptions = {}): GgufLlamaModel {
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
  const lazy = options.lazyMatrices === true;
  // Each matrix: read now, or (lazy) a getter that dequantizes on first use.
  const matrix = (target: Record<string, unknown>, key: string, name: string, dims: readonly number[], what: string): void => {
    if (lazy) lazyProperty(target, key, what, () => file.float32(name, dims));
    else target[key] = file.float32(name, dims);
  };
  const holder: Record<string, unknown> = {};
  matrix(holder, "tokenEmbedding", "token_embd.weight", [dim, vocabSize], "token embedding");
  const layers: LlamaLayerWeights[] = [];
  for (let layer = 0; layer < config.layers; layer++) {
    const prefix = `blk.${layer}.`;
    const weights: Record<string, unknown> = {
      attentionNorm: file.float32(`${prefix}attn_norm.weight`, [dim]),
      ffnNorm: file.float32(`${prefix}ffn_norm.weight`, [dim]),
    };
    matrix(weights, "wq", `${prefix}attn_q.weight`, [dim, dim], `layer ${layer} wq`);
    matrix(weights, "wk", `${prefix}attn_k.weight`, [dim, kvDim], `layer ${layer} wk`);
    matrix(weights, "wv", `${prefix}attn_v.weight`, [dim, kvDim], `layer ${layer} wv`);
    matrix(weights, "wo", `${prefix}attn_output.weight`, [dim, dim], `layer ${layer} wo`);
    matrix(weights, "w1", `${prefix}ffn_gate.weight`, [dim, hiddenDim], `layer ${layer} w1`);
    matrix(weights, "w2", `${prefix}ffn_down.weight`, [hiddenDim, dim], `layer ${layer} w2`);
    matrix(weights, "w3", `${prefix}ffn_up.weight`, [dim, hiddenDim], `layer ${layer} w3`);
    layers.push(weights as unknown as LlamaLayerWeights);
  }
  const finalNorm = file.float32("output_norm.weight", [dim]);
  if (sharedClassifier) Object.defineProperty(holder, "classifier", { enumerable: true, get: () => holder.tokenEmbedding });
  else matrix(holder, "classifier", "output.weight", [dim, vocabSize], "classifier");
  const weights = Object.defineProperties({ config, layers, finalNorm }, Object.getOwnPropertyDescriptors(holder)) as unknown as LlamaWeights;
  if (!lazy) assertFiniteLlamaWeights(weights, "gguf");
  else assertFiniteLlamaWeights({ config, tokenEmbedding: new Float32Array(0), layers: layers.map((layer) => ({ attentionNorm: layer.attentionNorm, ffnNorm: layer.ffnNorm }) as unknown as LlamaLayerWeights), finalNorm, classifier: new Float32Array(0) }, "gguf");
  return { weights, tokenizer: ggufTokenizer(file), file, matrixBlocks: llamaMatrixBlocks(file, config) };
}
