import { describe, expect, it } from "vitest";
import { CodebookError } from "./codebook-error.js";
import { buildFibQuantCodebook } from "./fibquant-codebook.js";
import { buildScalarCodebook } from "./scalar-codebook.js";
import { codebookFromJson, codebookToJson, crc32, deserializeCodebook, serializeCodebook } from "./serialization.js";

const vector = buildFibQuantCodebook({ sourceDimension: 64, blockSize: 4, size: 24, restarts: 1, iterations: 3, polishIterations: 1, evaluationSamples: 4096 });
const scalar = buildScalarCodebook({ sourceDimension: 64, bits: 3 });

describe("serializeCodebook / deserializeCodebook", () => {
  it("round-trips vector and scalar codebooks bit for bit", () => {
    for (const codebook of [vector, scalar]) {
      const bytes = serializeCodebook(codebook);
      const back = deserializeCodebook(bytes);
      expect(back).toEqual(codebook);
      expect(Buffer.from(serializeCodebook(back)).equals(Buffer.from(bytes))).toBe(true);
    }
    // Compact: 16-byte header + 36 fixed + 4 bytes per codeword value.
    expect(serializeCodebook(vector).length).toBe(16 + 36 + 4 * 24 * 4);
    expect(String.fromCharCode(...serializeCodebook(vector).subarray(0, 4))).toBe("KVCB");
  });

  it("reads from a view into a larger buffer", () => {
    const bytes = serializeCodebook(vector);
    const padded = new Uint8Array(bytes.length + 7);
    padded.set(bytes, 3);
    expect(deserializeCodebook(padded.subarray(3, 3 + bytes.length))).toEqual(vector);
  });

  it("detects corruption, bad magic, truncation and unknown versions", () => {
    const bytes = serializeCodebook(vector);
    const flipped = bytes.slice();
    flipped[60] ^= 1;
    expect(() => deserializeCodebook(flipped)).toThrow(/checksum/);
    const magic = bytes.slice();
    magic[0] = 0;
    expect(() => deserializeCodebook(magic)).toThrow(/magic/);
    expect(() => deserializeCodebook(bytes.subarray(0, bytes.length - 4))).toThrow(/length/);
    const version = bytes.slice();
    version[4] = 9;
    expect(() => deserializeCodebook(version)).toThrow(CodebookError);
    try {
      deserializeCodebook(version);
    } catch (error) {
      expect(CodebookError.isInstance(error) && error.code).toBe("unsupported-version");
    }
  });

  it("computes the standard CRC-32", () => {
    // CRC-32/ISO-HDLC check value for "123456789" is 0xCBF43926.
    expect(crc32(new TextEncoder().encode("123456789"))).toBe(0xcbf43926);
  });
});

describe("codebookToJson / codebookFromJson", () => {
  it("round-trips through JSON text exactly", () => {
    for (const codebook of [vector, scalar]) {
      const text = JSON.stringify(codebookToJson(codebook));
      const back = codebookFromJson(text);
      expect(back).toEqual(codebook);
      expect(Buffer.from(serializeCodebook(back)).equals(Buffer.from(serializeCodebook(codebook)))).toBe(true);
    }
  });

  it("rejects malformed JSON codebooks", () => {
    const json = codebookToJson(vector);
    expect(() => codebookFromJson({ ...json, codewords: [1, 2, 3] })).toThrow(/size × blockSize/);
    expect(() => codebookFromJson({ ...json, format: "other" as "kvpack-codebook" })).toThrow(/not a kvpack/);
    expect(() => codebookFromJson({ ...json, codewords: json.codewords?.map(() => Number.NaN) })).toThrow(/finite/);
  });
});
