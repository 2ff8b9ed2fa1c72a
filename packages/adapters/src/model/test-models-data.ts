import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import path from "node:path";

// Test-only helper (not exported from the package): real model files live outside the repo,
// at $KVPACK_MODELS_DATA or <repo>/../shared/models-data.
export const modelsDataDirectory = process.env.KVPACK_MODELS_DATA ?? fileURLToPath(new URL("../../../../../shared/models-data/", import.meta.url));

export function readModelsData(name: string): Uint8Array {
  return new Uint8Array(readFileSync(path.join(modelsDataDirectory, name)));
}

export function readModelsDataJson<T>(name: string): T {
  return JSON.parse(readFileSync(path.join(modelsDataDirectory, name), "utf8")) as T;
}

export interface ModelReference {
  readonly config: { dim: number; hid: number; nl: number; nh: number; nkv: number; vs: number; sl: number; hs: number };
  readonly prompt: string;
  readonly prompt_token_ids: number[];
  readonly steps: number;
  readonly greedy_token_ids: number[];
  readonly greedy_text: string;
  readonly last_position_logits_for_prompt: number[];
  readonly val_story_1: { n_tokens: number; token_ids: number[]; mean_nll: number };
}

/** Stories of tinystories-valid-first600.txt split on <|endoftext|>, trimmed; row 0 (a partial story) included at index 0. */
export function readTinyStories(): string[] {
  return readFileSync(path.join(modelsDataDirectory, "tinystories-valid-first600.txt"), "utf8")
    .split("<|endoftext|>")
    .map((story) => story.trim());
}
