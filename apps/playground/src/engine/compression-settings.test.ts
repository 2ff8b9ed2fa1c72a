import { describe, expect, it } from "vitest";
import { codecRates, codecSpecFor, compressionLabel, SettingsError, type CompressionSettings } from "./compression-settings.js";

const fibQuant: CompressionSettings = { codec: "fibquant", keyBits: 1.5, valueBits: 0.5, blockSize: 2, policy: "none", budget: 0 };

describe("codecSpecFor", () => {
  it("builds separate key and value specs with fractional and sub-1-bit FibQuant rates", () => {
    expect(codecSpecFor(fibQuant, "key", 8)).toEqual({ kind: "fibquant", dimension: 8, bits: 1.5, blockSize: 2, norm: "fp16", seed: 1 });
    expect(codecSpecFor(fibQuant, "value", 8)).toMatchObject({ kind: "fibquant", bits: 0.5 });
  });

  it("centres keys only, and only for FibQuant and TurboQuant", () => {
    const centred = { ...fibQuant, centerKeys: true };
    expect(codecSpecFor(centred, "key", 8)).toMatchObject({ kind: "fibquant", center: true });
    expect(codecSpecFor(centred, "value", 8)).not.toHaveProperty("center");
    expect(codecSpecFor({ ...centred, codec: "turboquant", keyBits: 2 }, "key", 8)).toMatchObject({ kind: "turboquant", center: true });
    expect(codecSpecFor({ ...centred, codec: "int8" }, "key", 8)).toEqual({ kind: "int8", dimension: 8 });
    expect(compressionLabel(centred)).toBe("FibQuant k=2 · K 1.5 b / V 0.5 b · centred K");
  });

  it("gives KIVI its role and rejects rates a codec does not have", () => {
    const kivi: CompressionSettings = { ...fibQuant, codec: "kivi", keyBits: 2, valueBits: 4 };
    expect(codecSpecFor(kivi, "key", 8)).toEqual({ kind: "kivi", dimension: 8, bits: 2, role: "key" });
    expect(codecSpecFor(kivi, "value", 8)).toEqual({ kind: "kivi", dimension: 8, bits: 4, role: "value" });
    expect(() => codecSpecFor({ ...kivi, keyBits: 3 }, "key", 8)).toThrow(SettingsError);
    expect(() => codecSpecFor({ ...fibQuant, codec: "quarot", keyBits: 1 }, "key", 8)).toThrow(/2, 3 or 4/);
  });

  it("rejects a FibQuant block size that does not divide the head, and oversized codebooks", () => {
    expect(() => codecSpecFor({ ...fibQuant, blockSize: 3 }, "key", 8)).toThrow(/does not divide/);
    // 8 × 2.5 = 20 bits → 2^20 codewords, above the 2^16 limit.
    expect(() => codecSpecFor({ ...fibQuant, blockSize: 8, keyBits: 2.5 }, "key", 8)).toThrow(/≤ 16/);
    expect(() => codecSpecFor({ ...fibQuant, keyBits: Number.NaN }, "key", 8)).toThrow(SettingsError);
  });

  it("every offered rate of every codec yields a spec for a head of 8", () => {
    for (const [codec, rates] of Object.entries(codecRates)) {
      for (const bits of rates) {
        const settings = { ...fibQuant, codec, keyBits: bits, valueBits: bits } as CompressionSettings;
        if (codec === "fibquant" && 2 * bits > 16) continue;
        expect(codecSpecFor(settings, "key", 8).kind).toBe(codec);
      }
    }
  });

  it("labels settings for people", () => {
    expect(compressionLabel(fibQuant)).toBe("FibQuant k=2 · K 1.5 b / V 0.5 b");
    expect(compressionLabel({ ...fibQuant, codec: "fp16" })).toBe("fp16");
  });
});
