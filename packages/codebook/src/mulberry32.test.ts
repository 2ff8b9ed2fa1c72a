import { describe, expect, it } from "vitest";
import { mulberry32 } from "./mulberry32.js";

describe("mulberry32", () => {
  it("starts the reference stream for seed 0 and stays in [0, 1)", () => {
    // Reference: Tommy Ettinger's mulberry32 for seed 0 first returns 1144304738 (÷ 2^32 here).
    expect(mulberry32(0)() * 4294967296).toBe(1144304738);
    const next = mulberry32(12345);
    for (let index = 0; index < 10000; index++) {
      const value = next();
      expect(value).toBeGreaterThanOrEqual(0);
      expect(value).toBeLessThan(1);
    }
  });

  it("is deterministic per seed and differs between seeds", () => {
    const first = Array.from({ length: 8 }, mulberry32(7));
    expect(Array.from({ length: 8 }, mulberry32(7))).toEqual(first);
    expect(Array.from({ length: 8 }, mulberry32(8))).not.toEqual(first);
  });
});
