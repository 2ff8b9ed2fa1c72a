import { readFileSync } from "node:fs";
import { join } from "node:path";
import { type GgufWriterTensor, writeGguf } from "@kvpack/adapters";

/**
 * A one-layer random llama GGUF (dim 32, Q8_0 matrices) carrying GPT-2's byte-level BPE tokenizer
 * (../shared/models-data/gpt2-encoder.json + gpt2-vocab.bpe, pre-tokenizer "gpt-2"), as a person's
 * own BPE-vocabulary GGUF would: the e2e drops it onto the page.
 */
export function gpt2Gguf(modelsData: string, name: string): Uint8Array {
  const encoder = JSON.parse(readFileSync(join(modelsData, "gpt2-encoder.json"), "utf8")) as Record<string, number>;
  const tokens: string[] = [];
  for (const [piece, id] of Object.entries(encoder)) tokens[id] = piece;
  const merges = readFileSync(join(modelsData, "gpt2-vocab.bpe"), "utf8")
    .split("\n")
    .filter((line) => line.length > 0 && !line.startsWith("#version"));
  const dim = 32;
  let phase = 0;
  const values = (count: number, offset: number) => Float32Array.from({ length: count }, (_, i) => Math.sin(i * 12.9898 + offset) * 0.1);
  const matrix = (tensorName: string, rows: number, columns: number): GgufWriterTensor => ({ name: tensorName, dims: [columns, rows], type: "Q8_0", data: values(rows * columns, phase++) });
  const vector = (tensorName: string): GgufWriterTensor => ({ name: tensorName, dims: [dim], type: "F32", data: new Float32Array(dim).fill(1) });
  const tensors = [
    matrix("token_embd.weight", tokens.length, dim),
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
      "general.name": { type: "string", value: name },
      "llama.context_length": { type: "uint32", value: 128 },
      "llama.embedding_length": { type: "uint32", value: dim },
      "llama.block_count": { type: "uint32", value: 1 },
      "llama.feed_forward_length": { type: "uint32", value: dim },
      "llama.attention.head_count": { type: "uint32", value: 4 },
      "llama.attention.head_count_kv": { type: "uint32", value: 4 },
      "llama.rope.dimension_count": { type: "uint32", value: dim / 4 },
      "llama.attention.layer_norm_rms_epsilon": { type: "float32", value: 1e-5 },
      "tokenizer.ggml.model": { type: "string", value: "gpt2" },
      "tokenizer.ggml.pre": { type: "string", value: "gpt-2" },
      "tokenizer.ggml.tokens": { type: "array", itemType: "string", value: tokens },
      "tokenizer.ggml.token_type": { type: "array", itemType: "int32", value: tokens.map((_, id) => (id === 50256 ? 3 : 1)) },
      "tokenizer.ggml.merges": { type: "array", itemType: "string", value: merges },
      "tokenizer.ggml.bos_token_id": { type: "uint32", value: 50256 },
      "tokenizer.ggml.eos_token_id": { type: "uint32", value: 50256 },
    },
    tensors,
  );
}
