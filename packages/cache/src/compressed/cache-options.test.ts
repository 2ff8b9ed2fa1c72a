import { describe, expect, it } from "vitest";
import { CacheConfigurationError } from "../errors.js";
import { createTestCodec, testCodecFactory } from "../test-support/test-codecs.js";
import { CompressedKVCache } from "./compressed-kv-cache.js";
import type { CompressedKVCacheOptions } from "./cache-options.js";

/** The options the facade checks beyond the layout (cache-layout.test.ts covers the shape). */
const headDim = 4;
const base: CompressedKVCacheOptions = {
  layers: 2,
  kvHeads: 1,
  headDim,
  keys: { kind: "fp32", dimension: headDim },
  values: { kind: "fp32", dimension: headDim },
  pageSize: 2,
  residualWindow: 2,
  codecFactory: testCodecFactory,
};

function configurationError(options: Partial<CompressedKVCacheOptions>): CacheConfigurationError {
  try {
    new CompressedKVCache({ ...base, ...options });
  } catch (error) {
    expect(CacheConfigurationError.isInstance(error)).toBe(true);
    return error as CacheConfigurationError;
  }
  throw new Error("expected a CacheConfigurationError");
}

describe("CompressedKVCache options", () => {
  it("takes one codec per layer, and says how many it expected", () => {
    const perLayer = new CompressedKVCache({
      ...base,
      keys: [{ kind: "fp32", dimension: headDim }, { kind: "int8", dimension: headDim }],
    });
    expect(perLayer.codecSpecs(0).keys.kind).toBe("fp32");
    expect(perLayer.codecSpecs(1).keys.kind).toBe("int8");
    expect(configurationError({ values: [{ kind: "fp32", dimension: headDim }] }).message).toBe(
      "values: expected one codec per layer (2), got 1",
    );
  });

  it("rejects a codec whose dimension is not headDim, naming the layer", () => {
    expect(configurationError({ keys: createTestCodec({ kind: "fp32", dimension: 8 }) }).message).toBe(
      "keys codec of layer 0 has dimension 8, expected headDim 4",
    );
    expect(configurationError({ values: [{ kind: "fp32", dimension: 4 }, { kind: "int8", dimension: 2 }] }).message).toBe(
      "values codec of layer 1 has dimension 2, expected headDim 4",
    );
  });

  it("rejects an unknown key digest format, listing the known ones", () => {
    expect(configurationError({ keyDigests: true, keyDigestFormat: "bf16" as "fp16" }).message).toBe(
      'unknown key digest format "bf16"; known: fp32, fp16, int8',
    );
  });

  it("append stops at maxTokens and rejects wrong lengths and non-finite rows", () => {
    const cache = new CompressedKVCache({ ...base, layers: 1, maxTokens: 1 });
    const row = new Float32Array(headDim);
    cache.append(0, row, row);
    expect(() => cache.append(0, row, row)).toThrow("append: maxTokens 1 reached");
    const open = new CompressedKVCache({ ...base, layers: 1 });
    expect(() => open.append(0, new Float32Array(3), row)).toThrow("append: expected 4 floats for keys and values, got 3 and 4");
    expect(() => open.append(0, row, Float32Array.of(0, 0, Number.NaN, 0))).toThrow("values[2] is NaN");
    expect(() => open.append(1, row, row)).toThrow("layer 1 out of range [0, 1)");
    expect(open.length(0)).toBe(0);
  });

  it("offloading with no tier configured, or to an unknown one, fails with the tier's name", async () => {
    const cache = new CompressedKVCache({ ...base, layers: 1 });
    const row = new Float32Array(headDim).fill(1);
    for (let i = 0; i < 2; i++) cache.append(0, row, row);
    const [page] = cache.pageDigests(0, 0);
    await expect(cache.offloadPage(0, 0, page.pageId)).rejects.toThrow("no tier configured: pass `tiers` or call addTier");
    await expect(cache.offloadPage(0, 0, page.pageId, "ssd")).rejects.toThrow('unknown tier "ssd"');
    expect(cache.pageDigests(0, 0)[0].location).toBe("memory");
  });
});
