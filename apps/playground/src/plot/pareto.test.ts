import { describe, expect, it } from "vitest";
import { paretoFrontier } from "./pareto.js";

describe("paretoFrontier", () => {
  it("keeps only points no other point beats on both ratio and fidelity, by ratio", () => {
    const points = [
      { x: 1, y: 1.0 }, // fp16: best fidelity
      { x: 2, y: 0.99 }, // int8
      { x: 2, y: 0.95 }, // dominated by int8 (same ratio, worse fidelity)
      { x: 4, y: 0.98 },
      { x: 3, y: 0.9 }, // dominated by x=4, y=0.98
      { x: 8, y: 0.9 },
      { x: Number.NaN, y: 1 }, // ignored
    ];
    expect(paretoFrontier(points)).toEqual([0, 1, 3, 5]);
  });

  it("handles empty input", () => {
    expect(paretoFrontier([])).toEqual([]);
  });
});
