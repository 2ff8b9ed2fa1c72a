import { describe, expect, it } from "vitest";
import { compareWithReference, type ScoredRun } from "./reference-comparison.js";

const tokens = [100, 100, 100, 100, 100];
const denseNll = [100, 100, 100, 100, 100];

/** A run whose per-story −Σ log p is `nll`; Δppl from the definition exp(Σ nll / Σ tokens) − exp(Σ dense / Σ tokens). */
function run(family: string, bitsPerElement: number, nll: number[]): ScoredRun {
  const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);
  return { family, label: family, bitsPerElement, perplexityDelta: Math.exp(sum(nll) / sum(tokens)) - Math.exp(sum(denseNll) / sum(tokens)), perStory: { nll, denseNll, tokens } };
}

describe("compareWithReference", () => {
  const reference = run("llama.cpp", 5.0625, [120, 118, 125, 119, 122]);

  it("pairs runs within the reference's bits and says beats / loses only where the interval excludes 0", () => {
    const better = run("fibquant", 5, [105, 104, 108, 103, 106]); // lower NLL on every story
    const worse = run("turboquant", 4.9, [130, 131, 128, 133, 129]); // higher on every story
    const comparison = compareWithReference(reference, [better, worse]);
    const [first, second] = comparison.withinReferenceBits;
    // Σ nll: better 526, reference 604, over 500 tokens.
    expect(first.difference).toBeCloseTo(Math.exp(526 / 500) - Math.exp(604 / 500), 12);
    expect(first.interval[1]).toBeLessThan(0);
    expect(first.verdict).toBe("beats");
    expect(second.interval[0]).toBeGreaterThan(0);
    expect(second.verdict).toBe("loses");
    expect(comparison.overReferenceBits).toEqual([]);
  });

  it("leaves out a run that costs more bits than the reference, and makes no claim on a mixed one", () => {
    const richer = run("fibquant", 5.0626, [100, 100, 100, 100, 100]);
    const mixed = run("turboquant", 5.0625, [110, 126, 124, 112, 130]); // above and below the reference by story
    const comparison = compareWithReference(reference, [richer, mixed]);
    expect(comparison.overReferenceBits).toEqual([{ family: "fibquant", label: "fibquant", bitsPerElement: 5.0626 }]);
    expect(comparison.withinReferenceBits.map((pair) => pair.family)).toEqual(["turboquant"]);
    expect(comparison.withinReferenceBits[0].verdict).toBe("no claim");
  });
});
