import { createCodec, type Codec, type CodecSpec } from "@kvpack/codecs";

/** A key/value codec pair evaluated as one cache configuration. */
export interface CacheConfiguration {
  readonly label: string;
  readonly family: "fp16" | "int8" | "fibquant" | "turboquant" | "kivi" | "quarot";
  readonly keys: CodecSpec;
  readonly values: CodecSpec;
  /** All-in bits per cached element of full pages (codes + norms + scales + block headers), keys and values averaged. */
  readonly bitsPerElement: number;
}

function allInBits(keys: Codec, values: Codec, pageSize: number): number {
  return (keys.bitsPerElement(pageSize) + values.bitsPerElement(pageSize)) / 2;
}

function configuration(label: string, family: CacheConfiguration["family"], keys: CodecSpec, values: CodecSpec, pageSize: number): CacheConfiguration {
  return { label, family, keys, values, bitsPerElement: allInBits(createCodec(keys), createCodec(values), pageSize) };
}

/**
 * The richest configuration of each codec family whose all-in bits stay within `target`.
 * FibQuant spends whatever the norm and header leave on codes: N = the largest codebook that fits
 * (rates are a dense axis), for block sizes 2 and 4. Families that cannot reach the budget are absent.
 */
export function configurationsAtBudget(dimension: number, target: number, pageSize: number): CacheConfiguration[] {
  const found: CacheConfiguration[] = [];
  // Norm (log8) and block header cost: measured on the 1-bit scalar codec of the same frame.
  const overhead = createCodec({ kind: "turboquant", dimension, bits: 1, norm: "log8" }).bitsPerElement(pageSize) - 1;
  for (const blockSize of [2, 4]) {
    if (dimension % blockSize !== 0) continue;
    let size = Math.floor(2 ** (blockSize * (target - overhead)));
    for (; size >= 2; size--) {
      if (size > 4096) continue;
      const spec: CodecSpec = { kind: "fibquant", dimension, blockSize, bits: Math.log2(size) / blockSize, norm: "log8" };
      const codec = createCodec(spec);
      if (codec.bitsPerElement(pageSize) <= target + 1e-9) {
        found.push(configuration(`fibquant k=${blockSize} N=${size}`, "fibquant", spec, spec, pageSize));
        break;
      }
    }
  }
  for (let bits = 8; bits >= 1; bits--) {
    const spec: CodecSpec = { kind: "turboquant", dimension, bits, norm: "log8" };
    const candidate = configuration(`turboquant b=${bits}`, "turboquant", spec, spec, pageSize);
    if (candidate.bitsPerElement <= target + 1e-9) {
      found.push(candidate);
      break;
    }
  }
  for (const bits of [4, 2] as const) {
    const candidate = configuration(`kivi-${bits}`, "kivi", { kind: "kivi", dimension, bits, role: "key" }, { kind: "kivi", dimension, bits, role: "value" }, pageSize);
    if (candidate.bitsPerElement <= target + 1e-9) {
      found.push(candidate);
      break;
    }
  }
  for (const bits of [4, 3, 2] as const) {
    const spec: CodecSpec = { kind: "quarot", dimension, bits };
    const candidate = configuration(`quarot int${bits}`, "quarot", spec, spec, pageSize);
    if (candidate.bitsPerElement <= target + 1e-9) {
      found.push(candidate);
      break;
    }
  }
  return found;
}

/** fp16 and int8 baselines. */
export function baselineConfigurations(dimension: number, pageSize: number): CacheConfiguration[] {
  return [
    configuration("fp16", "fp16", { kind: "fp16", dimension }, { kind: "fp16", dimension }, pageSize),
    configuration("int8", "int8", { kind: "int8", dimension }, { kind: "int8", dimension }, pageSize),
  ];
}
