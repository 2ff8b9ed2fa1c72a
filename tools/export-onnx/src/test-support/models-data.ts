import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

// Test-only: real model files live outside the repo, at $KVPACK_MODELS_DATA or <repo>/../shared/models-data.
export const modelsDataDirectory = process.env.KVPACK_MODELS_DATA ?? fileURLToPath(new URL("../../../../../shared/models-data/", import.meta.url));

export function readModelsData(name: string): Uint8Array {
  return new Uint8Array(readFileSync(path.join(modelsDataDirectory, name)));
}

/** The fields of stories260K.reference.json these tests use (see SOURCES.md: an independent float64 run.c re-implementation). */
export interface ModelReference {
  readonly prompt_token_ids: number[];
  readonly steps: number;
  readonly greedy_token_ids: number[];
  readonly last_position_logits_for_prompt: number[];
}

export function readModelReference(name: string): ModelReference {
  return JSON.parse(readFileSync(path.join(modelsDataDirectory, name), "utf8")) as ModelReference;
}

/** Largest |a[i] − b[i]|; throws when the lengths differ. */
export function maxAbsDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new RangeError(`maxAbsDifference: lengths ${a.length} and ${b.length} differ`);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  return worst;
}
