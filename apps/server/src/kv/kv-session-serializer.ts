import { CompressedKVCache, restoreSession, saveSession, type KVCacheShape } from "@kvpack/cache";
import type { KvConfig } from "./kv-config.js";
import type { KvCacheFactory } from "./kv-cache-factory.js";
import { createPolicy, policyOffloads } from "./policy-names.js";
import type { Session, SessionSerializer } from "./session-store.js";

const magic = 0x5353564b; // "KVSS" as little-endian u32
// 3: every cache (the fp32 "dense" one included) is a CompressedKVCache in the cache's session format.
const version = 3;

/**
 * Saves an idle session's KV for the disk/Redis tiers and rebuilds it on its next request, in
 * @kvpack/cache's session format (pages as stored, residual window, policy-dropped rows stay
 * dropped, CRC-32 checked on restore): exact.
 *
 * Layout: u32 magic | u32 version | u32 header bytes | header JSON (padded to 4 bytes) | i32 × tokens
 * | the cache session format.
 */
export class KvSessionSerializer implements SessionSerializer {
  constructor(
    private readonly shape: KVCacheShape,
    private readonly factory: KvCacheFactory,
  ) {}

  save(session: Session): Uint8Array | undefined {
    const cache = session.cache;
    if (!(cache instanceof CompressedKVCache)) return undefined;
    const length = cache.length();
    if (length !== session.tokens.length || length === 0) return undefined;
    const payload = saveSession(cache);
    let headerText = JSON.stringify({ kvConfig: session.kvConfig, tokens: length, ...this.shape });
    // Pad so the token ids start 4-byte aligned.
    headerText += " ".repeat((4 - (new TextEncoder().encode(headerText).length % 4)) % 4);
    const header = new TextEncoder().encode(headerText);
    const bytes = new Uint8Array(12 + header.length + length * 4 + payload.length);
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
    bytes.set(payload, offset);
    return bytes;
  }

  load(stored: Uint8Array): { kvConfig: KvConfig; tokens: number[]; cache: CompressedKVCache } | undefined {
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
    let offset = 12 + headerLength;
    if (bytes.length < offset + length * 4) return undefined;
    const tokens: number[] = [];
    for (let i = 0; i < length; i++, offset += 4) tokens.push(view.getInt32(offset, true));
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
}
