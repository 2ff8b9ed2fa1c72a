export { orBits, readBits, readWideBits, writeBits, writeWideBits } from "./bit-io.js";
export { BitpackError } from "./bitpack-error.js";
export type { BitpackErrorCode } from "./bitpack-error.js";
export { CodeLayout, maxGroupBits, maxRadix } from "./code-layout.js";
export type { CodeLayoutOptions } from "./code-layout.js";
export {
  codeLayout,
  packCodes,
  packedBitLength,
  packedByteLength,
  packFixedWidth,
  radixForWidth,
  readCode,
  unpackCodes,
  unpackFixedWidth,
} from "./packed-codes.js";
