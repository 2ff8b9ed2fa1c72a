import type { CodecKind, CodecSpec } from "@kvpack/codecs";

/** What the person picked in the compression controls. */
export interface CompressionSettings {
  readonly codec: CodecKind;
  /** Bits per coordinate for keys (fixed codecs ignore it). */
  readonly keyBits: number;
  /** Bits per coordinate for values. */
  readonly valueBits: number;
  /** FibQuant vector block length. */
  readonly blockSize: number;
  /** Eviction policy name, "none" keeps every token. */
  readonly policy: string;
  /** Token budget for the policy (ignored by "none"). */
  readonly budget: number;
  /** Subtract the per-channel mean of each key block before FibQuant/TurboQuant (real keys carry offsets). */
  readonly centerKeys?: boolean;
}

/** Rates each codec accepts, in bits per coordinate (the first is its default). */
export const codecRates: Readonly<Record<CodecKind, readonly number[]>> = {
  fibquant: [2, 0.25, 0.5, 0.75, 1, 1.25, 1.5, 1.75, 2.5, 3, 4],
  turboquant: [3, 1, 2, 4],
  kivi: [2, 4],
  quarot: [4, 3, 2],
  int8: [8],
  fp16: [16],
  fp32: [32],
};

export const codecKinds: readonly CodecKind[] = ["fp16", "fibquant", "turboquant", "kivi", "quarot", "int8", "fp32"];

/** What the page opens on: a compressed codec, so the memory panel shows compression at first glance. */
export const defaultCompression = { codec: "turboquant", keyBits: 4, valueBits: 4 } as const satisfies Pick<CompressionSettings, "codec" | "keyBits" | "valueBits">;

/** Retention policies offered in the page (per KV head token budget), with their labels. */
export const policyLabels = {
  "streaming-llm": "StreamingLLM (sinks + recent)",
  h2o: "H2O (heavy hitters)",
  tova: "TOVA (drop least attended)",
  snapkv: "SnapKV (prompt-guided)",
} as const;

export type PolicyName = keyof typeof policyLabels;

export const fibQuantBlockSizes = [2, 4, 8] as const;

/** FibQuant codebooks have round(2^(blockSize·bits)) codewords; beyond this the codebook gets too big for a page. */
export const maximumFibQuantCodebookBits = 16;

export class SettingsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SettingsError";
  }
}

/** The CodecSpec for keys or values of one KV head (`dimension` = head size). */
/** Checks the policy budget (tokens kept per KV head). */
export function checkBudget(settings: CompressionSettings): void {
  if (settings.policy === "none") return;
  if (!(settings.policy in policyLabels)) throw new SettingsError(`Unknown policy "${settings.policy}".`);
  if (!(Number.isInteger(settings.budget) && settings.budget >= 4)) {
    throw new SettingsError(`The token budget must be a whole number of at least 4 tokens, got ${settings.budget}.`);
  }
}

export function codecSpecFor(settings: CompressionSettings, role: "key" | "value", dimension: number): CodecSpec {
  const bits = role === "key" ? settings.keyBits : settings.valueBits;
  if (!(Number.isFinite(bits) && bits > 0)) throw new SettingsError(`The ${role} rate must be a positive number of bits, got ${bits}.`);
  switch (settings.codec) {
    case "fibquant": {
      if (dimension % settings.blockSize !== 0) {
        throw new SettingsError(`FibQuant block size ${settings.blockSize} does not divide the head size ${dimension}; pick a block size that does.`);
      }
      if (settings.blockSize * bits > maximumFibQuantCodebookBits) {
        throw new SettingsError(
          `FibQuant with block size ${settings.blockSize} at ${bits} bits needs 2^${settings.blockSize * bits} codewords; keep block size × bits ≤ ${maximumFibQuantCodebookBits}.`,
        );
      }
      return { kind: "fibquant", dimension, bits, blockSize: settings.blockSize, norm: "fp16", seed: 1, ...centering(settings, role) };
    }
    case "turboquant":
      return { kind: "turboquant", dimension, bits, norm: "fp16", seed: 1, ...centering(settings, role) };
    case "kivi":
      if (bits !== 2 && bits !== 4) throw new SettingsError(`KIVI supports 2 or 4 bits, got ${bits}.`);
      return { kind: "kivi", dimension, bits, role };
    case "quarot":
      if (bits !== 2 && bits !== 3 && bits !== 4) throw new SettingsError(`QuaRot supports 2, 3 or 4 bits, got ${bits}.`);
      return { kind: "quarot", dimension, bits, seed: 1 };
    case "int8":
      return { kind: "int8", dimension };
    case "fp16":
      return { kind: "fp16", dimension };
    case "fp32":
      return { kind: "fp32", dimension };
  }
}

function centering(settings: CompressionSettings, role: "key" | "value"): { center?: true } {
  return role === "key" && settings.centerKeys ? { center: true } : {};
}

/** Short human label, e.g. "FibQuant k=2 · K 1.5 b / V 0.5 b". */
export function compressionLabel(settings: CompressionSettings): string {
  const names: Record<CodecKind, string> = {
    fibquant: "FibQuant",
    turboquant: "TurboQuant",
    kivi: "KIVI",
    quarot: "QuaRot",
    int8: "int8",
    fp16: "fp16",
    fp32: "fp32",
  };
  const fixed = settings.codec === "int8" || settings.codec === "fp16" || settings.codec === "fp32";
  const rates = fixed ? "" : ` · K ${settings.keyBits} b / V ${settings.valueBits} b`;
  const block = settings.codec === "fibquant" ? ` k=${settings.blockSize}` : "";
  const centered = settings.centerKeys && (settings.codec === "fibquant" || settings.codec === "turboquant") ? " · centred K" : "";
  const policy = settings.policy !== "none" ? ` · ${settings.policy} ${settings.budget} tok` : "";
  return `${names[settings.codec]}${block}${rates}${centered}${policy}`;
}
