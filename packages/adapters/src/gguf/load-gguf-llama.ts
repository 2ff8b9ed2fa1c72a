import { assertFiniteLlamaWeights } from "../llama2c/load-llama2c-checkpoint.js";
import { describeLlamaModel, type DescribeLlamaModelOptions, type LlamaArchitecture, llamaArchitectures, type LlamaModelDescription } from "../model/llama-model-description.js";
import type { LlamaConfig, LlamaLayerWeights, LlamaWeights } from "../model/llama-weights.js";
import type { RopeDescription } from "../model/rope.js";
import { ModelArgumentError, ModelFormatError } from "../model/model-format-error.js";
import { SentencePieceBpeTokenizer } from "../tokenizers/sentencepiece-bpe-tokenizer.js";
import { gemma2AttentionScale, gemma2DefaultAttentionSoftCap, gemma2DefaultFinalSoftCap, gemma2LayerAttention, ggufArchitectures } from "./gguf-architecture.js";
import type { GgufByteSource } from "./gguf-byte-source.js";
import { GgufFile } from "./gguf-file.js";
import { type GgufTokenizer, ggufTokenizer } from "./gguf-tokenizer.js";
import { type LlamaMatrixBlocks, llamaMatrixBlocks } from "./llama-matrix-blocks.js";

export interface GgufLlamaModel {
  readonly weights: LlamaWeights;
  /** The architecture's description (rotation, per-layer attention, switches) over `weights`: what the runtimes take. */
  readonly description: LlamaModelDescription;
  /** The embedded tokenizer (ggufTokenizer: "llama" SentencePiece or "gpt2" byte-level BPE); undefined when the file has none. */
  readonly tokenizer: GgufTokenizer | undefined;
  readonly file: GgufFile;
  /** The weight matrices as the file's blocks (views), for backends that multiply them in place. */
  readonly matrixBlocks: LlamaMatrixBlocks;
  /**
   * Lets the file's bytes be garbage-collected once a backend holds what it needs (ResidentLlamaWeights
   * with `blocks` copies the blocks into backend memory and token_embd's blocks into its own array),
   * so the weights are resident once, not twice. Only with `lazyMatrices`: the small vectors (norms,
   * biases, RoPE factors) are copies then, and a matrix not read before is a ModelArgumentError after;
   * `file` and `matrixBlocks` throw too. Drop your own references to the bytes as well.
   */
  releaseFile(): void;
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

function metadataString(file: GgufFile, key: string): string | undefined {
  const value = file.metadata.get(key);
  if (value !== undefined && typeof value !== "string") throw new ModelFormatError("gguf", "bad-metadata", `GGUF metadata ${key} must be a string, got ${JSON.stringify(String(value))}`);
  return value;
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
 * Loads a Llama-family GGUF (v2/v3) of architecture `llama`, `qwen2`, `qwen3`, `phi3` or `gemma2`
 * as llama.cpp reads it: `{arch}.*` metadata → LlamaConfig and a model description (RoPE style and
 * base, `rope_freqs.weight` or linear `rope.scaling` as frequency factors, head size from
 * `attention.key_length`, Gemma 2's `attention.sliding_window` on even layers, soft caps and scales),
 * llama.cpp's tensor names (q/k/v biases, q/k norms, Phi-3's fused attn_qkv and gate+up ffn_up
 * split into row views, Gemma 2's post norms, an optional output.bias), every supported tensor type
 * dequantized to fp32, and the embedded tokenizer. GGUF stores `llama` q/k rows already in the
 * interleaved RoPE order llama2.c uses, and the NeoX architectures unpermuted, so nothing is permuted.
 * Missing keys or tensors, shape mismatches and unsupported variants (partial RoPE, YaRN, LongRoPE)
 * throw a ModelFormatError naming them. `bytes` may be a GgufByteSource (`fileByteSource(path)` from
 * `@kvpack/adapters/node`): with `lazyMatrices` only the header and the small vectors are read at
 * load, and each matrix when a backend uploads its blocks, so the file is never in memory whole.
 */
export function loadGgufLlama(bytes: ArrayBuffer | Uint8Array | GgufByteSource | GgufFile, options: LoadGgufLlamaOptions = {}): GgufLlamaModel {
  const file = bytes instanceof GgufFile ? bytes : new GgufFile(bytes);
  const architectureName = file.metadata.get("general.architecture");
  if (typeof architectureName !== "string" || !(llamaArchitectures as readonly string[]).includes(architectureName)) {
    throw new ModelFormatError("gguf", "unsupported", `GGUF general.architecture is ${JSON.stringify(architectureName)}; supported: ${llamaArchitectures.map((name) => JSON.stringify(name)).join(", ")}`);
  }
  const architecture = ggufArchitectures[architectureName as LlamaArchitecture];
  const key = (name: string): string => `${architecture.name}.${name}`;
  const dim = metadataNumber(file, key("embedding_length"));
  const heads = metadataNumber(file, key("attention.head_count"));
  const kvHeads = metadataNumber(file, key("attention.head_count_kv"), heads);
  const headDim = metadataNumber(file, key("attention.key_length"), dim / heads);
  const valueDim = metadataNumber(file, key("attention.value_length"), headDim);
  const rotaryDims = metadataNumber(file, key("rope.dimension_count"), headDim);
  if (!Number.isInteger(headDim) || headDim % 2 !== 0 || !Number.isInteger(heads) || heads < 1 || !Number.isInteger(kvHeads) || kvHeads < 1 || heads % kvHeads !== 0) {
    throw new ModelFormatError("gguf", "bad-metadata", `GGUF: heads of ${key("attention.key_length")} ${headDim} (embedding_length ${dim} / head_count ${heads}) must be an even integer, and head_count must be a multiple of head_count_kv ${kvHeads}`);
  }
  if (valueDim !== headDim) throw new ModelFormatError("gguf", "unsupported", `GGUF: ${key("attention.value_length")} ${valueDim} differs from key_length ${headDim}`);
  if (rotaryDims !== headDim) throw new ModelFormatError("gguf", "unsupported", `GGUF: partial RoPE (${key("rope.dimension_count")} ${rotaryDims} < head size ${headDim}) is not supported`);
  const embeddingInfo = file.tensors.get("token_embd.weight");
  if (!embeddingInfo) throw new ModelFormatError("gguf", "missing-tensor", "GGUF file has no tensor token_embd.weight");
  const vocabSize = embeddingInfo.dims[1];
  const sharedClassifier = architecture.alwaysTied || !file.has("output.weight");
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
  const queryDim = heads * headDim;
  const kvDim = kvHeads * headDim;
  const lazy = options.lazyMatrices === true;
  // Lazy getters read the file through `source`, which releaseFile() clears. Small vectors are copied
  // when lazy (an aligned F32 tensor comes back as a view of the file's bytes, which would keep them alive).
  let source: GgufFile | undefined = file;
  const readable = (what: string): GgufFile => {
    if (source === undefined) throw new ModelArgumentError(`gguf: ${what} was read after releaseFile(); read or upload every matrix before releasing the file`);
    return source;
  };
  const vector = (tensor: string, dims: readonly number[]): Float32Array => (lazy ? file.float32(tensor, dims).slice() : file.float32(tensor, dims));
  // Each matrix: read now, or (lazy) a getter that dequantizes on first use.
  const define = (target: Record<string, unknown>, name: string, what: string, compute: () => Float32Array): void => {
    if (lazy) lazyProperty(target, name, what, compute);
    else target[name] = compute();
  };
  const matrix = (target: Record<string, unknown>, name: string, tensor: string, dims: readonly number[], what: string): void => {
    file.quantized(tensor, dims); // checks presence and shape now, even when lazy
    define(target, name, what, () => readable(what).float32(tensor, dims));
  };
  /** Row slices of a fused matrix (Phi-3), dequantized once and shared. */
  const fusedRows = (tensor: string, dims: readonly number[]): ((first: number, count: number) => Float32Array) => {
    file.quantized(tensor, dims);
    let values: Float32Array | undefined;
    return (first, count) => {
      values ??= readable(tensor).float32(tensor, dims);
      return values.subarray(first * dims[0], (first + count) * dims[0]);
    };
  };
  const optionalVector = (target: Record<string, unknown>, name: string, tensor: string, length: number, required: boolean): void => {
    if (!required && !file.has(tensor)) return;
    target[name] = vector(tensor, [length]);
  };
  const holder: Record<string, unknown> = {};
  matrix(holder, "tokenEmbedding", "token_embd.weight", [dim, vocabSize], "token embedding");
  const layers: LlamaLayerWeights[] = [];
  for (let layer = 0; layer < config.layers; layer++) {
    const prefix = `blk.${layer}.`;
    const weights: Record<string, unknown> = {
      attentionNorm: vector(`${prefix}attn_norm.weight`, [dim]),
      ffnNorm: vector(`${prefix}ffn_norm.weight`, [dim]),
    };
    if (architecture.fused && file.has(`${prefix}attn_qkv.weight`)) {
      const rows = fusedRows(`${prefix}attn_qkv.weight`, [dim, queryDim + 2 * kvDim]);
      define(weights, "wq", `layer ${layer} wq`, () => rows(0, queryDim));
      define(weights, "wk", `layer ${layer} wk`, () => rows(queryDim, kvDim));
      define(weights, "wv", `layer ${layer} wv`, () => rows(queryDim + kvDim, kvDim));
    } else {
      matrix(weights, "wq", `${prefix}attn_q.weight`, [dim, queryDim], `layer ${layer} wq`);
      matrix(weights, "wk", `${prefix}attn_k.weight`, [dim, kvDim], `layer ${layer} wk`);
      matrix(weights, "wv", `${prefix}attn_v.weight`, [dim, kvDim], `layer ${layer} wv`);
    }
    matrix(weights, "wo", `${prefix}attn_output.weight`, [queryDim, dim], `layer ${layer} wo`);
    if (architecture.fused) {
      const rows = fusedRows(`${prefix}ffn_up.weight`, [dim, 2 * hiddenDim]);
      define(weights, "w1", `layer ${layer} w1`, () => rows(0, hiddenDim));
      define(weights, "w3", `layer ${layer} w3`, () => rows(hiddenDim, hiddenDim));
    } else {
      matrix(weights, "w1", `${prefix}ffn_gate.weight`, [dim, hiddenDim], `layer ${layer} w1`);
      matrix(weights, "w3", `${prefix}ffn_up.weight`, [dim, hiddenDim], `layer ${layer} w3`);
    }
    matrix(weights, "w2", `${prefix}ffn_down.weight`, [hiddenDim, dim], `layer ${layer} w2`);
    optionalVector(weights, "bq", `${prefix}attn_q.bias`, queryDim, architecture.requiresBiases);
    optionalVector(weights, "bk", `${prefix}attn_k.bias`, kvDim, architecture.requiresBiases);
    optionalVector(weights, "bv", `${prefix}attn_v.bias`, kvDim, architecture.requiresBiases);
    if (architecture.queryKeyNorms) {
      optionalVector(weights, "queryNorm", `${prefix}attn_q_norm.weight`, headDim, true);
      optionalVector(weights, "keyNorm", `${prefix}attn_k_norm.weight`, headDim, true);
    }
    if (architecture.gemma) {
      optionalVector(weights, "postAttentionNorm", `${prefix}post_attention_norm.weight`, dim, true);
      optionalVector(weights, "postFfnNorm", `${prefix}post_ffw_norm.weight`, dim, true);
    }
    layers.push(weights as unknown as LlamaLayerWeights);
  }
  const finalNorm = vector("output_norm.weight", [dim]);
  if (sharedClassifier) Object.defineProperty(holder, "classifier", { enumerable: true, get: () => holder.tokenEmbedding });
  else matrix(holder, "classifier", "output.weight", [dim, vocabSize], "classifier");
  if (file.has("output.bias")) holder.classifierBias = vector("output.bias", [vocabSize]);
  const weights = Object.defineProperties({ config, layers, finalNorm }, Object.getOwnPropertyDescriptors(holder)) as unknown as LlamaWeights;
  if (!lazy) assertFiniteLlamaWeights(weights, "gguf");
  else assertFiniteLlamaWeights({ config, tokenEmbedding: new Float32Array(0), layers: layers.map((layer) => ({ attentionNorm: layer.attentionNorm, ffnNorm: layer.ffnNorm }) as unknown as LlamaLayerWeights), finalNorm, classifier: new Float32Array(0) }, "gguf");
  const optionalVectors: [string, Float32Array | undefined][] = [["classifierBias", weights.classifierBias]];
  for (const [i, layer] of layers.entries()) {
    for (const name of ["bq", "bk", "bv", "queryNorm", "keyNorm", "postAttentionNorm", "postFfnNorm"] as const) optionalVectors.push([`layer ${i} ${name}`, layer[name]]);
  }
  for (const [name, vector] of optionalVectors) {
    if (vector && !vector.every(Number.isFinite)) throw new ModelFormatError("gguf", "non-finite", `gguf: ${name} holds a non-finite value`);
  }
  const description = describeLlamaModel(weights, describeOptions(file, architecture.name, config, vector));
  let matrixBlocks: LlamaMatrixBlocks | undefined = llamaMatrixBlocks(file, config, architecture.fused);
  return {
    weights,
    description,
    tokenizer: ggufTokenizer(file),
    get file() {
      return readable("file");
    },
    get matrixBlocks() {
      readable("matrixBlocks");
      return matrixBlocks!;
    },
    releaseFile() {
      if (!lazy) throw new ModelArgumentError("gguf: releaseFile() needs loadGgufLlama(…, { lazyMatrices: true }); without it the weights are fp32 copies already and the file can simply be dropped");
      source = undefined;
      matrixBlocks = undefined;
    },
  };
}

/** The description's switches from `{arch}.*` metadata, as llama.cpp's load_hparams reads them. */
function describeOptions(file: GgufFile, architecture: LlamaArchitecture, config: LlamaConfig, vector: (tensor: string, dims: readonly number[]) => Float32Array): DescribeLlamaModelOptions {
  const key = (name: string): string => `${architecture}.${name}`;
  const spec = ggufArchitectures[architecture];
  const rope: { -readonly [K in keyof RopeDescription]: RopeDescription[K] } = { style: spec.ropeStyle, freqBase: config.ropeTheta };
  const pairs = config.headDim / 2;
  if (file.has("rope_freqs.weight")) rope.frequencyFactors = vector("rope_freqs.weight", [pairs]);
  const scalingType = metadataString(file, key("rope.scaling.type")) ?? "none";
  if (scalingType === "linear") {
    const factor = metadataNumber(file, key("rope.scaling.factor"));
    if (!(factor > 0)) throw new ModelFormatError("gguf", "bad-metadata", `GGUF ${key("rope.scaling.factor")} must be positive, got ${factor}`);
    rope.scaling = { kind: "linear", factor };
  } else if (scalingType !== "none") {
    throw new ModelFormatError("gguf", "unsupported", `GGUF ${key("rope.scaling.type")} ${JSON.stringify(scalingType)} is not supported (only "none" and "linear"; Llama 3 scaling comes as rope_freqs.weight)`);
  }
  for (const name of ["rope_factors_long.weight", "rope_factors_short.weight"]) {
    if (file.has(name)) throw new ModelFormatError("gguf", "unsupported", `GGUF tensor ${name}: LongRoPE (Phi-3 128k) is not supported`);
  }
  const options: { -readonly [K in keyof DescribeLlamaModelOptions]: DescribeLlamaModelOptions[K] } = { architecture, rope, activation: spec.activation };
  if (spec.gemma) {
    const window = metadataNumber(file, key("attention.sliding_window"));
    if (!(Number.isInteger(window) && window > 0)) throw new ModelFormatError("gguf", "bad-metadata", `GGUF ${key("attention.sliding_window")} must be a positive integer, got ${window}`);
    options.layerAttention = gemma2LayerAttention(config.layers, window);
    options.embeddingScale = Math.fround(Math.sqrt(config.dim));
    options.attentionScale = gemma2AttentionScale(config.layers, config.dim, config.heads, config.headDim);
    options.attentionLogitSoftCap = metadataNumber(file, key("attn_logit_softcapping"), gemma2DefaultAttentionSoftCap);
    options.finalLogitSoftCap = metadataNumber(file, key("final_logit_softcapping"), gemma2DefaultFinalSoftCap);
  }
  return options;
}
