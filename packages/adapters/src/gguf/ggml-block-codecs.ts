import type { GgmlBlockCodec } from "./ggml-block-codec.js";
import { iq4_nl, iq4_xs } from "./ggml-iq4.js";
import { q4_0, q4_1, q5_0, q5_1, q8_0 } from "./ggml-legacy-quants.js";
import { q2_K } from "./ggml-q2-k.js";
import { q3_K } from "./ggml-q3-k.js";
import { q4_K } from "./ggml-q4-k.js";
import { q5_K } from "./ggml-q5-k.js";
import { q6_K } from "./ggml-q6-k.js";
import { q8_K } from "./ggml-q8-k.js";
import type { GgmlTypeName } from "./gguf-types.js";

/** The block-quantized ggml types by name (F32/F16/BF16 are plain element arrays and not listed). */
export const ggmlBlockCodecs: Partial<Record<GgmlTypeName, GgmlBlockCodec>> = {
  Q4_0: q4_0,
  Q4_1: q4_1,
  Q5_0: q5_0,
  Q5_1: q5_1,
  Q8_0: q8_0,
  Q2_K: q2_K,
  Q3_K: q3_K,
  Q4_K: q4_K,
  Q5_K: q5_K,
  Q6_K: q6_K,
  Q8_K: q8_K,
  IQ4_NL: iq4_nl,
  IQ4_XS: iq4_xs,
};
