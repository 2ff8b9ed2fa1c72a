import { asUint8Array, firstNonFinite, float32View } from "../model/bytes.js";
import type { LlamaConfig, LlamaLayerWeights, LlamaWeights } from "../model/llama-weights.js";
import { ModelFormatError } from "../model/model-format-error.js";

const headerBytes = 7 * 4;
// llama2.c export.py version ≥ 1 files start with this magic ("ak42" read as a little-endian uint32).
const versionedExportMagic = 0x616b3432;

/**
 * Parses a llama2.c checkpoint (the legacy "version 0" export that run.c reads): a header of seven
 * int32 (dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size, seq_len; a negative vocab_size
 * means the classifier is not shared with the embedding), then fp32 weights in run.c order. The
 * weights are zero-copy views of `bytes` when it is 4-byte aligned.
 */
export function loadLlama2cCheckpoint(bytes: ArrayBuffer | Uint8Array): LlamaWeights {
  const data = asUint8Array(bytes);
  if (data.byteLength < headerBytes) {
    throw new ModelFormatError("llama2c-checkpoint", "truncated", `llama2.c checkpoint truncated: expected a ${headerBytes}-byte header, file has ${data.byteLength} bytes`);
  }
  const header = new DataView(data.buffer, data.byteOffset, headerBytes);
  const magic = header.getUint32(0, true);
  if (magic === versionedExportMagic) {
    throw new ModelFormatError(
      "llama2c-checkpoint",
      "unsupported",
      `llama2.c checkpoint uses the versioned export format (magic "ak42", version ${header.getInt32(4, true)}); only the legacy run.c format (export.py --version 0) is supported`,
    );
  }
  const [dim, hiddenDim, layers, heads, kvHeads, signedVocabSize, maxSequenceLength] = Array.from({ length: 7 }, (_, i) => header.getInt32(i * 4, true));
  const vocabSize = Math.abs(signedVocabSize);
  const fields = { dim, hidden_dim: hiddenDim, n_layers: layers, n_heads: heads, n_kv_heads: kvHeads, vocab_size: vocabSize, seq_len: maxSequenceLength };
  for (const [name, value] of Object.entries(fields)) {
    if (!(value > 0)) {
      throw new ModelFormatError("llama2c-checkpoint", "bad-header", `llama2.c checkpoint header: ${name} must be positive, got ${value} (${JSON.stringify(fields)})`);
    }
  }
  if (dim % heads !== 0 || heads % kvHeads !== 0 || (dim / heads) % 2 !== 0) {
    throw new ModelFormatError(
      "llama2c-checkpoint",
      "bad-header",
      `llama2.c checkpoint header: dim ${dim} must split into n_heads ${heads} heads of even size, and n_heads must be a multiple of n_kv_heads ${kvHeads}`,
    );
  }
  const headDim = dim / heads;
  const kvDim = kvHeads * headDim;
  const sharedClassifier = signedVocabSize > 0;
  const config: LlamaConfig = {
    dim,
    hiddenDim,
    layers,
    heads,
    kvHeads,
    vocabSize,
    maxSequenceLength,
    headDim,
    ropeTheta: 10000,
    normEpsilon: 1e-5,
    sharedClassifier,
  };

  let offset = headerBytes;
  // Takes the next `count` floats, naming the tensor in the error when the file is too short.
  const take = (count: number, what: string): Float32Array => {
    const end = offset + count * 4;
    if (end > data.byteLength) {
      throw new ModelFormatError(
        "llama2c-checkpoint",
        "truncated",
        `llama2.c checkpoint truncated: expected ${end} bytes for ${what}, file has ${data.byteLength}`,
      );
    }
    const view = float32View(data, offset, count);
    offset = end;
    return view;
  };
  // run.c keeps each tensor kind for all layers contiguous; split per layer.
  const perLayer = (size: number, name: string): Float32Array[] => Array.from({ length: layers }, (_, layer) => take(size, `layer ${layer} ${name}`));

  const tokenEmbedding = take(vocabSize * dim, "token_embedding_table");
  const attentionNorm = perLayer(dim, "rms_att_weight");
  const wq = perLayer(dim * dim, "wq");
  const wk = perLayer(kvDim * dim, "wk");
  const wv = perLayer(kvDim * dim, "wv");
  const wo = perLayer(dim * dim, "wo");
  const ffnNorm = perLayer(dim, "rms_ffn_weight");
  const w1 = perLayer(hiddenDim * dim, "w1");
  const w2 = perLayer(dim * hiddenDim, "w2");
  const w3 = perLayer(hiddenDim * dim, "w3");
  const finalNorm = take(dim, "rms_final_weight");
  // Legacy RoPE tables (freq_cis_real, freq_cis_imag): run.c skips them and so do we.
  take(maxSequenceLength * headDim, "freq_cis_real and freq_cis_imag");
  const classifier = sharedClassifier ? tokenEmbedding : take(vocabSize * dim, "wcls (unshared classifier)");
  if (offset !== data.byteLength) {
    throw new ModelFormatError(
      "llama2c-checkpoint",
      "bad-header",
      `llama2.c checkpoint has ${data.byteLength - offset} unexpected trailing bytes after ${offset} bytes of weights: the header ${JSON.stringify(fields)} does not match the file`,
    );
  }

  const layerWeights: LlamaLayerWeights[] = Array.from({ length: layers }, (_, layer) => ({
    attentionNorm: attentionNorm[layer],
    wq: wq[layer],
    wk: wk[layer],
    wv: wv[layer],
    wo: wo[layer],
    ffnNorm: ffnNorm[layer],
    w1: w1[layer],
    w2: w2[layer],
    w3: w3[layer],
  }));
  const weights: LlamaWeights = { config, tokenEmbedding, layers: layerWeights, finalNorm, classifier };
  assertFiniteLlamaWeights(weights, "llama2c-checkpoint");
  return weights;
}

/** Throws a ModelFormatError naming the first tensor that holds a NaN or infinity. */
export function assertFiniteLlamaWeights(weights: LlamaWeights, format: "llama2c-checkpoint" | "gguf" | "safetensors"): void {
  const check = (values: Float32Array, what: string): void => {
    const index = firstNonFinite(values);
    if (index >= 0) {
      throw new ModelFormatError(format, "non-finite", `${format}: ${what} holds a non-finite value (${values[index]}) at element ${index}`);
    }
  };
  check(weights.tokenEmbedding, "token embedding");
  weights.layers.forEach((layer, index) => {
    for (const [name, values] of Object.entries(layer)) check(values as Float32Array, `layer ${index} ${name}`);
  });
  check(weights.finalNorm, "final norm");
  if (weights.classifier !== weights.tokenEmbedding) check(weights.classifier, "classifier");
}
