import { describe, expect, it } from "vitest";
import { KernelInputError } from "./kernel-errors.js";
import { requireFinite } from "./validate-inputs.js";

describe("requireFinite", () => {
  it("accepts every finite float32, ±0 and the extremes included", () => {
    const values = new Float32Array([0, -0, 1, -1, 3.4028234663852886e38, -3.4028234663852886e38, 1.401298464324817e-45, 7]);
    expect(() => requireFinite("k", "v", values)).not.toThrow();
    expect(() => requireFinite("k", "v", new Float32Array(0))).not.toThrow();
  });

  it("names the first non-finite value's index, in the 4-wide part and in the tail", () => {
    for (const bad of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) {
      for (const length of [1, 4, 7, 13]) {
        for (let at = 0; at < length; at++) {
          const values = new Float32Array(length).fill(0.5);
          values[at] = bad;
          if (at + 1 < length) values[length - 1] = bad;
          expect(() => requireFinite("k", "v", values)).toThrow(new KernelInputError("k", `v[${at}] is ${bad}; inputs must be finite`));
        }
      }
    }
  });
});
