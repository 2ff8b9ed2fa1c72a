import { ModelFormatError } from "../model/model-format-error.js";

type Json = Readonly<Record<string, unknown>>;

/** A model's generation defaults (generation_config.json, else config.json). */
export interface GenerationDefaults {
  readonly bosTokenId?: number;
  /** Every id that ends generation (`eos_token_id` may be one id or a list). */
  readonly eosTokenIds: readonly number[];
  readonly padTokenId?: number;
  /** Sampling defaults the model ships; absent = greedy / not declared. */
  readonly doSample?: boolean;
  readonly temperature?: number;
  readonly topK?: number;
  readonly topP?: number;
  readonly repetitionPenalty?: number;
  readonly maxNewTokens?: number;
}

function ids(value: unknown, file: string, key: string): number[] {
  if (value === undefined || value === null) return [];
  const list = Array.isArray(value) ? value : [value];
  for (const id of list) {
    if (!(typeof id === "number" && Number.isInteger(id) && id >= 0)) throw new ModelFormatError("model-folder", "bad-metadata", `${file}: ${key} must be a token id or a list of them, got ${JSON.stringify(value)}`);
  }
  return list as number[];
}

function optionalNumber(json: Json, file: string, key: string, integer = false): number | undefined {
  const value = json[key];
  if (value === undefined || value === null) return undefined;
  if (!(typeof value === "number" && Number.isFinite(value) && value >= 0 && (!integer || Number.isInteger(value)))) {
    throw new ModelFormatError("model-folder", "bad-metadata", `${file}: ${key} must be a non-negative ${integer ? "integer" : "number"}, got ${JSON.stringify(value)}`);
  }
  return value;
}

/** Reads generation_config.json (may be absent), falling back to config.json's token ids. */
export function readGenerationDefaults(generationConfig: Json | undefined, config: Json): GenerationDefaults {
  const source = generationConfig ?? {};
  const file = generationConfig ? "generation_config.json" : "config.json";
  const eos = ids(source.eos_token_id ?? config.eos_token_id, source.eos_token_id !== undefined ? "generation_config.json" : "config.json", "eos_token_id");
  const first = (key: string): number | undefined => ids(source[key] ?? config[key], file, key)[0];
  const defaults: Record<string, unknown> = { eosTokenIds: eos };
  const set = (name: keyof GenerationDefaults, value: unknown): void => {
    if (value !== undefined) defaults[name] = value;
  };
  set("bosTokenId", first("bos_token_id"));
  set("padTokenId", first("pad_token_id"));
  if (typeof source.do_sample === "boolean") defaults.doSample = source.do_sample;
  set("temperature", optionalNumber(source, file, "temperature"));
  set("topK", optionalNumber(source, file, "top_k", true));
  set("topP", optionalNumber(source, file, "top_p"));
  set("repetitionPenalty", optionalNumber(source, file, "repetition_penalty"));
  set("maxNewTokens", optionalNumber(source, file, "max_new_tokens", true));
  return defaults as unknown as GenerationDefaults;
}
