import { describe, expect, it } from "vitest";
import { createCompressedCache, memoryReportFor } from "./compressed-cache.js";
import type { CompressionSettings } from "./compression-settings.js";

const shape = { layers: 2, kvHeads: 1, headDim: 8 };
const turboQuant: CompressionSettings = { codec: "turboquant", keyBits: 4, valueBits: 4, blockSize: 2, policy: "none", budget: 0, centerKeys: true };

describe("memoryReportFor: where the compressed bytes go", () => {
  it("splits 40 tokens of TurboQuant 4/4 (one 32-token page + 8 rows waiting) into codes, norms, metadata and the residual window", () => {
    const cache = createCompressedCache(shape, turboQuant);
    for (let position = 0; position < 40; position++) {
      for (let layer = 0; layer < shape.layers; layer++) {
        const row = Float32Array.from({ length: 8 }, (_, i) => Math.sin(position * 8 + i + layer));
        cache.append(layer, row, row.map((value) => value * 0.5));
      }
    }
    const report = memoryReportFor(cache.memoryReport(), turboQuant, shape, 40);
    // Per layer, from the codecs' block layouts (@kvpack/codecs byteLayout): codes 32 rows × 8 coordinates × 4 bits,
    // keys and values; an fp16 norm per row each, plus the centred keys' block mean (8 int8 + 1 exponent byte);
    // a 4-byte header per block; 8 fp32 rows of keys and values not yet in a page.
    const expected = { codes: 2 * (32 * 8 * 4) / 8, normsAndScales: 2 * 32 * 2 + 9, pageMetadata: 2 * 4, residualWindow: 8 * 8 * 4 * 2 };
    for (const layer of report.layers) {
      expect({ codes: layer.codes, normsAndScales: layer.normsAndScales, pageMetadata: layer.pageMetadata, residualWindow: layer.residualWindow }).toEqual(expected);
      expect(layer.codes + layer.normsAndScales + layer.pageMetadata + layer.residualWindow).toBe(layer.compressed);
      expect(layer.fp16).toBe(40 * 8 * 2 * 2);
    }
    expect(report.breakdown.codes).toBe(2 * expected.codes);
    expect(report.breakdown.codes + report.breakdown.normsAndScales + report.breakdown.pageMetadata + report.breakdown.residualWindow).toBe(report.compressedBytes);
    expect(report.compressedBytes).toBe(cache.byteLength());
  });
});
