import type { LayerAttention, LlamaArchitecture } from "../model/llama-model-description.js";
import type { LlamaConfig } from "../model/llama-weights.js";
import { ModelFormatError } from "../model/model-format-error.js";
import type { RopeDescription } from "../model/rope.js";

/**
 * What a Llama-family config.json says, mapped onto kvpack's model description: the configuration,
 * the rotation, each layer's attention and the architecture's switches. The weights come separately
 * (safetensors, hugging-face-llama-weights.ts).
 */
export interface HuggingFaceLlamaConfig {
  readonly architecture: LlamaArchitecture;
  readonly config: LlamaConfig;
  readonly rope: RopeDescription;
  readonly layerAttention: readonly LayerAttention[];
  readonly activation: "silu" | "gelu-tanh";
  readonly embeddingScale: number;
  readonly attentionScale: number;
  readonly attentionLogitSoftCap?: number;
  readonly finalLogitSoftCap?: number;
  /** q/k/v projections carry biases (Qwen2; `attention_bias` elsewhere). */
  readonly attentionBias: boolean;
  /** Whether tie_word_embeddings was declared (absent: the architecture's default). */
  readonly tiedEmbeddings: boolean;
}

/** Hugging Face `model_type` → kvpack architecture. */
const modelTypes: Readonly<Record<string, LlamaArchitecture>> = { llama: "llama", qwen2: "qwen2", qwen3: "qwen3", phi3: "phi3", gemma2: "gemma2" };

/** The `model_type`s loadModelFolder reads as Llama-family models. */
export const huggingFaceLlamaModelTypes: readonly string[] = Object.keys(modelTypes);

type Config = Readonly<Record<string, unknown>>;

function field(message: string): ModelFormatError {
  return new ModelFormatError("config", "bad-metadata", `config.json: ${message}`);
}

function unsupported(message: string): ModelFormatError {
  return new ModelFormatError("config", "unsupported", `config.json: ${message}`);
}

function integer(config: Config, key: string, fallback?: number): number {
  const value = config[key] ?? fallback;
  if (!(typeof value === "number" && Number.isInteger(value) && value > 0)) throw field(`${key} must be a positive integer, got ${JSON.stringify(config[key])}`);
  return value;
}

function positive(config: Config, key: string, fallback?: number): number {
  const value = config[key] ?? fallback;
  if (!(typeof value === "number" && Number.isFinite(value) && value > 0)) throw field(`${key} must be a positive number, got ${JSON.stringify(config[key])}`);
  return value;
}

function optionalPositive(config: Config, key: string): number | undefined {
  return config[key] === undefined || config[key] === null ? undefined : positive(config, key);
}

function boolean(config: Config, key: string, fallback: boolean): boolean {
  const value = config[key] ?? fallback;
  if (typeof value !== "boolean") throw field(`${key} must be true or false, got ${JSON.stringify(config[key])}`);
  return value;
}

/** rope_scaling → the description's scaling: llama3 and linear; other kinds (dynamic, yarn, longrope, su …) are refused. */
function ropeScaling(config: Config): RopeDescription["scaling"] {
  const scaling = config.rope_scaling as Config | null | undefined;
  if (scaling === undefined || scaling === null) return undefined;
  if (typeof scaling !== "object") throw field(`rope_scaling must be an object or null, got ${JSON.stringify(scaling)}`);
  const kind = scaling.rope_type ?? scaling.type;
  const where = (key: string): string => `rope_scaling.${key}`;
  const number = (key: string, fallback?: number): number => {
    const value = scaling[key] ?? fallback;
    if (!(typeof value === "number" && Number.isFinite(value) && value > 0)) throw field(`${where(key)} must be a positive number, got ${JSON.stringify(scaling[key])}`);
    return value;
  };
  if (kind === "default") return undefined;
  if (kind === "linear") return { kind: "linear", factor: number("factor") };
  if (kind === "llama3") {
    const scaled = {
      kind: "llama3" as const,
      factor: number("factor"),
      lowFrequencyFactor: number("low_freq_factor"),
      highFrequencyFactor: number("high_freq_factor"),
      originalContextLength: number("original_max_position_embeddings"),
    };
    if (!(scaled.factor >= 1 && scaled.highFrequencyFactor > scaled.lowFrequencyFactor)) {
      throw field(`rope_scaling (llama3) needs factor ≥ 1 and high_freq_factor > low_freq_factor, got ${JSON.stringify(scaling)}`);
    }
    return scaled;
  }
  throw unsupported(`rope_scaling.rope_type ${JSON.stringify(kind)} is not supported (llama3, linear or none)`);
}

function requireActivation(config: Config, key: string, allowed: string, fallback: string): void {
  const value = config[key] ?? fallback;
  if (value !== allowed) throw unsupported(`${key} ${JSON.stringify(value)} is not supported for model_type ${JSON.stringify(config.model_type)} (${allowed} only)`);
}

/** Per-layer attention from layer_types (newer configs) or the architecture's sliding-window rule. */
function layerAttention(config: Config, architecture: LlamaArchitecture, layers: number): LayerAttention[] {
  const full: LayerAttention = { kind: "full" };
  const windowSize = (): number => integer(config, "sliding_window");
  if (Array.isArray(config.layer_types)) {
    if (config.layer_types.length !== layers) throw field(`layer_types has ${config.layer_types.length} entries for num_hidden_layers ${layers}`);
    return config.layer_types.map((type, layer) => {
      if (type === "full_attention") return full;
      if (type === "sliding_attention") return { kind: "sliding-window", window: windowSize() };
      throw unsupported(`layer_types[${layer}] ${JSON.stringify(type)} is not supported`);
    });
  }
  const slidingFor = (isSliding: (layer: number) => boolean): LayerAttention[] => {
    const window = windowSize();
    return Array.from({ length: layers }, (_, layer) => (isSliding(layer) ? { kind: "sliding-window", window } : full));
  };
  switch (architecture) {
    case "gemma2":
      // Gemma 2 alternates: even layers slide, odd layers see everything.
      return slidingFor((layer) => layer % 2 === 0);
    case "qwen2":
    case "qwen3": {
      if (config.use_sliding_window !== true || config.sliding_window === null || config.sliding_window === undefined) break;
      const firstSliding = integer(config, "max_window_layers", layers);
      return slidingFor((layer) => layer >= firstSliding);
    }
    case "phi3":
      if (config.sliding_window === null || config.sliding_window === undefined) break;
      return slidingFor(() => true);
    default:
      break;
  }
  return Array.from({ length: layers }, () => full);
}

/** Reads a Llama-family config.json (model_type llama, qwen2, qwen3, phi3, gemma2); ModelFormatError naming the field otherwise. */
export function readHuggingFaceLlamaConfig(config: Config): HuggingFaceLlamaConfig {
  const modelType = config.model_type;
  const architecture = typeof modelType === "string" ? modelTypes[modelType] : undefined;
  if (architecture === undefined) {
    throw unsupported(`model_type ${JSON.stringify(modelType)} is not supported (${[...huggingFaceLlamaModelTypes, "gpt2"].join(", ")})`);
  }
  const dim = integer(config, "hidden_size");
  const heads = integer(config, "num_attention_heads");
  const kvHeads = integer(config, "num_key_value_heads", heads);
  const headDim = integer(config, "head_dim", Number.isInteger(dim / heads) ? dim / heads : undefined);
  if (heads % kvHeads !== 0) throw field(`num_attention_heads ${heads} must be a multiple of num_key_value_heads ${kvHeads}`);
  if (headDim % 2 !== 0) throw field(`head_dim ${headDim} must be even for RoPE`);
  if ((config.partial_rotary_factor ?? 1) !== 1) throw unsupported(`partial_rotary_factor ${JSON.stringify(config.partial_rotary_factor)} is not supported (1 only)`);
  if (config.mlp_bias === true) throw unsupported("mlp_bias true is not supported");
  const layers = integer(config, "num_hidden_layers");
  const gemma = architecture === "gemma2";
  if (gemma) requireActivation(config, "hidden_activation", "gelu_pytorch_tanh", String(config.hidden_act ?? "gelu_pytorch_tanh"));
  else requireActivation(config, "hidden_act", "silu", "silu");
  // Llama-style attention_bias also puts a bias on o_proj, which the description has no slot for.
  const attentionBias = architecture === "qwen2" || config.attention_bias === true;
  if (config.attention_bias === true && architecture !== "qwen2") throw unsupported(`attention_bias true is not supported for model_type ${JSON.stringify(modelType)} (its o_proj bias has no slot)`);
  const tiedEmbeddings = boolean(config, "tie_word_embeddings", gemma);
  const description: HuggingFaceLlamaConfig = {
    architecture,
    config: {
      dim,
      hiddenDim: integer(config, "intermediate_size"),
      layers,
      heads,
      kvHeads,
      vocabSize: integer(config, "vocab_size"),
      maxSequenceLength: integer(config, "max_position_embeddings"),
      headDim,
      ropeTheta: positive(config, "rope_theta", 10000),
      normEpsilon: positive(config, "rms_norm_eps", 1e-6),
      sharedClassifier: tiedEmbeddings,
    },
    // Llama weights are un-permuted to llama2.c's interleaved pairs on load (as GGUF stores them);
    // the others keep Hugging Face's rotate_half layout, which is NeoX style.
    rope: { style: architecture === "llama" ? "interleaved" : "neox", freqBase: positive(config, "rope_theta", 10000), ...scalingField(ropeScaling(config)) },
    layerAttention: layerAttention(config, architecture, layers),
    activation: gemma ? "gelu-tanh" : "silu",
    // Gemma 2 multiplies the embedding by √hidden_size in the activations' dtype (float32 here).
    embeddingScale: gemma ? Math.fround(Math.sqrt(dim)) : 1,
    attentionScale: gemma ? 1 / Math.sqrt(positive(config, "query_pre_attn_scalar", headDim)) : 1 / Math.sqrt(headDim),
    attentionBias,
    tiedEmbeddings,
  };
  const attentionLogitSoftCap = gemma ? optionalPositive(config, "attn_logit_softcapping") : undefined;
  const finalLogitSoftCap = gemma ? optionalPositive(config, "final_logit_softcapping") : undefined;
  return {
    ...description,
    ...(attentionLogitSoftCap === undefined ? {} : { attentionLogitSoftCap }),
    ...(finalLogitSoftCap === undefined ? {} : { finalLogitSoftCap }),
  };
}

function scalingField(scaling: RopeDescription["scaling"]): { scaling?: NonNullable<RopeDescription["scaling"]> } {
  return scaling === undefined ? {} : { scaling };
}
