import { type LlamaModelDescription, toModelDescription } from "../model/llama-model-description.js";
import type { LlamaWeights } from "../model/llama-weights.js";
import { ModelArgumentError } from "../model/model-format-error.js";
import { ropeFrequencies } from "../model/rope.js";
import { gemma2AttentionScale, gemma2LayerAttention, ggufArchitectures } from "./gguf-architecture.js";
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
  /**
   * Per-tensor encodings by GGUF tensor name, overriding `tensorType` (mixes such as llama.cpp's
   * Q4_K_M: `{ "blk.0.attn_v.weight": "Q6_K", "blk.0.ffn_down.weight": "Q6_K" }` over Q4_K).
   */
  readonly tensorTypes?: Readonly<Record<string, LlamaGgufTensorType>>;
}

// Q8_K is left out: llama.cpp has no matrix product with Q8_K weights (it is only the activation side of the K-quant dot products).
const tensorTypes: readonly LlamaGgufTensorType[] = ["F32", "F16", "BF16", "Q8_0", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K", "IQ4_NL", "IQ4_XS"];

function concatenateRows(parts: readonly Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** Throws unless the description is what llama.cpp computes for its architecture (what the file can say). */
function checkWritable(description: LlamaModelDescription): void {
  const { architecture, config, weights } = description;
  const spec = ggufArchitectures[architecture];
  const fail = (what: string): never => {
    throw new ModelArgumentError(`writeLlamaGguf: a ${architecture} GGUF cannot express ${what}`);
  };
  if (description.rope.style !== spec.ropeStyle) fail(`${description.rope.style} RoPE (llama.cpp runs ${architecture} with ${spec.ropeStyle})`);
  if (description.rope.freqBase !== config.ropeTheta) fail(`rope.freqBase ${description.rope.freqBase} ≠ config.ropeTheta ${config.ropeTheta}`);
  if (description.activation !== spec.activation) fail(`the ${description.activation} activation`);
  const layers = weights.layers;
  const all = (name: "bq" | "bk" | "bv" | "queryNorm" | "keyNorm" | "postAttentionNorm" | "postFfnNorm"): boolean => layers.every((layer) => layer[name] !== undefined);
  const none = (name: "bq" | "bk" | "bv" | "queryNorm" | "keyNorm" | "postAttentionNorm" | "postFfnNorm"): boolean => layers.every((layer) => layer[name] === undefined);
  // llama.cpp loads q/k/v biases for llama (optional) and qwen2 (required) only, and output.bias for none of these.
  for (const name of ["bq", "bk", "bv"] as const) {
    if (spec.requiresBiases && !all(name)) fail(`missing ${name}`);
    if (architecture === "llama" && !(all(name) || none(name))) fail(`${name} on only some layers`);
    if (!spec.requiresBiases && architecture !== "llama" && !none(name)) fail(name);
  }
  if (weights.classifierBias !== undefined) fail("a classifier bias (output.bias)");
  if ((description.rope.scaling !== undefined || description.rope.frequencyFactors !== undefined) && architecture !== "llama") fail("RoPE scaling (rope_freqs.weight is read for llama only)");
  for (const name of ["queryNorm", "keyNorm"] as const) if (spec.queryKeyNorms ? !all(name) : !none(name)) fail(spec.queryKeyNorms ? `missing ${name}` : name);
  for (const name of ["postAttentionNorm", "postFfnNorm"] as const) if (spec.gemma ? !all(name) : !none(name)) fail(spec.gemma ? `missing ${name}` : name);
  if (spec.gemma) {
    if (!config.sharedClassifier) fail("an untied classifier (llama.cpp ties Gemma 2's to token_embd)");
    const first = description.layerAttention[0];
    if (first?.kind !== "sliding-window" || JSON.stringify(description.layerAttention) !== JSON.stringify(gemma2LayerAttention(config.layers, first.window))) fail("layer kinds other than sliding windows on even layers");
    if (description.embeddingScale !== Math.fround(Math.sqrt(config.dim))) fail(`embeddingScale ${description.embeddingScale} (llama.cpp uses √dim)`);
    if (description.attentionScale !== gemma2AttentionScale(config.layers, config.dim, config.heads, config.headDim)) fail(`attentionScale ${description.attentionScale}`);
    if (description.attentionLogitSoftCap === undefined || description.finalLogitSoftCap === undefined) fail("Gemma 2 without soft caps");
  } else {
    if (description.layerAttention.some((attention) => attention.kind !== "full")) fail("sliding-window layers");
    if (description.embeddingScale !== 1 || description.attentionScale !== 1 / Math.sqrt(config.headDim)) fail("embedding or attention scales");
    if (description.attentionLogitSoftCap !== undefined || description.finalLogitSoftCap !== undefined) fail("soft caps");
  }
}

/**
 * Converts a Llama-family model — bare weights (architecture `llama`) or a model description of
 * `llama`, `qwen2`, `qwen3`, `phi3` or `gemma2` — and its SentencePiece tokenizer into the bytes of a
 * llama.cpp-style GGUF v3 file: `{arch}.*` metadata (`attention.key_length` when heads·headDim ≠ dim,
 * Gemma 2's `attention.sliding_window` and soft caps), `tokenizer.ggml.*` with "▁" for spaces and
 * `<unk>`/`<s>`/`</s>` special pieces, and llama.cpp's tensor names: q/k/v biases (`attn_q.bias` …),
 * Qwen3's `attn_q_norm` / `attn_k_norm`, Phi-3's fused `attn_qkv` and gate+up `ffn_up`, Gemma 2's
 * `post_attention_norm` / `post_ffw_norm`, Llama 3 RoPE scaling as `rope_freqs.weight` (what
 * convert_hf_to_gguf.py writes). A description llama.cpp would not run the same way (wrong RoPE
 * style for the architecture, a switch the file cannot carry) is a ModelArgumentError. Matrices are
 * encoded as `tensorType`;
 * norms stay F32, as llama.cpp keeps them. q/k rows keep llama2.c's interleaved RoPE order, which is
 * what GGUF stores, so `loadGgufLlama` / `loadGgufLlamaModel` read the result back unchanged (up to
 * the chosen encoding's rounding). Quantized types encode each matrix in blocks of 32 values (Q4_0 … Q8_0,
 * IQ4_NL) or 256 (the K-quants, IQ4_XS) with llama.cpp's reference quantizers; writeGguf throws a
 * RangeError when a matrix's size is not a whole number of blocks. llama.cpp itself also needs each row
 * length (dim, hiddenDim) to be a multiple of the block size, which kvpack's loader does not.
 */
export function writeLlamaGguf(model: LlamaWeights | LlamaModelDescription, tokenizer: SentencePieceBpeTokenizer, options: WriteLlamaGgufOptions = {}): Uint8Array {
  const description = toModelDescription(model);
  checkWritable(description);
  const { weights, architecture } = description;
  const spec = ggufArchitectures[architecture];
  const config = weights.config;
  const tensorType = options.tensorType ?? "F32";
  if (!tensorTypes.includes(tensorType)) {
    throw new ModelArgumentError(`writeLlamaGguf: tensorType must be one of ${tensorTypes.join(", ")}, got ${JSON.stringify(tensorType)}`);
  }
  for (const [name, type] of Object.entries(options.tensorTypes ?? {})) {
    if (!tensorTypes.includes(type)) throw new ModelArgumentError(`writeLlamaGguf: tensorTypes[${JSON.stringify(name)}] must be one of ${tensorTypes.join(", ")}, got ${JSON.stringify(type)}`);
  }
  if (tokenizer.vocabSize !== config.vocabSize) {
    throw new ModelArgumentError(`writeLlamaGguf: the tokenizer has ${tokenizer.vocabSize} tokens but the model's vocabSize is ${config.vocabSize}`);
  }
  const matrix = (name: string, data: Float32Array, rows: number, columns: number): GgufWriterTensor => ({ name, dims: [columns, rows], type: options.tensorTypes?.[name] ?? tensorType, data });
  const vector = (name: string, data: Float32Array): GgufWriterTensor => ({ name, dims: [data.length], type: "F32", data });
  const kvDim = config.kvHeads * config.headDim;
  const queryDim = config.heads * config.headDim;
  const { dim, hiddenDim } = config;
  const tensors: GgufWriterTensor[] = [matrix("token_embd.weight", weights.tokenEmbedding, config.vocabSize, dim)];
  const rope = description.rope;
  // Llama 3 scaling (or explicit factors) as llama.cpp's freq_factors: freq_i / factor_i.
  if (rope.scaling !== undefined || rope.frequencyFactors !== undefined) {
    const plain = ropeFrequencies(config.headDim, { style: rope.style, freqBase: rope.freqBase });
    const scaled = ropeFrequencies(config.headDim, rope);
    tensors.push(vector("rope_freqs.weight", plain.map((frequency, pair) => frequency / scaled[pair])));
  }
  weights.layers.forEach((layer, i) => {
    const name = (tensor: string): string => `blk.${i}.${tensor}`;
    tensors.push(vector(name("attn_norm.weight"), layer.attentionNorm));
    if (spec.fused) tensors.push(matrix(name("attn_qkv.weight"), concatenateRows([layer.wq, layer.wk, layer.wv]), queryDim + 2 * kvDim, dim));
    else tensors.push(matrix(name("attn_q.weight"), layer.wq, queryDim, dim), matrix(name("attn_k.weight"), layer.wk, kvDim, dim), matrix(name("attn_v.weight"), layer.wv, kvDim, dim));
    if (layer.bq) tensors.push(vector(name("attn_q.bias"), layer.bq));
    if (layer.bk) tensors.push(vector(name("attn_k.bias"), layer.bk));
    if (layer.bv) tensors.push(vector(name("attn_v.bias"), layer.bv));
    if (layer.queryNorm) tensors.push(vector(name("attn_q_norm.weight"), layer.queryNorm));
    if (layer.keyNorm) tensors.push(vector(name("attn_k_norm.weight"), layer.keyNorm));
    tensors.push(matrix(name("attn_output.weight"), layer.wo, dim, queryDim));
    if (layer.postAttentionNorm) tensors.push(vector(name("post_attention_norm.weight"), layer.postAttentionNorm));
    tensors.push(vector(name("ffn_norm.weight"), layer.ffnNorm));
    if (spec.fused) tensors.push(matrix(name("ffn_up.weight"), concatenateRows([layer.w1, layer.w3]), 2 * hiddenDim, dim));
    else tensors.push(matrix(name("ffn_gate.weight"), layer.w1, hiddenDim, dim), matrix(name("ffn_up.weight"), layer.w3, hiddenDim, dim));
    tensors.push(matrix(name("ffn_down.weight"), layer.w2, dim, hiddenDim));
    if (layer.postFfnNorm) tensors.push(vector(name("post_ffw_norm.weight"), layer.postFfnNorm));
  });
  tensors.push(vector("output_norm.weight", weights.finalNorm));
  // llama.cpp ties the classifier to the embedding when output.weight is absent.
  if (!config.sharedClassifier) tensors.push(matrix("output.weight", weights.classifier, config.vocabSize, dim));
  if (weights.classifierBias) tensors.push(vector("output.bias", weights.classifierBias));

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

  const metadata: Record<string, GgufWriterValue> = { "general.architecture": { type: "string", value: architecture } };
  if (options.name !== undefined) metadata["general.name"] = { type: "string", value: options.name };
  const key = (name: string): string => `${architecture}.${name}`;
  Object.assign(metadata, {
    [key("context_length")]: { type: "uint32", value: config.maxSequenceLength },
    [key("embedding_length")]: { type: "uint32", value: dim },
    [key("block_count")]: { type: "uint32", value: config.layers },
    [key("feed_forward_length")]: { type: "uint32", value: hiddenDim },
    [key("attention.head_count")]: { type: "uint32", value: config.heads },
    [key("attention.head_count_kv")]: { type: "uint32", value: config.kvHeads },
    [key("rope.dimension_count")]: { type: "uint32", value: config.headDim },
    [key("rope.freq_base")]: { type: "float32", value: config.ropeTheta },
    [key("attention.layer_norm_rms_epsilon")]: { type: "float32", value: config.normEpsilon },
    "tokenizer.ggml.model": { type: "string", value: "llama" },
    "tokenizer.ggml.tokens": { type: "array", itemType: "string", value: pieces },
    "tokenizer.ggml.scores": { type: "array", itemType: "float32", value: scores },
    "tokenizer.ggml.token_type": { type: "array", itemType: "int32", value: tokenTypes },
    "tokenizer.ggml.bos_token_id": { type: "uint32", value: tokenizer.bosId },
    "tokenizer.ggml.eos_token_id": { type: "uint32", value: tokenizer.eosId },
  } satisfies Record<string, GgufWriterValue>);
  // Written only where the head size is not dim / heads (Qwen3, Gemma 2), as convert_hf_to_gguf.py does.
  if (queryDim !== dim) {
    metadata[key("attention.key_length")] = { type: "uint32", value: config.headDim };
    metadata[key("attention.value_length")] = { type: "uint32", value: config.headDim };
  }
  if (spec.gemma) {
    const window = description.layerAttention[0] as { readonly window: number };
    metadata[key("attention.sliding_window")] = { type: "uint32", value: window.window };
    metadata[key("attn_logit_softcapping")] = { type: "float32", value: description.attentionLogitSoftCap! };
    metadata[key("final_logit_softcapping")] = { type: "float32", value: description.finalLogitSoftCap! };
  }
  return writeGguf(metadata, tensors);
}
