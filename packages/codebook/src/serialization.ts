import { CodebookError } from "./codebook-error.js";
import { scalarCodebookFormatVersion, type ScalarCodebook } from "./scalar-codebook.js";
import { vectorCodebookFormatVersion, type VectorCodebook } from "./vector-codebook.js";

/**
 * Binary layout (little-endian):
 *   header, 16 bytes: magic "KVCB", u16 container version, u8 kind (1 vector, 2 scalar), u8 0,
 *                     u32 payload length, u32 CRC-32 of the payload;
 *   vector payload:   u16 formatVersion, u16 0, u32 sourceDimension, u32 blockSize, u32 size, u32 seed,
 *                     f64 bitsPerCoordinate, f64 distortion, f32 × size·blockSize codewords;
 *   scalar payload:   u16 formatVersion, u16 0, u32 sourceDimension, u32 bits, u32 0, f64 distortion,
 *                     f32 × 2^bits levels, f32 × (2^bits − 1) thresholds.
 */
export const codebookMagic = "KVCB";
export const codebookContainerVersion = 1;
const headerBytes = 16;
const vectorFixedBytes = 36;
const scalarFixedBytes = 24;
const kindVector = 1;
const kindScalar = 2;

export function serializeCodebook(codebook: VectorCodebook | ScalarCodebook): Uint8Array {
  const payload = codebook.kind === "vector" ? vectorPayload(codebook) : codebook.kind === "scalar" ? scalarPayload(codebook) : undefined;
  if (payload === undefined) throw new CodebookError("invalid-argument", `unknown codebook kind ${String((codebook as { kind?: unknown }).kind)}`);
  const bytes = new Uint8Array(headerBytes + payload.length);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < 4; i++) bytes[i] = codebookMagic.charCodeAt(i);
  view.setUint16(4, codebookContainerVersion, true);
  view.setUint8(6, codebook.kind === "vector" ? kindVector : kindScalar);
  view.setUint8(7, 0);
  view.setUint32(8, payload.length, true);
  view.setUint32(12, crc32(payload), true);
  bytes.set(payload, headerBytes);
  return bytes;
}

function vectorPayload(codebook: VectorCodebook): Uint8Array {
  const { codewords, size, blockSize } = codebook;
  if (codewords.length !== size * blockSize) {
    throw new CodebookError("invalid-argument", `codewords hold ${codewords.length} values, expected size × blockSize = ${size * blockSize}`);
  }
  const bytes = new Uint8Array(vectorFixedBytes + 4 * codewords.length);
  const view = new DataView(bytes.buffer);
  view.setUint16(0, codebook.formatVersion, true);
  view.setUint32(4, codebook.sourceDimension, true);
  view.setUint32(8, blockSize, true);
  view.setUint32(12, size, true);
  view.setUint32(16, codebook.seed >>> 0, true);
  view.setFloat64(20, codebook.bitsPerCoordinate, true);
  view.setFloat64(28, codebook.distortion, true);
  for (let i = 0; i < codewords.length; i++) view.setFloat32(vectorFixedBytes + 4 * i, codewords[i], true);
  return bytes;
}

function scalarPayload(codebook: ScalarCodebook): Uint8Array {
  const levelCount = 2 ** codebook.bits;
  if (codebook.levels.length !== levelCount || codebook.thresholds.length !== levelCount - 1) {
    throw new CodebookError("invalid-argument", `a ${codebook.bits}-bit scalar codebook needs ${levelCount} levels and ${levelCount - 1} thresholds`);
  }
  const bytes = new Uint8Array(scalarFixedBytes + 4 * (2 * levelCount - 1));
  const view = new DataView(bytes.buffer);
  view.setUint16(0, codebook.formatVersion, true);
  view.setUint32(4, codebook.sourceDimension, true);
  view.setUint32(8, codebook.bits, true);
  view.setFloat64(16, codebook.distortion, true);
  for (let i = 0; i < levelCount; i++) view.setFloat32(scalarFixedBytes + 4 * i, codebook.levels[i], true);
  for (let i = 0; i < levelCount - 1; i++) view.setFloat32(scalarFixedBytes + 4 * (levelCount + i), codebook.thresholds[i], true);
  return bytes;
}

export function deserializeCodebook(bytes: Uint8Array): VectorCodebook | ScalarCodebook {
  if (!(bytes instanceof Uint8Array) || bytes.length < headerBytes) throw formatError("too short for a codebook header");
  for (let i = 0; i < 4; i++) if (bytes[i] !== codebookMagic.charCodeAt(i)) throw formatError("bad magic (not a kvpack codebook)");
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const containerVersion = view.getUint16(4, true);
  if (containerVersion !== codebookContainerVersion) {
    throw new CodebookError("unsupported-version", `codebook container version ${containerVersion} is not supported (expected ${codebookContainerVersion})`);
  }
  const kind = view.getUint8(6);
  const payloadLength = view.getUint32(8, true);
  if (bytes.length !== headerBytes + payloadLength) throw formatError(`length ${bytes.length} does not match header (${headerBytes + payloadLength})`);
  const payload = bytes.subarray(headerBytes);
  if (crc32(payload) !== view.getUint32(12, true)) throw formatError("checksum mismatch (corrupt codebook)");
  const payloadView = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  if (kind === kindVector) return readVector(payloadView);
  if (kind === kindScalar) return readScalar(payloadView);
  throw formatError(`unknown codebook kind ${kind}`);
}

function readVector(view: DataView): VectorCodebook {
  if (view.byteLength < vectorFixedBytes) throw formatError("vector payload too short");
  const formatVersion = view.getUint16(0, true);
  if (formatVersion !== vectorCodebookFormatVersion) {
    throw new CodebookError("unsupported-version", `vector codebook format ${formatVersion} is not supported (expected ${vectorCodebookFormatVersion})`);
  }
  const sourceDimension = view.getUint32(4, true);
  const blockSize = view.getUint32(8, true);
  const size = view.getUint32(12, true);
  const seed = view.getUint32(16, true);
  const bitsPerCoordinate = view.getFloat64(20, true);
  const distortion = view.getFloat64(28, true);
  if (blockSize < 1 || blockSize > sourceDimension || size < 1) throw formatError("invalid vector codebook dimensions");
  if (view.byteLength !== vectorFixedBytes + 4 * size * blockSize) throw formatError("vector payload length does not match size × blockSize");
  const codewords = new Float32Array(size * blockSize);
  for (let i = 0; i < codewords.length; i++) {
    codewords[i] = view.getFloat32(vectorFixedBytes + 4 * i, true);
    if (!Number.isFinite(codewords[i])) throw formatError(`codeword value ${i} is not finite`);
  }
  return { kind: "vector", formatVersion, sourceDimension, blockSize, size, bitsPerCoordinate, codewords, seed, distortion };
}

function readScalar(view: DataView): ScalarCodebook {
  if (view.byteLength < scalarFixedBytes) throw formatError("scalar payload too short");
  const formatVersion = view.getUint16(0, true);
  if (formatVersion !== scalarCodebookFormatVersion) {
    throw new CodebookError("unsupported-version", `scalar codebook format ${formatVersion} is not supported (expected ${scalarCodebookFormatVersion})`);
  }
  const sourceDimension = view.getUint32(4, true);
  const bits = view.getUint32(8, true);
  const distortion = view.getFloat64(16, true);
  if (bits < 1 || bits > 24) throw formatError(`invalid scalar bits ${bits}`);
  const levelCount = 2 ** bits;
  if (view.byteLength !== scalarFixedBytes + 4 * (2 * levelCount - 1)) throw formatError("scalar payload length does not match 2^bits");
  const levels = new Float32Array(levelCount);
  const thresholds = new Float32Array(levelCount - 1);
  for (let i = 0; i < levelCount; i++) levels[i] = view.getFloat32(scalarFixedBytes + 4 * i, true);
  for (let i = 0; i < levelCount - 1; i++) thresholds[i] = view.getFloat32(scalarFixedBytes + 4 * (levelCount + i), true);
  return { kind: "scalar", formatVersion, sourceDimension, bits, levels, thresholds, distortion };
}

function formatError(message: string): CodebookError {
  return new CodebookError("invalid-format", message);
}

let crcTable: Uint32Array | undefined;

/** CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320). */
export function crc32(bytes: Uint8Array): number {
  if (crcTable === undefined) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  let crc = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) crc = crcTable[(crc ^ bytes[i]) & 0xff] ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

/** Plain-JSON form of a codebook (arrays of numbers; float32 values survive the round trip exactly). */
export interface CodebookJson {
  format: "kvpack-codebook";
  containerVersion: number;
  kind: "vector" | "scalar";
  formatVersion: number;
  sourceDimension: number;
  blockSize?: number;
  size?: number;
  bitsPerCoordinate?: number;
  seed?: number;
  bits?: number;
  distortion: number;
  codewords?: number[];
  levels?: number[];
  thresholds?: number[];
}

export function codebookToJson(codebook: VectorCodebook | ScalarCodebook): CodebookJson {
  if (codebook.kind === "vector") {
    return {
      format: "kvpack-codebook",
      containerVersion: codebookContainerVersion,
      kind: "vector",
      formatVersion: codebook.formatVersion,
      sourceDimension: codebook.sourceDimension,
      blockSize: codebook.blockSize,
      size: codebook.size,
      bitsPerCoordinate: codebook.bitsPerCoordinate,
      seed: codebook.seed,
      distortion: codebook.distortion,
      codewords: Array.from(codebook.codewords),
    };
  }
  return {
    format: "kvpack-codebook",
    containerVersion: codebookContainerVersion,
    kind: "scalar",
    formatVersion: codebook.formatVersion,
    sourceDimension: codebook.sourceDimension,
    bits: codebook.bits,
    distortion: codebook.distortion,
    levels: Array.from(codebook.levels),
    thresholds: Array.from(codebook.thresholds),
  };
}

/** Parses `codebookToJson` output (an object or its JSON text); validates like `deserializeCodebook`. */
export function codebookFromJson(value: CodebookJson | string): VectorCodebook | ScalarCodebook {
  const json = (typeof value === "string" ? JSON.parse(value) : value) as Partial<CodebookJson>;
  if (json === null || typeof json !== "object" || json.format !== "kvpack-codebook") throw formatError("not a kvpack codebook JSON object");
  if (json.containerVersion !== codebookContainerVersion) {
    throw new CodebookError("unsupported-version", `codebook container version ${String(json.containerVersion)} is not supported`);
  }
  // Re-use the binary validator: build the object, serialize, and read it back.
  if (json.kind === "vector") {
    const codewords = numberArray(json.codewords, "codewords");
    const codebook: VectorCodebook = {
      kind: "vector",
      formatVersion: integerField(json.formatVersion, "formatVersion"),
      sourceDimension: integerField(json.sourceDimension, "sourceDimension"),
      blockSize: integerField(json.blockSize, "blockSize"),
      size: integerField(json.size, "size"),
      bitsPerCoordinate: numberField(json.bitsPerCoordinate, "bitsPerCoordinate"),
      seed: integerField(json.seed, "seed"),
      distortion: numberField(json.distortion, "distortion"),
      codewords: Float32Array.from(codewords),
    };
    return deserializeCodebook(serializeCodebook(codebook));
  }
  if (json.kind === "scalar") {
    const codebook: ScalarCodebook = {
      kind: "scalar",
      formatVersion: integerField(json.formatVersion, "formatVersion"),
      sourceDimension: integerField(json.sourceDimension, "sourceDimension"),
      bits: integerField(json.bits, "bits"),
      distortion: numberField(json.distortion, "distortion"),
      levels: Float32Array.from(numberArray(json.levels, "levels")),
      thresholds: Float32Array.from(numberArray(json.thresholds, "thresholds")),
    };
    return deserializeCodebook(serializeCodebook(codebook));
  }
  throw formatError(`unknown codebook kind ${String(json.kind)}`);
}

function numberArray(value: unknown, name: string): number[] {
  if (!Array.isArray(value) || !value.every((item) => typeof item === "number" && Number.isFinite(item))) {
    throw formatError(`${name} must be an array of finite numbers`);
  }
  return value as number[];
}

function numberField(value: unknown, name: string): number {
  if (typeof value !== "number" || Number.isNaN(value)) throw formatError(`${name} must be a number`);
  return value;
}

function integerField(value: unknown, name: string): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < 0) throw formatError(`${name} must be a non-negative integer`);
  return value;
}
