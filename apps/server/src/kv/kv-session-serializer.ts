import { CompressedKVCache, restoreSession, saveSession, type KVCache, type KVCacheShape } from "@kvpack/cache";
import type { KvConfig } from "./kv-config.js";
import type { KvCacheFactory } from "./kv-cache-factory.js";
import { createPolicy, policyOffloads } from "./policy-names.js";
import type { Session, SessionSerializer } from "./session-store.js";
import { appendHeadMajorLayers } from "./append-head-major-layers.js";

const magic = 0x5353564b; // "KVSS" as little-endian u32
const version = 2;

/**
 * Saves an idle session's KV for the disk/Redis tiers and rebuilds it on its next request.
 *
 * - Compressed caches use @kvpack/cache's session format (pages as stored, residual window,
 *   policy-dropped rows stay dropped): exact.
 * - The dense cache is saved through `readLayer` (fp32 rows) and restored by appending them: exact.
 *
 * Layout: u32 magic | u32 version | u32 header bytes | header JSON (padded to 4 bytes) | i32 × tokens
 * | payload: the cache session format, or per layer keys f32 [kvHead][position][headDim] then values.
 */
export class KvSessionSerializer implements SessionSerializer {
  constructor(
    private readonly shape: KVCacheShape,
    private readonly factory: KvCacheFactory,
  ) {}

  save(session: Session): Uint8Array | undefined {
    const cache = session.cache;
    if (!cache) return undefined;
    const length = cache.length();
    if (length !== session.tokens.length || length === 0) return undefined;
    const compressed = cache instanceof CompressedKVCache ? saveSession(cache) : undefined;
    let headerText = JSON.stringify({ kvConfig: session.kvConfig, tokens: length, compressed: compressed !== undefined, ...this.shape });
    // Pad so the float sections start 4-byte aligned (read back as Float32Array views).
    headerText += " ".repeat((4 - (new TextEncoder().encode(headerText).length % 4)) % 4);
    const header = new TextEncoder().encode(headerText);
    const layerFloats = this.shape.kvHeads * length * this.shape.headDim;
    const payloadBytes = compressed ? compressed.length : this.shape.layers * layerFloats * 8;
    const bytes = new Uint8Array(12 + header.length + length * 4 + payloadBytes);
    const view = new DataView(bytes.buffer);
    view.setUint32(0, magic, true);
    view.setUint32(4, version, true);
    view.setUint32(8, header.length, true);
    bytes.set(header, 12);
    let offset = 12 + header.length;
    for (const token of session.tokens) {
      view.setInt32(offset, token, true);
      offset += 4;
    }
    if (compressed) {
      bytes.set(compressed, offset);
      return bytes;
    }
    const keys = new Float32Array(layerFloats);
    const values = new Float32Array(layerFloats);
    for (let layer = 0; layer < this.shape.layers; layer++) {
      cache.readLayer(layer, keys, values);
      bytes.set(new Uint8Array(keys.buffer), offset);
      offset += layerFloats * 4;
      bytes.set(new Uint8Array(values.buffer), offset);
      offset += layerFloats * 4;
    }
    return bytes;
  }

  load(stored: Uint8Array): { kvConfig: KvConfig; tokens: number[]; cache: KVCache } | undefined {
    const bytes = stored.slice();
    const view = new DataView(bytes.buffer);
    if (bytes.length < 12 || view.getUint32(0, true) !== magic || view.getUint32(4, true) !== version) return undefined;
    const headerLength = view.getUint32(8, true);
    if (12 + headerLength > bytes.length || headerLength % 4 !== 0) return undefined;
    const header = JSON.parse(new TextDecoder().decode(bytes.subarray(12, 12 + headerLength))) as {
      kvConfig: KvConfig;
      tokens: number;
      compressed: boolean;
      layers: number;
      kvHeads: number;
      headDim: number;
    };
    const { layers, kvHeads, headDim } = this.shape;
    if (header.layers !== layers || header.kvHeads !== kvHeads || header.headDim !== headDim || !(header.tokens > 0)) return undefined;
    const length = header.tokens;
    const layerFloats = kvHeads * length * headDim;
    let offset = 12 + headerLength;
    if (bytes.length < offset + length * 4) return undefined;
    const tokens: number[] = [];
    for (let i = 0; i < length; i++, offset += 4) tokens.push(view.getInt32(offset, true));
    if (header.compressed) {
      const kvConfig = header.kvConfig;
      this.factory.checkSupported(kvConfig);
      // The session format carries the codec specs; the policy (not serialized) starts afresh.
      const cache = restoreSession(bytes.subarray(offset), {
        codecs: this.factory.codecs,
        policy: kvConfig.policy !== null ? createPolicy(kvConfig.policy, kvConfig.budget) : undefined,
        tiers: policyOffloads(kvConfig.policy) ? [this.factory.offloadTier] : undefined,
      });
      if (cache.length() !== length || cache.layers !== layers || cache.kvHeads !== kvHeads || cache.headDim !== headDim) return undefined;
      return { kvConfig, tokens, cache };
    }
    if (bytes.length !== offset + layers * layerFloats * 8) return undefined;
    const cache = this.factory.create(header.kvConfig, length);
    const layerKeys: Float32Array[] = [];
    const layerValues: Float32Array[] = [];
    for (let layer = 0; layer < layers; layer++) {
      layerKeys.push(new Float32Array(bytes.buffer, offset, layerFloats));
      offset += layerFloats * 4;
      layerValues.push(new Float32Array(bytes.buffer, offset, layerFloats));
      offset += layerFloats * 4;
    }
    appendHeadMajorLayers(cache, layerKeys, layerValues, length);
    return { kvConfig: header.kvConfig, tokens, cache };
  }
}
