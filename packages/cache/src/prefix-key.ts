import { sha256, toHex } from "./sha256.js";

/**
 * Content-addressed page keys chained over the token prefix, as LMCache and vLLM prefix caching
 * do: key_i = SHA-256(key_{i−1} ‖ token ids of page i ‖ key codec id ‖ value codec id ‖ layer ‖ KV
 * head), key_{−1} = SHA-256("kvpack-prefix-v1" ‖ namespace). Two caches (or replicas) that saw
 * the same tokens with the same model namespace and codecs compute the same keys, so they share
 * pages through a common store; any difference earlier in the prefix changes every later key.
 */
const textEncoder = new TextEncoder();

export function prefixRoot(namespace: string): Uint8Array {
  return sha256(textEncoder.encode(`kvpack-prefix-v1\u0000${namespace}`));
}

export function nextPrefixKey(
  previous: Uint8Array,
  tokenIds: ArrayLike<number>,
  keyCodecId: string,
  valueCodecId: string,
  layer: number,
  kvHead: number,
): Uint8Array {
  const codecs = textEncoder.encode(`${keyCodecId}\u0000${valueCodecId}`);
  const message = new Uint8Array(previous.length + tokenIds.length * 4 + codecs.length + 8);
  const view = new DataView(message.buffer);
  message.set(previous, 0);
  let offset = previous.length;
  for (let i = 0; i < tokenIds.length; i++, offset += 4) view.setInt32(offset, tokenIds[i], true);
  message.set(codecs, offset);
  offset += codecs.length;
  view.setUint32(offset, layer, true);
  view.setUint32(offset + 4, kvHead, true);
  return sha256(message);
}

export function prefixStoreKey(digest: Uint8Array): string {
  return `kvpack:page:${toHex(digest)}`;
}
