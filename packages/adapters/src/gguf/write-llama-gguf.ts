import type { LlamaWeights } from "../model/llama-weights.js";
import { ModelArgumentError } from "../model/model-format-error.js";
import type { SentencePieceBpeTokenizer } from "../tokenizers/sentencepiece-bpe-tokenizer.js";
import type { GgmlTypeName } from "./gguf-types.js";
import { type GgufWriterTensor, type GgufWriterValue, writeGguf } from "./gguf-writer.js";

/** The matrix encodings `writeLlamaGguf` can produce; norms always stay F32. */
export type LlamaGgufTensorType = Exclude<GgmlTypeName, "Q8_K">;

export interface WriteLlamaGgufOptions {
  /** Written as `general.name`; left out when not given (loaders then name the model after its file). */
  readonly name?: string;
  /** Encoding of every weight matrix (embedding and classifier included). Default "F32". */
  readonly tensorType?: LlamaGgufTensorType;
}

// Q8_K is left out: llama.cpp has no matrix product with Q8_K weights (it is only the activation side of the K-quant dot products).
const tensorTypes: readonly LlamaGgufTensorType[] = ["F32", "F16", "BF16", "Q8_0", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K", "IQ4_NL", "IQ4_XS"];

/**
 * Converts Llama weights (llama2.c layout) and their SentencePiece tokenizer into the bytes of a
 * llama.cpp-style GGUF v3 file: `llama.*` metadata, `tokenizer.ggml.*` with "▁" for spaces and
 * `<unk>`/`<s>`/`</s>` special pieces, and `blk.N.*` tensors. Matrices are encoded as `tensorType`;
 * norms stay F32, as llama.cpp keeps them. q/k rows keep llama2.c's interleaved RoPE order, which is
 * what GGUF stores, so `loadGgufLlama` / `loadGgufLlamaModel` read the result back unchanged (up to
 * the chosen encoding's rounding). Quantized types encode each matrix in blocks of 32 values (Q4_0 … Q8_0,
 * IQ4_NL) or 256 (the K-quants, IQ4_XS) with llama.cpp's reference quantizers; writeGguf throws a
 * RangeError when a matrix's size is not a whole number of blocks. llama.cpp itself also needs each row
 * length (dim, hiddenDim) to be a multiple of the block size, which kvpack's loader does not.
 */
export function writeLlamaGguf(weights: LlamaWeights, tokenizer: SentencePieceBpeTokenizer, options: WriteLlamaGgufOptions = {}): Uint8Array {
  const config = weights.config;
  const tensorType = options.tensorType ?? "F32";
  if (!tensorTypes.includes(tensorType)) {
    throw new ModelArgumentError(`writeLlamaGguf: tensorType must be one of ${tensorTypes.join(", ")}, got ${JSON.stringify(tensorType)}`);
  }
  if (tokenizer.vocabSize !== config.vocabSize) {
    throw new ModelArgumentError(`writeLlamaGguf: the tokenizer has ${tokenizer.vocabSize} tokens but the model's vocabSize is ${config.vocabSize}`);
  }
  const matrix = (name: string, data: Float32Array, rows: number, columns: number): GgufWriterTensor => ({ name, dims: [columns, rows], type: tensorType, data });
  const vector = (name: string, data: Float32Array): GgufWriterTensor => ({ name, dims: [data.length], type: "F32", data });
  const kvDim = config.kvHeads * config.headDim;
  const tensors: GgufWriterTensor[] = [matrix("token_embd.weight", weights.tokenEmbedding, config.vocabSize, config.dim)];
  weights.layers.forEach((layer, i) => {
    tensors.push(
      vector(`blk.${i}.attn_norm.weight`, layer.attentionNorm),
      matrix(`blk.${i}.attn_q.weight`, layer.wq, config.dim, config.dim),
      matrix(`blk.${i}.attn_k.weight`, layer.wk, kvDim, config.dim),
      matrix(`blk.${i}.attn_v.weight`, layer.wv, kvDim, config.dim),
      matrix(`blk.${i}.attn_output.weight`, layer.wo, config.dim, config.dim),
      vector(`blk.${i}.ffn_norm.weight`, layer.ffnNorm),
      matrix(`blk.${i}.ffn_gate.weight`, layer.w1, config.hiddenDim, config.dim),
      matrix(`blk.${i}.ffn_down.weight`, layer.w2, config.dim, config.hiddenDim),
      matrix(`blk.${i}.ffn_up.weight`, layer.w3, config.hiddenDim, config.dim),
    );
  });
  tensors.push(vector("output_norm.weight", weights.finalNorm));
  // llama.cpp ties the classifier to the embedding when output.weight is absent.
  if (!config.sharedClassifier) tensors.push(matrix("output.weight", weights.classifier, config.vocabSize, config.dim));

  // llama2.c tokenizers store the special pieces as "<unk>", "\n<s>\n", "\n</s>\n"; GGUF uses the bare SentencePiece names.
  const special = new Map<number, string>([
    [0, "<unk>"],
    [tokenizer.bosId, "<s>"],
    [tokenizer.eosId, "</s>"],
  ]);
  const pieces = Array.from({ length: config.vocabSize }, (_, id) => special.get(id) ?? tokenizer.piece(id).replaceAll(" ", "\u2581"));
  const scores = Array.from({ length: config.vocabSize }, (_, id) => tokenizer.score(id));
  // Token types as convert_hf_to_gguf.py writes them (unknown 2, control 3, byte 6, normal 1): llama.cpp
  // takes a BOS id only for a file that types its tokens, and never merges byte pieces as text.
  const tokenTypes = pieces.map((piece, id) => (id === 0 ? 2 : special.has(id) ? 3 : /^<0x[0-9A-F]{2}>$/.test(piece) ? 6 : 1));

  const metadata: Record<string, GgufWriterValue> = { "general.architecture": { type: "string", value: "llama" } };
  if (options.name !== undefined) metadata["general.name"] = { type: "string", value: options.name };
  Object.assign(metadata, {
    "llama.context_length": { type: "uint32", value: config.maxSequenceLength },
    "llama.embedding_length": { type: "uint32", value: config.dim },
    "llama.block_count": { type: "uint32", value: config.layers },
    "llama.feed_forward_length": { type: "uint32", value: config.hiddenDim },
    "llama.attention.head_count": { type: "uint32", value: config.heads },
    "llama.attention.head_count_kv": { type: "uint32", value: config.kvHeads },
    "llama.rope.dimension_count": { type: "uint32", value: config.headDim },
    "llama.rope.freq_base": { type: "float32", value: config.ropeTheta },
    "llama.attention.layer_norm_rms_epsilon": { type: "float32", value: config.normEpsilon },
    "tokenizer.ggml.model": { type: "string", value: "llama" },
    "tokenizer.ggml.tokens": { type: "array", itemType: "string", value: pieces },
    "tokenizer.ggml.scores": { type: "array", itemType: "float32", value: scores },
    "tokenizer.ggml.token_type": { type: "array", itemType: "int32", value: tokenTypes },
    "tokenizer.ggml.bos_token_id": { type: "uint32", value: tokenizer.bosId },
    "tokenizer.ggml.eos_token_id": { type: "uint32", value: tokenizer.eosId },
  } satisfies Record<string, GgufWriterValue>);
  return writeGguf(metadata, tensors);
}
