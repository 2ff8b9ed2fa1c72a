import { describe, expect, it } from "vitest";
import { CacheConfigurationError } from "../errors.js";
import { cacheLayout, checkFinite, checkPositiveInteger } from "./cache-layout.js";

const shape = { layers: 2, kvHeads: 3, headDim: 8 };

describe("cacheLayout", () => {
  it("defaults to 32-token pages, a 32-row window flushing at 32, and no token limit", () => {
    expect(cacheLayout(shape)).toEqual({ ...shape, pageSize: 32, residualWindow: 32, flushAt: 32, maxTokens: Number.MAX_SAFE_INTEGER });
  });

  it("flushes at max(R, pageSize): R = 0 → pageSize, R = pageSize → pageSize, R = 3·pageSize → 3·pageSize", () => {
    expect(cacheLayout({ ...shape, pageSize: 4, residualWindow: 0 }).flushAt).toBe(4);
    expect(cacheLayout({ ...shape, pageSize: 4, residualWindow: 4 }).flushAt).toBe(4);
    expect(cacheLayout({ ...shape, pageSize: 4, residualWindow: 12 }).flushAt).toBe(12);
    expect(cacheLayout({ ...shape, maxTokens: 100 }).maxTokens).toBe(100);
  });

  it.each([
    ["layers", { layers: 0 }, "layers must be a positive integer, got 0"],
    ["kvHeads", { kvHeads: 1.5 }, "kvHeads must be a positive integer, got 1.5"],
    ["headDim", { headDim: Number.NaN }, "headDim must be a positive integer, got NaN"],
    ["pageSize", { pageSize: -4 }, "pageSize must be a positive integer, got -4"],
  ])("rejects a bad %s with a CacheConfigurationError naming it", (_name, override, message) => {
    const build = (): unknown => cacheLayout({ ...shape, ...override });
    expect(build).toThrow(CacheConfigurationError);
    expect(build).toThrow(message);
  });

  it.each([6, -8, 2.5, Number.NaN])("rejects residualWindow %s (not 0 or a multiple of pageSize 4)", (residualWindow) => {
    const build = (): unknown => cacheLayout({ ...shape, pageSize: 4, residualWindow });
    expect(build).toThrow(CacheConfigurationError);
    expect(build).toThrow(`residualWindow must be 0 or a multiple of pageSize 4, got ${residualWindow}`);
  });

  it("checkPositiveInteger accepts 1 and rejects Infinity", () => {
    expect(() => checkPositiveInteger("x", 1)).not.toThrow();
    expect(() => checkPositiveInteger("x", Infinity)).toThrow("x must be a positive integer, got Infinity");
  });
});

describe("checkFinite", () => {
  it("passes finite values, including ±0 and the largest float32", () => {
    expect(() => checkFinite("keys", new Float32Array([0, -0, 3.4028234663852886e38, -1e-45]))).not.toThrow();
  });

  it.each([
    [Number.NaN, "keys[2] is NaN; keys and values must be finite"],
    [Infinity, "keys[2] is Infinity; keys and values must be finite"],
    [-Infinity, "keys[2] is -Infinity; keys and values must be finite"],
  ])("names the first non-finite element (%s) and its index", (bad, message) => {
    const values = new Float32Array([1, 2, bad, Number.NaN]);
    expect(() => checkFinite("keys", values)).toThrow(CacheConfigurationError);
    expect(() => checkFinite("keys", values)).toThrow(message);
  });
});
