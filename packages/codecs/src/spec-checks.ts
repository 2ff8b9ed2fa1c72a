import { CodecError } from "./codec-error.js";
import type { NormFormat } from "./codec.js";

export const maxDimension = 65536;
export const defaultSeed = 0x6b7670;

export function checkDimension(kind: string, dimension: number): void {
  if (!Number.isInteger(dimension) || dimension < 1 || dimension > maxDimension) {
    throw new CodecError("unsupported-dimension", `${kind}: dimension must be an integer in [1, ${maxDimension}], got ${dimension}`);
  }
}

export function checkNormFormat(kind: string, norm: NormFormat | undefined): NormFormat {
  const format = norm ?? "fp16";
  if (!["fp32", "fp16", "bf16", "log8", "log6", "log4"].includes(format)) {
    throw new CodecError("invalid-spec", `${kind}: norm must be "fp32", "fp16", "bf16", "log8", "log6" or "log4", got ${String(norm)}`);
  }
  return format;
}

export function checkSeed(kind: string, seed: number | undefined): number {
  const value = seed ?? defaultSeed;
  if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) {
    throw new CodecError("invalid-spec", `${kind}: seed must be an integer in [0, 2^32), got ${seed}`);
  }
  return value;
}

/** Optional boolean spec flags (center, rescale). */
export function checkFlag(kind: string, name: string, value: boolean | undefined): boolean {
  if (value !== undefined && typeof value !== "boolean") {
    throw new CodecError("invalid-spec", `${kind}: ${name} must be a boolean, got ${String(value)}`);
  }
  return value ?? false;
}
