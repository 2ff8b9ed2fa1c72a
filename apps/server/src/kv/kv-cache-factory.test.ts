import { describe, expect, it } from "vitest";
import { KvCacheFactory, denseBytes } from "./kv-cache-factory.js";
import type { KvConfig } from "./kv-config.js";

// stories260K's cache shape: 5 layers × 4 KV heads × head dim 8.
const shape = { layers: 5, kvHeads: 4, headDim: 8 };

function config(overrides: Partial<KvConfig>): KvConfig {
  return { codec: "turboquant", keyBits: 4, valueBits: 4, policy: null, budget: null, residualWindow: 32, norm: "log8", ...overrides };
}

describe("KvCacheFactory.estimateBytes", () => {
  it("gives the dense fp32 size plus the fp32 blocks' 4-byte headers for the fp32 codec", () => {
    const factory = new KvCacheFactory(shape, 512, 32, undefined);
    // Dense: 1,280 bytes per token on this shape (5 × 4 × 8 × 4 B × 2).
    expect(denseBytes(shape, 100)).toBe(128_000);
    // 100 tokens = 3 flushed 32-token pages + 4 residual rows; each page holds one key and one value
    // block per layer × KV head with a 4-byte header: 3 × 20 × 2 × 4 = 480 bytes over dense.
    expect(factory.estimateBytes(config({ codec: "fp32", keyBits: 32, valueBits: 32 }), 100)).toBe(128_480);
  });

  it("bounds the compressed cache's real size at every step, within one flush cycle of the peak", () => {
    const factory = new KvCacheFactory(shape, 512, 32, undefined);
    const row = new Float32Array(shape.kvHeads * shape.headDim);
    let seed = 1;
    const random = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32) * 2 - 1;
    for (const kv of [config({ codec: "fp32", keyBits: 32, valueBits: 32 }), config({}), config({ keyBits: 2, valueBits: 2 }), config({ codec: "kivi", keyBits: 2, valueBits: 2 }), config({ codec: "int8", keyBits: 8, valueBits: 8, residualWindow: 64 }), config({ policy: "arkvale", budget: 1024 })]) {
      const tokens = 200;
      const cache = factory.create(kv);
      let peak = 0;
      for (let position = 0; position < tokens; position++) {
        for (let layer = 0; layer < shape.layers; layer++) {
          for (let i = 0; i < row.length; i++) row[i] = random();
          cache.append(layer, row, row);
        }
        peak = Math.max(peak, cache.byteLength());
      }
      const estimate = factory.estimateBytes(kv, tokens);
      // ArkVale adds one fp16 key digest per page and KV head (2 × headDim halves), counted by both sides.
      expect(estimate, `${kv.codec} ${kv.policy}`).toBeGreaterThanOrEqual(peak);
      // Block headers are the only slack without a policy (within 10 % of the real peak); a policy adds
      // room for explicit row positions and two partly dead pages per head (within 50 %: 160 bytes of row metadata per 32-token page at head dim 8).
      expect(estimate, `${kv.codec} ${kv.policy}`).toBeLessThan(peak * (kv.policy === null ? 1.1 : 1.5));
    }
  });
});
