// Test-only helper (not exported from the package): the smallest llama-architecture GGUF llama.cpp
// loads, carrying whatever tokenizer metadata a test gives, so llama.cpp's tokenizer can be compared.
import { type GgufWriterTensor, type GgufWriterValue, writeGguf } from "./gguf-writer.js";

export function writeTinyLlamaGguf(vocabSize: number, tokenizer: Readonly<Record<string, GgufWriterValue>>): Uint8Array {
  const dim = 32;
  const values = (count: number, scale: number) => Float32Array.from({ length: count }, (_, i) => Math.sin(i * 12.9898) * scale);
  const matrix = (name: string, rows: number, columns: number): GgufWriterTensor => ({ name, dims: [columns, rows], type: "F16", data: values(rows * columns, 0.1) });
  const vector = (name: string): GgufWriterTensor => ({ name, dims: [dim], type: "F32", data: new Float32Array(dim).fill(1) });
  const tensors = [
    matrix("token_embd.weight", vocabSize, dim),
    vector("blk.0.attn_norm.weight"),
    matrix("blk.0.attn_q.weight", dim, dim),
    matrix("blk.0.attn_k.weight", dim, dim),
    matrix("blk.0.attn_v.weight", dim, dim),
    matrix("blk.0.attn_output.weight", dim, dim),
    vector("blk.0.ffn_norm.weight"),
    matrix("blk.0.ffn_gate.weight", dim, dim),
    matrix("blk.0.ffn_down.weight", dim, dim),
    matrix("blk.0.ffn_up.weight", dim, dim),
    vector("output_norm.weight"),
  ];
  return writeGguf(
    {
      "general.architecture": { type: "string", value: "llama" },
      "llama.context_length": { type: "uint32", value: 64 },
      "llama.embedding_length": { type: "uint32", value: dim },
      "llama.block_count": { type: "uint32", value: 1 },
      "llama.feed_forward_length": { type: "uint32", value: dim },
      "llama.attention.head_count": { type: "uint32", value: 4 },
      "llama.attention.head_count_kv": { type: "uint32", value: 4 },
      "llama.rope.dimension_count": { type: "uint32", value: dim / 4 },
      "llama.attention.layer_norm_rms_epsilon": { type: "float32", value: 1e-5 },
      ...tokenizer,
    },
    tensors,
  );
}
