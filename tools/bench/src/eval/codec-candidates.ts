import { createCodec, type CodecSpec } from "@kvpack/codecs";

export type CodecFamily = "fp16" | "int8" | "fibquant" | "turboquant" | "kivi" | "quarot" | "llama.cpp";

/** llama.cpp's KV cache types (`--cache-type-k/-v`), richest first. */
export const llamaCppKvTypes = ["q8_0", "q5_0", "q4_1", "q4_0"] as const;

/** A key/value codec pair evaluated as one cache configuration. */
export interface CacheConfiguration {
  readonly label: string;
  readonly family: CodecFamily;
  readonly keys: CodecSpec;
  readonly values: CodecSpec;
  /** All-in bits per cached element of full pages (codes + norms + means + scales + block headers), keys and values averaged. */
  readonly bitsPerElement: number;
  readonly keyBitsPerElement: number;
  readonly valueBitsPerElement: number;
}

function configuration(label: string, family: CodecFamily, keys: CodecSpec, values: CodecSpec, pageSize: number): CacheConfiguration {
  const keyBitsPerElement = createCodec(keys).bitsPerElement(pageSize);
  const valueBitsPerElement = createCodec(values).bitsPerElement(pageSize);
  return { label, family, keys, values, keyBitsPerElement, valueBitsPerElement, bitsPerElement: (keyBitsPerElement + valueBitsPerElement) / 2 };
}

function describe(spec: CodecSpec): string {
  switch (spec.kind) {
    case "fibquant":
      return `fq k${spec.blockSize} N${Math.round(2 ** (spec.blockSize * spec.bits))} ${spec.norm}${spec.center ? " c" : ""}`;
    case "turboquant":
      return `tq${spec.bits} ${spec.norm}${spec.center ? " c" : ""}`;
    case "kivi":
      return `kivi${spec.bits}`;
    case "quarot":
      return `int${spec.bits ?? 4}`;
    default:
      return spec.kind;
  }
}

export type NormFormat = "log8" | "log6" | "log4";

/** Frame options shared by both spherical codecs: keys centered, both rescaled (least-squares gain). */
function sphericalFrame(role: "key" | "value", norm: NormFormat) {
  return role === "key" ? { norm, center: true, rescale: true } : { norm, rescale: true };
}

/** The largest FibQuant codebook (block size k) whose all-in bits stay within `target`; undefined when none fits. */
function largestFibquantWithin(dimension: number, blockSize: number, role: "key" | "value", norm: NormFormat, target: number, pageSize: number, maximumSize: number): CodecSpec | undefined {
  const frame = sphericalFrame(role, norm);
  const framing = createCodec({ kind: "turboquant", dimension, bits: 1, ...frame }).bitsPerElement(pageSize) - 1;
  for (let size = Math.min(maximumSize, Math.floor(2 ** (blockSize * (target - framing)))); size >= 2; size--) {
    const spec: CodecSpec = { kind: "fibquant", dimension, blockSize, bits: Math.log2(size) / blockSize, ...frame };
    if (createCodec(spec).bitsPerElement(pageSize) <= target + 1e-9) return spec;
  }
  return undefined;
}

/**
 * Every candidate of each family whose all-in bits (keys and values averaged) stay within `target`.
 * Keys are more sensitive than values (softmax amplifies score errors), so each family may move bits
 * from values to keys (KVTuner-style split); the evaluation picks each family's best candidate on a
 * calibration set. Both spherical codecs (FibQuant, TurboQuant) get the same frame: keys centered on
 * the block mean, least-squares gains, log8, log6 or log4 norms.
 */
export interface CandidateGrid {
  /** Bits moved from values to keys (FibQuant's dense rate axis allows any fraction). */
  readonly keyShifts: readonly number[];
  readonly norms: readonly NormFormat[];
}

/** Key shifts every 1/16 bit from 0.25 to 1 (at d = 8 and 32-row pages, 1/16 bit is 2 bytes per block), then 1.25 and 1.5. */
export const defaultCandidateGrid: CandidateGrid = {
  keyShifts: [...Array.from({ length: 13 }, (_, index) => 0.25 + index / 16), 1.25, 1.5],
  norms: ["log8", "log6", "log4"],
};

export function candidatesAtBudget(dimension: number, target: number, pageSize: number, grid: CandidateGrid = defaultCandidateGrid): CacheConfiguration[] {
  const found: CacheConfiguration[] = [];
  const labels = new Set<string>();
  const keep = (candidate: CacheConfiguration) => {
    // Neighbouring shifts often land on the same pair (byte rounding, codebook caps): keep one.
    if (candidate.bitsPerElement <= target + 1e-9 && !labels.has(candidate.label)) {
      labels.add(candidate.label);
      found.push(candidate);
    }
  };
  for (const norm of grid.norms) {
    for (const blockSize of [2, 4]) {
      if (dimension % blockSize !== 0) continue;
      const maximumSize = blockSize === 2 ? 4096 : 512;
      for (const shift of grid.keyShifts) {
        const keys = largestFibquantWithin(dimension, blockSize, "key", norm, target + shift, pageSize, maximumSize);
        if (!keys) continue;
        // Whatever the key's byte rounding leaves unspent goes to the values: the largest value codebook that keeps the pair within target.
        const values = largestFibquantWithin(dimension, blockSize, "value", norm, 2 * target - createCodec(keys).bitsPerElement(pageSize), pageSize, maximumSize);
        if (values) keep(configuration(`K ${describe(keys)} / V ${describe(values)}`, "fibquant", keys, values, pageSize));
      }
    }
    for (let keyBits = 1; keyBits <= 8; keyBits++) {
      for (let valueBits = 1; valueBits <= keyBits; valueBits++) {
        const keys: CodecSpec = { kind: "turboquant", dimension, bits: keyBits, ...sphericalFrame("key", norm) };
        const values: CodecSpec = { kind: "turboquant", dimension, bits: valueBits, ...sphericalFrame("value", norm) };
        const candidate = configuration(`K ${describe(keys)} / V ${describe(values)}`, "turboquant", keys, values, pageSize);
        // Only the richest splits: one more value bit must break the budget.
        const richer = valueBits < 8 ? createCodec({ ...values, bits: valueBits + 1 }).bitsPerElement(pageSize) : Infinity;
        if ((candidate.keyBitsPerElement + richer) / 2 > target + 1e-9) keep(candidate);
      }
    }
  }
  for (const keyBits of [2, 4] as const) {
    for (const valueBits of [2, 4] as const) {
      keep(configuration(`K kivi${keyBits} / V kivi${valueBits}`, "kivi", { kind: "kivi", dimension, bits: keyBits, role: "key" }, { kind: "kivi", dimension, bits: valueBits, role: "value" }, pageSize));
    }
  }
  for (const keyBits of [4, 3, 2] as const) {
    for (const valueBits of [4, 3, 2] as const) {
      if (valueBits > keyBits) continue;
      keep(configuration(`K int${keyBits} / V int${valueBits}`, "quarot", { kind: "quarot", dimension, bits: keyBits }, { kind: "quarot", dimension, bits: valueBits }, pageSize));
    }
  }
  // llama.cpp sets K and V types independently; keys get at least the values' type, as with the other families.
  llamaCppKvTypes.forEach((keyType, keyIndex) => {
    for (const valueType of llamaCppKvTypes.slice(keyIndex)) {
      keep(configuration(`K ${keyType} / V ${valueType}`, "llama.cpp", { kind: keyType, dimension }, { kind: valueType, dimension }, pageSize));
    }
  });
  return found;
}

/**
 * fp16 and int8 baselines, and llama.cpp's four cache types for K and V alike. Those cost ≥ 4.5 bits all-in
 * (more at head_dim 8 or 16, where a row is one short block with its own fp16 scale), above every budget, so
 * they are reported at their own rate rather than chosen at a budget.
 */
export function baselineConfigurations(dimension: number, pageSize: number): CacheConfiguration[] {
  return [
    configuration("fp16", "fp16", { kind: "fp16", dimension }, { kind: "fp16", dimension }, pageSize),
    configuration("int8", "int8", { kind: "int8", dimension }, { kind: "int8", dimension }, pageSize),
    ...llamaCppKvTypes.map((type) => configuration(`llama.cpp ${type}`, "llama.cpp", { kind: type, dimension }, { kind: type, dimension }, pageSize)),
  ];
}
