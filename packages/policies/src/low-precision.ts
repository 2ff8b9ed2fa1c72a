import type { CodecSpec } from "@kvpack/codecs";

/** Codec specs for one head dimension: how policies name "the low-precision codec" independent of the model. */
export type CodecSpecFor = (dimension: number) => CodecSpec;

/** Default low precision for demoted tokens: 2-bit TurboQuant keys and values. */
export const twoBitTurboquant: CodecSpecFor = (dimension) => ({ kind: "turboquant", dimension, bits: 2 });
