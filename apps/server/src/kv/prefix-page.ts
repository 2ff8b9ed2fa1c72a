/**
 * Binary form of one shared prefix page: the token ids it covers and the key/value rows the
 * runtime appended for them, token-major, fp32 (little-endian):
 *
 *   u32 magic "KVSP" | u32 version | u32 tokens | u32 layers | u32 rowFloats
 *   | i32 × tokens (token ids) | f32 × tokens·layers·rowFloats keys | same for values
 */
const magic = 0x5053564b; // "KVSP" as little-endian u32
const version = 1;
const headerBytes = 20;

export interface PrefixPage {
  readonly tokenIds: Int32Array;
  readonly layers: number;
  readonly rowFloats: number;
  readonly keys: Float32Array;
  readonly values: Float32Array;
}

export class PrefixPageError extends Error {
  override readonly name = "PrefixPageError";
}

export function encodePrefixPage(tokenIds: ArrayLike<number>, layers: number, rowFloats: number, keys: Float32Array, values: Float32Array): Uint8Array {
  const tokens = tokenIds.length;
  const floats = tokens * layers * rowFloats;
  if (keys.length !== floats || values.length !== floats) {
    throw new RangeError(`encodePrefixPage: expected ${floats} floats for keys and values, got ${keys.length} and ${values.length}`);
  }
  const bytes = new Uint8Array(headerBytes + tokens * 4 + floats * 8);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, magic, true);
  view.setUint32(4, version, true);
  view.setUint32(8, tokens, true);
  view.setUint32(12, layers, true);
  view.setUint32(16, rowFloats, true);
  let offset = headerBytes;
  for (let i = 0; i < tokens; i++, offset += 4) view.setInt32(offset, tokenIds[i], true);
  new Uint8Array(bytes.buffer, offset, floats * 4).set(new Uint8Array(keys.buffer, keys.byteOffset, floats * 4));
  offset += floats * 4;
  new Uint8Array(bytes.buffer, offset, floats * 4).set(new Uint8Array(values.buffer, values.byteOffset, floats * 4));
  return bytes;
}

/** Parses and checks a page read from a tier (sizes, shape, finite values): a store is never trusted. */
export function decodePrefixPage(bytes: Uint8Array, expected: { layers: number; rowFloats: number }): PrefixPage {
  if (bytes.length < headerBytes) throw new PrefixPageError(`prefix page truncated: ${bytes.length} bytes`);
  const copy = bytes.slice(); // aligned private copy
  const view = new DataView(copy.buffer);
  if (view.getUint32(0, true) !== magic || view.getUint32(4, true) !== version) throw new PrefixPageError("not a kvpack prefix page (magic/version)");
  const tokens = view.getUint32(8, true);
  const layers = view.getUint32(12, true);
  const rowFloats = view.getUint32(16, true);
  if (layers !== expected.layers || rowFloats !== expected.rowFloats) {
    throw new PrefixPageError(`prefix page shape ${layers}×${rowFloats} does not match the model's ${expected.layers}×${expected.rowFloats}`);
  }
  const floats = tokens * layers * rowFloats;
  if (copy.length !== headerBytes + tokens * 4 + floats * 8) throw new PrefixPageError(`prefix page has ${copy.length} bytes, expected ${headerBytes + tokens * 4 + floats * 8}`);
  const tokenIds = new Int32Array(copy.buffer, headerBytes, tokens);
  const keys = new Float32Array(copy.buffer, headerBytes + tokens * 4, floats);
  const values = new Float32Array(copy.buffer, headerBytes + tokens * 4 + floats * 4, floats);
  for (let i = 0; i < floats; i++) {
    if (!Number.isFinite(keys[i]) || !Number.isFinite(values[i])) throw new PrefixPageError("prefix page holds a non-finite value");
  }
  return { tokenIds, layers, rowFloats, keys, values };
}
