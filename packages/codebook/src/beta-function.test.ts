import { describe, expect, it } from "vitest";
import { betaDensity, betaQuantile, logBeta, logGamma, regularizedIncompleteBeta, regularizedIncompleteBetaComplement } from "./beta-function.js";
import { CodebookError } from "./codebook-error.js";

describe("logGamma / logBeta", () => {
  it("matches closed forms", () => {
    // Γ(n) = (n−1)!, Γ(½) = √π; Lanczos g=7 is accurate to ~1e-15 relative, we allow 1e-13 absolute.
    expect(logGamma(1)).toBeCloseTo(0, 13);
    expect(logGamma(5)).toBeCloseTo(Math.log(24), 13);
    expect(logGamma(0.5)).toBeCloseTo(0.5 * Math.log(Math.PI), 13);
    expect(logGamma(20)).toBeCloseTo(Math.log(121645100408832000), 11);
    // B(a, 1) = 1/a and B(½, ½) = π.
    expect(logBeta(3.5, 1)).toBeCloseTo(-Math.log(3.5), 13);
    expect(logBeta(0.5, 0.5)).toBeCloseTo(Math.log(Math.PI), 13);
  });

  it("rejects bad shapes", () => {
    expect(() => logBeta(0, 1)).toThrow(CodebookError);
    expect(() => logBeta(Number.NaN, 1)).toThrow(CodebookError);
  });
});

describe("regularizedIncompleteBeta", () => {
  const xs = [1e-6, 0.01, 0.1, 0.3, 0.5, 0.7, 0.9, 0.99, 0.999999];

  it("equals 1 − (1 − x)^b when a = 1 and x^a when b = 1 (closed forms)", () => {
    for (const x of xs) {
      for (const shape of [0.5, 1, 2.5, 7, 63.5, 500]) {
        // Tolerance 1e-13 absolute: double-precision continued fraction, A&S 26.5.
        expect(regularizedIncompleteBeta(x, 1, shape)).toBeCloseTo(1 - Math.pow(1 - x, shape), 13);
        expect(regularizedIncompleteBeta(x, shape, 1)).toBeCloseTo(Math.pow(x, shape), 13);
      }
    }
  });

  it("satisfies the symmetry I_x(a, b) = 1 − I_{1−x}(b, a)", () => {
    for (const x of xs) {
      for (const [a, b] of [[0.5, 63.5], [2, 3], [1.5, 62], [10, 0.7], [40, 40]]) {
        // 1e-12 absolute: ln B(a, b) from differences of ln Γ at arguments ~60 carries ~1e-13 error.
        expect(regularizedIncompleteBeta(x, a, b)).toBeCloseTo(1 - regularizedIncompleteBeta(1 - x, b, a), 12);
        expect(regularizedIncompleteBetaComplement(x, a, b)).toBeCloseTo(regularizedIncompleteBeta(1 - x, b, a), 12);
      }
    }
  });

  it("matches the arcsine law I_x(½, ½) = (2/π)·asin(√x) and I_x(2, 2) = 3x² − 2x³", () => {
    for (const x of xs) {
      expect(regularizedIncompleteBeta(x, 0.5, 0.5)).toBeCloseTo((2 / Math.PI) * Math.asin(Math.sqrt(x)), 13);
      expect(regularizedIncompleteBeta(x, 2, 2)).toBeCloseTo(3 * x * x - 2 * x * x * x, 13);
    }
  });

  it("keeps relative accuracy in a far upper tail through the complement", () => {
    // 1 − I_x(1, b) = (1 − x)^b exactly; at x = 0.5, b = 60 that is 8.67e-19, far below double spacing near 1.
    const tail = regularizedIncompleteBetaComplement(0.5, 1, 60);
    expect(Math.abs(tail / Math.pow(0.5, 60) - 1)).toBeLessThan(1e-12);
  });

  it("is the integral of the density (Simpson check, 1e-8)", () => {
    const a = 1.5;
    const b = 62;
    const upper = 0.05;
    // Substitute x = s² so the integrand 2s·f(s²) is smooth at 0 and Simpson converges at its full order.
    const steps = 20_000;
    const h = Math.sqrt(upper) / steps;
    let sum = 0;
    for (let i = 0; i <= steps; i++) {
      const weight = i === 0 || i === steps ? 1 : i % 2 === 1 ? 4 : 2;
      const s = i * h;
      sum += weight * 2 * s * betaDensity(s * s, a, b);
    }
    expect((sum * h) / 3).toBeCloseTo(regularizedIncompleteBeta(upper, a, b), 8);
  });
});

describe("betaQuantile", () => {
  it("round-trips I_x(a, b) for many shapes and probabilities", () => {
    const shapes: Array<[number, number]> = [[0.5, 63.5], [1, 1], [0.5, 0.5], [2, 62], [4, 60], [0.2, 5], [30, 0.4], [200, 300]];
    for (const [a, b] of shapes) {
      for (const p of [1e-12, 1e-6, 0.001, 0.05, 0.25, 0.5, 0.75, 0.95, 0.999, 1 - 1e-9]) {
        const x = betaQuantile(p, a, b);
        expect(x).toBeGreaterThanOrEqual(0);
        expect(x).toBeLessThanOrEqual(1);
        // Either I_x(a, b) = p to 1e-9 relative (of the smaller tail), or the exact quantile is not representable
        // and x is within ~1 ulp of it: p lies between I at the neighbouring doubles.
        const closeInProbability = Math.abs(regularizedIncompleteBeta(x, a, b) - p) <= 1e-9 * Math.min(p, 1 - p) + 1e-15;
        const below = regularizedIncompleteBeta(Math.max(0, x - Number.EPSILON * x), a, b);
        const above = regularizedIncompleteBeta(Math.min(1, x + Number.EPSILON * Math.max(x, 1e-300)), a, b);
        expect(closeInProbability || (below <= p && p <= above)).toBe(true);
      }
    }
  });

  it("matches closed-form quantiles", () => {
    // Beta(a, 1): x = p^(1/a). Beta(1, b): x = 1 − (1 − p)^(1/b).
    expect(betaQuantile(0.3, 2.5, 1)).toBeCloseTo(Math.pow(0.3, 1 / 2.5), 12);
    expect(betaQuantile(0.3, 1, 4)).toBeCloseTo(1 - Math.pow(0.7, 1 / 4), 12);
    expect(betaQuantile(0, 2, 2)).toBe(0);
    expect(betaQuantile(1, 2, 2)).toBe(1);
  });
});
