import type { Codec, CodecSpec } from "./codec.js";
import { CodecError } from "./codec-error.js";
import { FibquantCodec } from "./fibquant-codec.js";
import { GgmlCodec } from "./ggml-codec.js";
import { Fp16Codec, Fp32Codec, Int8Codec } from "./float-codecs.js";
import { KiviCodec } from "./kivi-codec.js";
import { QuarotCodec } from "./quarot-codec.js";
import { TurboquantCodec } from "./turboquant-codec.js";

/**
 * Builds the codec a {@link CodecSpec} describes. Same spec (after defaults) → same `codecId` and the
 * same bytes, so blocks written by one process decode in another.
 */
export function createCodec(spec: CodecSpec): Codec {
  if (typeof spec !== "object" || spec === null) throw new CodecError("invalid-spec", "codec spec must be an object");
  switch (spec.kind) {
    case "fibquant":
      return new FibquantCodec(spec);
    case "turboquant":
      return new TurboquantCodec(spec);
    case "kivi":
      return new KiviCodec(spec);
    case "quarot":
      return new QuarotCodec(spec);
    case "int8":
      return new Int8Codec(spec.dimension);
    case "fp16":
      return new Fp16Codec(spec.dimension);
    case "fp32":
      return new Fp32Codec(spec.dimension);
    case "q8_0":
    case "q4_0":
    case "q4_1":
    case "q5_0":
      return new GgmlCodec(spec);
    default:
      throw new CodecError("invalid-spec", `unknown codec kind ${String((spec as { kind?: unknown }).kind)}`);
  }
}
