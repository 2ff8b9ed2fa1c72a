export type { Codec, CodecKind, CodecSpec, EncodedBlock, NormFormat, PreparedQuery } from "./codec.js";
