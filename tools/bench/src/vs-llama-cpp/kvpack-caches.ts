import type { CodecSpec } from "@kvpack/codecs";

/** The kvpack caches compared, by the name used in the table and JSON. */
export const kvpackCaches = ["dense fp16", "turboquant 6/4", "turboquant 4/4", "fibquant 3/3", "fibquant 2/2"] as const;

export function kvpackCacheSpecs(name: string, dimension: number): { keys: CodecSpec; values: CodecSpec } {
  switch (name) {
    case "dense fp16":
      return { keys: { kind: "fp16", dimension }, values: { kind: "fp16", dimension } };
    case "turboquant 6/4":
      return { keys: { kind: "turboquant", dimension, bits: 6 }, values: { kind: "turboquant", dimension, bits: 4 } };
    case "turboquant 4/4":
      return { keys: { kind: "turboquant", dimension, bits: 4 }, values: { kind: "turboquant", dimension, bits: 4 } };
    case "fibquant 3/3":
      return { keys: { kind: "fibquant", dimension, bits: 3, blockSize: 2 }, values: { kind: "fibquant", dimension, bits: 3, blockSize: 2 } };
    case "fibquant 2/2":
      return { keys: { kind: "fibquant", dimension, bits: 2, blockSize: 2 }, values: { kind: "fibquant", dimension, bits: 2, blockSize: 2 } };
    default:
      throw new Error(`unknown kvpack cache ${JSON.stringify(name)}; expected one of ${kvpackCaches.join(", ")}`);
  }
}

