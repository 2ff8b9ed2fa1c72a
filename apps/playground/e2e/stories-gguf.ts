import { loadLlama2cCheckpoint, loadLlama2cTokenizer, writeGguf, type GgufWriterTensor } from "@kvpack/adapters";

/**
 * stories260K + tok512 rewritten as a llama.cpp-style GGUF (llama.* metadata, "▁" pieces, blk.N.*
 * tensors, F32), so the e2e can drop "someone's own GGUF" into the page.
 */
export function storiesGguf(checkpoint: ArrayBuffer, tokenizerBytes: ArrayBuffer, name: string): Uint8Array {
  const weights = loadLlama2cCheckpoint(checkpoint);
  const c = weights.config;
  const tokenizer = loadLlama2cTokenizer(tokenizerBytes, c.vocabSize);
  const special: Record<number, string> = { 0: "<unk>", 1: "<s>", 2: "</s>" };
  const pieces = Array.from({ length: c.vocabSize }, (_, id) => special[id] ?? tokenizer.piece(id).replaceAll(" ", "\u2581"));
  const matrix = (tensorName: string, data: Float32Array, rows: number, columns: number): GgufWriterTensor => ({ name: tensorName, dims: [columns, rows], type: "F32", data });
  const vector = (tensorName: string, data: Float32Array): GgufWriterTensor => ({ name: tensorName, dims: [data.length], type: "F32", data });
  const kvDim = c.kvHeads * c.headDim;
  const tensors: GgufWriterTensor[] = [matrix("token_embd.weight", weights.tokenEmbedding, c.vocabSize, c.dim)];
  weights.layers.forEach((layer, i) => {
    tensors.push(
      vector(`blk.${i}.attn_norm.weight`, layer.attentionNorm),
      matrix(`blk.${i}.attn_q.weight`, layer.wq, c.dim, c.dim),
      matrix(`blk.${i}.attn_k.weight`, layer.wk, kvDim, c.dim),
      matrix(`blk.${i}.attn_v.weight`, layer.wv, kvDim, c.dim),
      matrix(`blk.${i}.attn_output.weight`, layer.wo, c.dim, c.dim),
      vector(`blk.${i}.ffn_norm.weight`, layer.ffnNorm),
      matrix(`blk.${i}.ffn_gate.weight`, layer.w1, c.hiddenDim, c.dim),
      matrix(`blk.${i}.ffn_down.weight`, layer.w2, c.dim, c.hiddenDim),
      matrix(`blk.${i}.ffn_up.weight`, layer.w3, c.hiddenDim, c.dim),
    );
  });
  tensors.push(vector("output_norm.weight", weights.finalNorm));
  return writeGguf(
    {
      "general.architecture": { type: "string", value: "llama" },
      "general.name": { type: "string", value: name },
      "llama.context_length": { type: "uint32", value: c.maxSequenceLength },
      "llama.embedding_length": { type: "uint32", value: c.dim },
      "llama.block_count": { type: "uint32", value: c.layers },
      "llama.feed_forward_length": { type: "uint32", value: c.hiddenDim },
      "llama.attention.head_count": { type: "uint32", value: c.heads },
      "llama.attention.head_count_kv": { type: "uint32", value: c.kvHeads },
      "llama.rope.dimension_count": { type: "uint32", value: c.headDim },
      "llama.rope.freq_base": { type: "float32", value: 10000 },
      "llama.attention.layer_norm_rms_epsilon": { type: "float32", value: 1e-5 },
      "tokenizer.ggml.model": { type: "string", value: "llama" },
      "tokenizer.ggml.tokens": { type: "array", itemType: "string", value: pieces },
      "tokenizer.ggml.scores": { type: "array", itemType: "float32", value: Array.from({ length: c.vocabSize }, (_, id) => tokenizer.score(id)) },
      "tokenizer.ggml.bos_token_id": { type: "uint32", value: 1 },
      "tokenizer.ggml.eos_token_id": { type: "uint32", value: 2 },
    },
    tensors,
  );
}
