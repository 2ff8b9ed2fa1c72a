import type { Gpt2Config } from "../model/gpt2-weights.js";
import type { LlamaConfig } from "../model/llama-weights.js";
import { ModelFormatError } from "../model/model-format-error.js";

/** A Hugging Face config.json, as text, bytes or an already parsed object. */
export type HuggingFaceConfigSource = string | Uint8Array | Readonly<Record<string, unknown>>;

function parseConfig(source: HuggingFaceConfigSource): Record<string, unknown> {
  if (typeof source === "object" && !(source instanceof Uint8Array)) return source as Record<string, unknown>;
  const text = typeof source === "string" ? source : new TextDecoder().decode(source);
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch (error) {
    throw new ModelFormatError("config", "bad-metadata", `config.json is not valid JSON: ${(error as Error).message}`);
  }
}

function integer(config: Record<string, unknown>, key: string, fallback?: number): number {
  const value = config[key] ?? fallback;
  if (!(typeof value === "number" && Number.isInteger(value) && value > 0)) {
    throw new ModelFormatError("config", "bad-metadata", `config.json: ${key} must be a positive integer, got ${JSON.stringify(config[key])}`);
  }
  return value;
}

function positiveNumber(config: Record<string, unknown>, key: string, fallback: number): number {
  const value = config[key] ?? fallback;
  if (!(typeof value === "number" && Number.isFinite(value) && value > 0)) {
    throw new ModelFormatError("config", "bad-metadata", `config.json: ${key} must be a positive number, got ${JSON.stringify(config[key])}`);
  }
  return value;
}

function modelType(config: Record<string, unknown>): string {
  return String(config.model_type ?? "");
}

/** LlamaConfig from a Hugging Face Llama config.json (model_type "llama" or "mistral"-style without sliding windows). */
export function llamaConfigFromHuggingFace(source: HuggingFaceConfigSource): LlamaConfig {
  const config = parseConfig(source);
  if (!["llama", "mistral", ""].includes(modelType(config))) {
    throw new ModelFormatError("config", "unsupported", `config.json: model_type ${JSON.stringify(config.model_type)} is not a Llama-architecture model`);
  }
  if (config.rope_scaling !== undefined && config.rope_scaling !== null) {
    throw new ModelFormatError("config", "unsupported", `config.json: rope_scaling ${JSON.stringify(config.rope_scaling)} is not supported (plain RoPE only)`);
  }
  const dim = integer(config, "hidden_size");
  const heads = integer(config, "num_attention_heads");
  const kvHeads = integer(config, "num_key_value_heads", heads);
  const headDim = integer(config, "head_dim", dim / heads);
  if (headDim * heads !== dim || heads % kvHeads !== 0 || headDim % 2 !== 0) {
    throw new ModelFormatError("config", "bad-metadata", `config.json: hidden_size ${dim} must equal num_attention_heads ${heads} × an even head_dim, and heads must be a multiple of num_key_value_heads ${kvHeads}`);
  }
  return {
    dim,
    hiddenDim: integer(config, "intermediate_size"),
    layers: integer(config, "num_hidden_layers"),
    heads,
    kvHeads,
    vocabSize: integer(config, "vocab_size"),
    maxSequenceLength: integer(config, "max_position_embeddings"),
    headDim,
    ropeTheta: positiveNumber(config, "rope_theta", 10000),
    normEpsilon: positiveNumber(config, "rms_norm_eps", 1e-6),
    sharedClassifier: config.tie_word_embeddings === true,
  };
}

/** Gpt2Config from a Hugging Face GPT-2 config.json. */
export function gpt2ConfigFromHuggingFace(source: HuggingFaceConfigSource): Gpt2Config {
  const config = parseConfig(source);
  if (!["gpt2", ""].includes(modelType(config))) {
    throw new ModelFormatError("config", "unsupported", `config.json: model_type ${JSON.stringify(config.model_type)} is not GPT-2`);
  }
  const activation = String(config.activation_function ?? "gelu_new");
  if (activation !== "gelu_new") {
    throw new ModelFormatError("config", "unsupported", `config.json: activation_function ${JSON.stringify(activation)} is not supported (gelu_new only)`);
  }
  const dim = integer(config, "n_embd");
  const heads = integer(config, "n_head");
  if (dim % heads !== 0) throw new ModelFormatError("config", "bad-metadata", `config.json: n_embd ${dim} is not a multiple of n_head ${heads}`);
  return {
    dim,
    hiddenDim: config.n_inner === null || config.n_inner === undefined ? 4 * dim : integer(config, "n_inner"),
    layers: integer(config, "n_layer"),
    heads,
    headDim: dim / heads,
    vocabSize: integer(config, "vocab_size"),
    maxSequenceLength: integer(config, "n_positions", typeof config.n_ctx === "number" ? config.n_ctx : undefined),
    normEpsilon: positiveNumber(config, "layer_norm_epsilon", 1e-5),
  };
}
