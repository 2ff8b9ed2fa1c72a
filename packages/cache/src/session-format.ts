import type { CodecSpec } from "@kvpack/codecs";
import type { CacheEventListener } from "./cache-event.js";
import type { CodecFactory, CodecRegistry } from "./codec-registry.js";
import { type CacheSnapshot, CompressedKVCache } from "./compressed/compressed-kv-cache.js";
import { crc32 } from "./crc32.js";
import type { KeyDigestFormat } from "./key-digest.js";
import { SessionFormatError } from "./errors.js";
import type { PageTier } from "./page-store.js";
import type { Policy } from "./policy.js";

/**
 * Versioned binary format of a whole cache session (little-endian):
 *
 *   "KVPS" | u16 version | u16 flags (0) | u32 header length | header JSON
 *   | token ids i32×tokenCount
 *   | per layer: residual keys f32×(kvHeads·rows·headDim), residual values (same), residual live u8×(kvHeads·rows)
 *   | per layer, per KV head, per page: page record (page-record.ts, its own CRC-32)
 *   | u32 CRC-32 of everything before it
 *
 * The header holds the shape, page size, residual window, namespace, session id, step, and per
 * layer the codec specs and ids, so `restoreSession` rebuilds the same codecs. Offloaded pages are
 * saved as metadata only (positions, live mask, digest) plus their tier and key: recall them
 * after restoring with the same tiers attached.
 */
export const sessionMagic = 0x5350564b; // "KVPS" as little-endian u32
/** 2: @kvpack/codecs 0.2 stores log-norm ranges as fp16 and block means as int8 (blocks of version 1 differ in length). */
export const sessionFormatVersion = 2;
const fixedHeaderBytes = 12;

interface SessionHeader {
  layers: number;
  kvHeads: number;
  headDim: number;
  pageSize: number;
  residualWindow: number;
  keyDigests: boolean;
  keyDigestFormat: KeyDigestFormat;
  namespace: string;
  sessionId: string;
  step: number;
  tokenCount: number;
  layerStates: {
    length: number;
    keySpec: CodecSpec;
    valueSpec: CodecSpec;
    residualStart: number;
    residualCount: number;
    pages: { bytes: number; location: "memory" | "offloaded"; storeKey: string | null; tier: string | null; pristine: boolean }[][];
  }[];
}

const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder("utf-8", { fatal: true });

/** Serializes the cache (pages, residual window, token ids, codec specs) into one checksummed buffer. */
export function saveSession(cache: CompressedKVCache): Uint8Array {
  const snapshot = cache.exportState();
  const header: SessionHeader = {
    layers: cache.layers,
    kvHeads: cache.kvHeads,
    headDim: cache.headDim,
    pageSize: snapshot.pageSize,
    residualWindow: snapshot.residualWindow,
    keyDigests: snapshot.keyDigests,
    keyDigestFormat: cache.keyDigestFormat,
    namespace: snapshot.namespace,
    sessionId: snapshot.sessionId,
    step: snapshot.step,
    tokenCount: snapshot.tokenIds.length,
    layerStates: snapshot.layers.map((layer) => ({
      length: layer.length,
      keySpec: layer.keySpec,
      valueSpec: layer.valueSpec,
      residualStart: layer.residualStart,
      residualCount: layer.residualCount,
      pages: layer.pages.map((pages) =>
        pages.map((page) => ({
          bytes: page.record.length,
          location: page.location,
          storeKey: page.storeKey ?? null,
          tier: page.tier ?? null,
          pristine: page.pristine,
        })),
      ),
    })),
  };
  const headerBytes = textEncoder.encode(JSON.stringify(header));
  let length = fixedHeaderBytes + headerBytes.length + snapshot.tokenIds.length * 4 + 4;
  for (const layer of snapshot.layers) {
    length += layer.residualKeys.length * 8 + layer.residualLive.length;
    for (const pages of layer.pages) for (const page of pages) length += page.record.length;
  }
  const bytes = new Uint8Array(length);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, sessionMagic, true);
  view.setUint16(4, sessionFormatVersion, true);
  view.setUint16(6, 0, true);
  view.setUint32(8, headerBytes.length, true);
  bytes.set(headerBytes, fixedHeaderBytes);
  let offset = fixedHeaderBytes + headerBytes.length;
  for (const id of snapshot.tokenIds) {
    view.setInt32(offset, id, true);
    offset += 4;
  }
  for (const layer of snapshot.layers) {
    for (const value of layer.residualKeys) {
      view.setFloat32(offset, value, true);
      offset += 4;
    }
    for (const value of layer.residualValues) {
      view.setFloat32(offset, value, true);
      offset += 4;
    }
    bytes.set(layer.residualLive, offset);
    offset += layer.residualLive.length;
  }
  for (const layer of snapshot.layers) {
    for (const pages of layer.pages) {
      for (const page of pages) {
        bytes.set(page.record, offset);
        offset += page.record.length;
      }
    }
  }
  view.setUint32(offset, crc32(bytes, 0, offset), true);
  return bytes;
}

export interface RestoreSessionOptions {
  readonly codecs?: CodecRegistry;
  readonly codecFactory?: CodecFactory;
  readonly policy?: Policy;
  readonly autoApplyPolicy?: boolean;
  /** Tiers holding the session's offloaded pages (same names as when it was saved). */
  readonly tiers?: readonly PageTier[];
  readonly maxTokens?: number;
  readonly onEvent?: CacheEventListener;
}

/**
 * Rebuilds a cache saved by {@link saveSession}. Anything wrong (magic, version, checksum,
 * truncation, codec ids that the factory does not reproduce) throws {@link SessionFormatError}.
 */
export function restoreSession(bytes: Uint8Array, options: RestoreSessionOptions = {}): CompressedKVCache {
  if (bytes.length < fixedHeaderBytes + 4) throw new SessionFormatError(`session of ${bytes.length} bytes is too short`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint32(0, true) !== sessionMagic) throw new SessionFormatError("not a kvpack session (bad magic)");
  const version = view.getUint16(4, true);
  if (version !== sessionFormatVersion) throw new SessionFormatError(`unsupported session format version ${version}`);
  const stored = view.getUint32(bytes.length - 4, true);
  if (crc32(bytes, 0, bytes.length - 4) !== stored) throw new SessionFormatError("session CRC-32 mismatch");
  const headerLength = view.getUint32(8, true);
  if (fixedHeaderBytes + headerLength > bytes.length - 4) throw new SessionFormatError("header runs past the end");
  let header: SessionHeader;
  try {
    header = JSON.parse(textDecoder.decode(bytes.subarray(fixedHeaderBytes, fixedHeaderBytes + headerLength))) as SessionHeader;
  } catch (error) {
    throw new SessionFormatError(`unreadable header (${(error as Error).message})`);
  }
  const end = bytes.length - 4;
  let offset = fixedHeaderBytes + headerLength;
  const need = (count: number): void => {
    if (offset + count > end) throw new SessionFormatError("session body runs past the end");
  };
  need(header.tokenCount * 4);
  const tokenIds = new Int32Array(header.tokenCount);
  for (let i = 0; i < header.tokenCount; i++, offset += 4) tokenIds[i] = view.getInt32(offset, true);
  const residuals = header.layerStates.map((layer) => {
    const floats = header.kvHeads * layer.residualCount * header.headDim;
    need(floats * 8 + header.kvHeads * layer.residualCount);
    const keys = new Float32Array(floats);
    const values = new Float32Array(floats);
    for (let i = 0; i < floats; i++, offset += 4) keys[i] = view.getFloat32(offset, true);
    for (let i = 0; i < floats; i++, offset += 4) values[i] = view.getFloat32(offset, true);
    const live = bytes.slice(offset, offset + header.kvHeads * layer.residualCount);
    offset += live.length;
    return { keys, values, live };
  });
  const layers: CacheSnapshot["layers"][number][] = header.layerStates.map((layer, index) => ({
    length: layer.length,
    keySpec: layer.keySpec,
    valueSpec: layer.valueSpec,
    residualStart: layer.residualStart,
    residualCount: layer.residualCount,
    residualKeys: residuals[index].keys,
    residualValues: residuals[index].values,
    residualLive: residuals[index].live,
    pages: layer.pages.map((pages) =>
      pages.map((page) => {
        need(page.bytes);
        const record = bytes.slice(offset, offset + page.bytes);
        offset += page.bytes;
        return { record, location: page.location, storeKey: page.storeKey ?? undefined, tier: page.tier ?? undefined, pristine: page.pristine };
      }),
    ),
  }));
  if (offset !== end) throw new SessionFormatError(`${end - offset} trailing bytes`);
  let cache: CompressedKVCache;
  try {
    cache = new CompressedKVCache({
      layers: header.layers,
      kvHeads: header.kvHeads,
      headDim: header.headDim,
      keys: header.layerStates.map((layer) => layer.keySpec),
      values: header.layerStates.map((layer) => layer.valueSpec),
      pageSize: header.pageSize,
      residualWindow: header.residualWindow,
      keyDigests: header.keyDigests === true,
      keyDigestFormat: header.keyDigestFormat,
      namespace: header.namespace,
      sessionId: header.sessionId,
      codecs: options.codecs,
      codecFactory: options.codecFactory,
      policy: options.policy,
      autoApplyPolicy: options.autoApplyPolicy,
      tiers: options.tiers,
      maxTokens: options.maxTokens,
      onEvent: options.onEvent,
    });
    cache.importState({
      pageSize: header.pageSize,
      residualWindow: header.residualWindow,
      keyDigests: header.keyDigests === true,
      namespace: header.namespace,
      sessionId: header.sessionId,
      step: header.step,
      tokenIds,
      layers,
    });
  } catch (error) {
    if (error instanceof SessionFormatError) throw error;
    throw new SessionFormatError(`session does not load: ${(error as Error).message}`);
  }
  return cache;
}
