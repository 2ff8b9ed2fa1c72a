import type { CodecSpec } from "@kvpack/codecs";

/** Codec specs for one head dimension: how policies name "the low-precision codec" independent of the model. */
export type CodecSpecFor = (dimension: number) => CodecSpec;

/**
 * Default low precision for demoted keys: 2-bit KIVI (per-channel over token groups). At small
 * head dimensions it stays usable where 2-bit rotation codecs do not (stories260K, d = 8: mean NLL
 * 1.54 vs 3.59 for 2-bit TurboQuant, dense ≈ 1.30).
 */
export const twoBitKiviKeys: CodecSpecFor = (dimension) => ({ kind: "kivi", dimension, bits: 2, role: "key" });

/** Default low precision for demoted values: 2-bit KIVI, per token. */
export const twoBitKiviValues: CodecSpecFor = (dimension) => ({ kind: "kivi", dimension, bits: 2, role: "value" });
