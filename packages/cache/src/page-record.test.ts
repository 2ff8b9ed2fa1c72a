import { describe, expect, it } from "vitest";
import { crc32 } from "./crc32.js";
import { CorruptPageError } from "./errors.js";
import { decodePageRecord, encodePageRecord, type PageRecord } from "./page-record.js";
import { nextPrefixKey, prefixRoot, prefixStoreKey } from "./prefix-key.js";
import { sha256, toHex } from "./sha256.js";

const textEncoder = new TextEncoder();

function sampleRecord(digest: boolean): PageRecord {
  return {
    layer: 3,
    kvHead: 1,
    firstPosition: 64,
    headDim: 4,
    segments: [
      {
        keySpec: { kind: "fp16", dimension: 4 },
        valueSpec: { kind: "int8", dimension: 4 },
        keyCodecId: "fp16:d4",
        valueCodecId: "int8:d4",
        positions: Int32Array.from([64, 65, 67]),
        live: Uint8Array.from([1, 0, 1]),
        keyData: Uint8Array.from({ length: 28 }, (_, i) => i * 3),
        valueData: Uint8Array.from({ length: 17 }, (_, i) => 200 - i),
        keyByteLength: 28,
        valueByteLength: 17,
      },
    ],
    keyMin: digest ? Float32Array.from([-1, -2, -3, -4]) : new Float32Array(0),
    keyMax: digest ? Float32Array.from([1, 2, 3, 4.5]) : new Float32Array(0),
  };
}

describe("checksums and hashes", () => {
  it("CRC-32 and SHA-256 match their standard check values", () => {
    // CRC-32/ISO-HDLC check value of "123456789" (zlib, PNG): 0xCBF43926.
    expect(crc32(textEncoder.encode("123456789"))).toBe(0xcbf43926);
    // FIPS 180-4 examples: SHA-256("abc") and SHA-256 of the 448-bit two-block message.
    expect(toHex(sha256(textEncoder.encode("abc")))).toBe("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    expect(toHex(sha256(textEncoder.encode("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")))).toBe(
      "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
    );
    expect(toHex(sha256(new Uint8Array(0)))).toBe("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  });
});

describe("page records", () => {
  it("round-trip every field, with and without a key digest", () => {
    for (const digest of [true, false]) {
      const record = sampleRecord(digest);
      const decoded = decodePageRecord(encodePageRecord(record));
      expect(decoded).toEqual(record);
    }
  });

  it("detect every single flipped byte and every truncation", () => {
    const bytes = encodePageRecord(sampleRecord(true));
    for (let index = 0; index < bytes.length; index++) {
      const corrupted = bytes.slice();
      corrupted[index] ^= 0x01;
      expect(() => decodePageRecord(corrupted, "k")).toThrow(CorruptPageError);
    }
    for (let length = 0; length < bytes.length; length++) {
      expect(() => decodePageRecord(bytes.subarray(0, length), "k")).toThrow(CorruptPageError);
    }
  });
});

describe("prefix keys", () => {
  it("chain over the prefix and depend on namespace, tokens, codec ids, layer and head", () => {
    const root = prefixRoot("model-a");
    const tokens = [1, 2, 3, 4];
    const key = prefixStoreKey(nextPrefixKey(root, tokens, "k", "v", 0, 0));
    expect(key).toMatch(/^kvpack:page:[0-9a-f]{64}$/);
    expect(prefixStoreKey(nextPrefixKey(prefixRoot("model-a"), tokens, "k", "v", 0, 0))).toBe(key);
    const variants = [
      nextPrefixKey(prefixRoot("model-b"), tokens, "k", "v", 0, 0),
      nextPrefixKey(root, [1, 2, 3, 5], "k", "v", 0, 0),
      nextPrefixKey(root, tokens, "k2", "v", 0, 0),
      nextPrefixKey(root, tokens, "k", "v2", 0, 0),
      nextPrefixKey(root, tokens, "k", "v", 1, 0),
      nextPrefixKey(root, tokens, "k", "v", 0, 1),
    ].map(prefixStoreKey);
    expect(new Set([key, ...variants]).size).toBe(7);
    // The second page's key depends on the first page's tokens.
    const secondA = nextPrefixKey(nextPrefixKey(root, tokens, "k", "v", 0, 0), [9, 9, 9, 9], "k", "v", 0, 0);
    const secondB = nextPrefixKey(nextPrefixKey(root, [0, 2, 3, 4], "k", "v", 0, 0), [9, 9, 9, 9], "k", "v", 0, 0);
    expect(toHex(secondA)).not.toBe(toHex(secondB));
  });
});
