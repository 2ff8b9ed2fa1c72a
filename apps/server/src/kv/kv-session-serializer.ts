import type { KVCacheShape } from "@kvpack/cache";
import type { KvConfig } from "./kv-config.js";
import type { KvCacheFactory } from "./kv-cache-factory.js";
import type { Session, SessionSerializer } from "./session-store.js";

const magic = 0x5353564b; // "KVSS" as little-endian u32
const version = 1;

/**
 * Saves a session through `KVCache.readLayer` (fp32 rows) and restores it by appending them to a
 * fresh cache of the same configuration. Exact for the dense cache; for compressed caches the
 * rows are the decoded ones, re-encoded on restore. Caches that evicted tokens (a policy) are not
 * saved: their positions are not contiguous.
 *
 * Layout: u32 magic | u32 version | u32 header bytes | header JSON | i32 × tokens
 * | per layer: keys f32 [kvHead][position][headDim], values the same.
 */
export class DenseSessionSerializer implements SessionSerializer {
  constructor(
    private readonly shape: KVCacheShape,
    private readonly factory: KvCacheFactory,
  ) {}

  save(session: Session): Uint8Array | undefined {
    const cache = session.cache;
    if (!cache || session.kvConfig.policy !== null) return undefined;
    const length = cache.length();
    if (length !== session.tokens.length || length === 0) return undefined;
    let headerText = JSON.stringify({ kvConfig: session.kvConfig, tokens: length, ...this.shape });
    // Pad so the float sections start 4-byte aligned (read back as Float32Array views).
    headerText += " ".repeat((4 - (new TextEncoder().encode(headerText).length % 4)) % 4);
    const header = new TextEncoder().encode(headerText);
    const layerFloats = this.shape.kvHeads * length * this.shape.headDim;
    const bytes = new Uint8Array(12 + header.length + length * 4 + this.shape.layers * layerFloats * 8);
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

  load(stored: Uint8Array): { kvConfig: KvConfig; tokens: number[]; cache: ReturnType<KvCacheFactory["create"]> } | undefined {
    const bytes = stored.slice();
    const view = new DataView(bytes.buffer);
    if (bytes.length < 12 || view.getUint32(0, true) !== magic || view.getUint32(4, true) !== version) return undefined;
    const headerLength = view.getUint32(8, true);
    if (12 + headerLength > bytes.length || headerLength % 4 !== 0) return undefined;
    const header = JSON.parse(new TextDecoder().decode(bytes.subarray(12, 12 + headerLength))) as {
      kvConfig: KvConfig;
      tokens: number;
      layers: number;
      kvHeads: number;
      headDim: number;
    };
    const { layers, kvHeads, headDim } = this.shape;
    if (header.layers !== layers || header.kvHeads !== kvHeads || header.headDim !== headDim || !(header.tokens > 0)) return undefined;
    const length = header.tokens;
    const layerFloats = kvHeads * length * headDim;
    let offset = 12 + headerLength;
    if (bytes.length !== offset + length * 4 + layers * layerFloats * 8) return undefined;
    const tokens: number[] = [];
    for (let i = 0; i < length; i++, offset += 4) tokens.push(view.getInt32(offset, true));
    const cache = this.factory.create(header.kvConfig, length);
    const layerKeys: Float32Array[] = [];
    const layerValues: Float32Array[] = [];
    for (let layer = 0; layer < layers; layer++) {
      layerKeys.push(new Float32Array(bytes.buffer, offset, layerFloats));
      offset += layerFloats * 4;
      layerValues.push(new Float32Array(bytes.buffer, offset, layerFloats));
      offset += layerFloats * 4;
    }
    const rowKeys = new Float32Array(kvHeads * headDim);
    const rowValues = new Float32Array(kvHeads * headDim);
    for (let position = 0; position < length; position++) {
      for (let layer = 0; layer < layers; layer++) {
        for (let kvHead = 0; kvHead < kvHeads; kvHead++) {
          const from = (kvHead * length + position) * headDim;
          rowKeys.set(layerKeys[layer].subarray(from, from + headDim), kvHead * headDim);
          rowValues.set(layerValues[layer].subarray(from, from + headDim), kvHead * headDim);
        }
        cache.append(layer, rowKeys, rowValues);
      }
    }
    return { kvConfig: header.kvConfig, tokens, cache };
  }
}
