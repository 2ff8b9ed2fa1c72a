import { describe, expect, it } from "vitest";
import { extent, linearScale, linearTicks, log2Scale, niceStep } from "./scale.js";

describe("scales", () => {
  it("picks 1-2-5 steps", () => {
    // span 10 over ~5 ticks → raw step 2 → nice 2; span 0.07 over 5 → raw 0.014 → 0.01.
    expect(niceStep(0, 10, 5)).toBe(2);
    expect(niceStep(0.93, 1, 5)).toBeCloseTo(0.01, 12);
    expect(niceStep(0, 1000, 3)).toBe(500);
  });

  it("places ticks on exact multiples inside the domain", () => {
    expect(linearTicks(0, 10, 5)).toEqual([0, 2, 4, 6, 8, 10]);
    expect(linearTicks(0.95, 1.0, 5)).toEqual([0.95, 0.96, 0.97, 0.98, 0.99, 1]);
  });

  it("maps and inverts linearly, with reversed pixel ranges for y axes", () => {
    const y = linearScale([0, 1], [300, 0]);
    expect(y(0)).toBe(300);
    expect(y(0.25)).toBe(225);
    expect(y.invert(225)).toBeCloseTo(0.25, 12);
  });

  it("log2 scale puts powers of two at equal spacing and ticks them", () => {
    const x = log2Scale([1, 16], [0, 400]);
    expect(x(1)).toBe(0);
    expect(x(4)).toBeCloseTo(200, 9);
    expect(x.invert(300)).toBeCloseTo(8, 9);
    expect(x.ticks()).toEqual([1, 2, 4, 8, 16]);
    expect(() => log2Scale([0, 4], [0, 1])).toThrow(RangeError);
  });

  it("extent skips non-finite values and never returns an empty interval", () => {
    expect(extent([3, Number.NaN, 1, Infinity, 2])).toEqual([1, 3]);
    expect(extent([5])).toEqual([4.5, 5.5]);
    expect(extent([])).toEqual([0, 1]);
    expect(extent([0, 10], 0.1)).toEqual([-1, 11]);
  });
});
