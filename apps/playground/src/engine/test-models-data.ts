import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** KVPACK_MODELS_DATA, else `<repo>/../shared/models-data` (tests only; the app bundles via vite.config). */
export const modelsDataDirectory = process.env.KVPACK_MODELS_DATA ?? resolve(fileURLToPath(new URL(".", import.meta.url)), "../../../../../shared/models-data");

export function readModelsData(name: string): ArrayBuffer {
  const bytes = readFileSync(join(modelsDataDirectory, name));
  return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
}

export interface StoriesReference {
  readonly prompt: string;
  readonly steps: number;
  readonly prompt_token_ids: number[];
  readonly greedy_token_ids: number[];
  readonly greedy_text: string;
  readonly last_position_logits_for_prompt: number[];
}

export function readStoriesReference(): StoriesReference {
  return JSON.parse(new TextDecoder().decode(readModelsData("stories260K.reference.json"))) as StoriesReference;
}
