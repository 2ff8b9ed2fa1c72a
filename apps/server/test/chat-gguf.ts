import { readFileSync } from "node:fs";
import path from "node:path";
import { type GgufWriterTensor, type GgufWriterValue, writeGguf } from "@kvpack/adapters";
import { modelsDataDirectory } from "./test-server.js";

/** ChatML, as Qwen2 / SmolLM2-Instruct GGUFs carry it (system turn optional, add_generation_prompt opens the assistant turn). */
export const chatMlTemplate =
  "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}{% endfor %}" +
  "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

/** GPT-2's vocabulary (../shared/models-data/gpt2-encoder.json + gpt2-vocab.bpe) plus ChatML's two control tokens. */
function gpt2Vocabulary(): { tokens: string[]; merges: string[] } {
  const encoder = JSON.parse(readFileSync(path.join(modelsDataDirectory, "gpt2-encoder.json"), "utf8")) as Record<string, number>;
  const tokens: string[] = [];
  for (const [piece, id] of Object.entries(encoder)) tokens[id] = piece;
  const merges = readFileSync(path.join(modelsDataDirectory, "gpt2-vocab.bpe"), "utf8")
    .split("\n")
    .filter((line) => line.length > 0 && !line.startsWith("#version"));
  return { tokens: [...tokens, "<|im_start|>", "<|im_end|>"], merges };
}

export interface ChatGgufOptions {
  /** Written as tokenizer.chat_template; left out when undefined. */
  readonly chatTemplate?: string;
  /** Extra metadata (e.g. tokenizer.ggml.add_bos_token). */
  readonly metadata?: Readonly<Record<string, GgufWriterValue>>;
}

/**
 * A one-layer llama GGUF (dim 32, deterministic sin weights, F32) written by kvpack's writer with a
 * "gpt2" byte-level BPE tokenizer (pre-tokenizer "gpt-2", <|endoftext|> 50256 as BOS/EOS, <|im_start|>
 * 50257 and <|im_end|> 50258 as control tokens) and, optionally, a chat template.
 */
export function writeChatGguf(options: ChatGgufOptions = {}): Uint8Array {
  const { tokens, merges } = gpt2Vocabulary();
  const dim = 32;
  const values = (count: number, scale: number, phase: number) => Float32Array.from({ length: count }, (_, i) => Math.sin(i * 12.9898 + phase) * scale);
  let phase = 0;
  const matrix = (name: string, rows: number, columns: number): GgufWriterTensor => ({ name, dims: [columns, rows], type: "F32", data: values(rows * columns, 0.1, phase++) });
  const vector = (name: string): GgufWriterTensor => ({ name, dims: [dim], type: "F32", data: new Float32Array(dim).fill(1) });
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
  const types = tokens.map((_, id) => (id >= 50256 ? 3 : 1));
  const metadata: Record<string, GgufWriterValue> = {
    "general.architecture": { type: "string", value: "llama" },
    "llama.context_length": { type: "uint32", value: 256 },
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
    "tokenizer.ggml.token_type": { type: "array", itemType: "int32", value: types },
    "tokenizer.ggml.merges": { type: "array", itemType: "string", value: merges },
    "tokenizer.ggml.bos_token_id": { type: "uint32", value: 50256 },
    "tokenizer.ggml.eos_token_id": { type: "uint32", value: 50256 },
    ...options.metadata,
  };
  if (options.chatTemplate !== undefined) metadata["tokenizer.chat_template"] = { type: "string", value: options.chatTemplate };
  return writeGguf(metadata, tensors);
}
