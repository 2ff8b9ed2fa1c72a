import { CodebookError } from "./codebook-error.js";

// Lanczos approximation, g = 7, n = 9 (Godfrey's coefficients): relative error below 2e-15 for x > 0.
const lanczosG = 7;
const lanczosCoefficients = [
  0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
  12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
];
const halfLogTwoPi = 0.5 * Math.log(2 * Math.PI);

/** ln Γ(x) for x > 0. */
export function logGamma(x: number): number {
  if (!(x > 0) || !Number.isFinite(x)) {
    throw new CodebookError("invalid-argument", `logGamma needs a finite x > 0, got ${x}`);
  }
  if (x < 0.5) {
    // Reflection keeps the Lanczos series in its accurate range.
    return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x);
  }
  const z = x - 1;
  let sum = lanczosCoefficients[0];
  for (let i = 1; i < lanczosG + 2; i++) sum += lanczosCoefficients[i] / (z + i);
  const t = z + lanczosG + 0.5;
  return halfLogTwoPi + (z + 0.5) * Math.log(t) - t + Math.log(sum);
}

/** ln B(a, b) = ln Γ(a) + ln Γ(b) − ln Γ(a + b). */
export function logBeta(a: number, b: number): number {
  assertShape("a", a);
  assertShape("b", b);
  return logGamma(a) + logGamma(b) - logGamma(a + b);
}

function assertShape(name: string, value: number): void {
  if (!(value > 0) || !Number.isFinite(value)) {
    throw new CodebookError("invalid-argument", `Beta shape ${name} must be a finite number > 0, got ${value}`);
  }
}

function assertUnitInterval(name: string, value: number): void {
  if (!(value >= 0 && value <= 1)) {
    throw new CodebookError("invalid-argument", `${name} must lie in [0, 1], got ${value}`);
  }
}

const tiny = 1e-300;
const continuedFractionTolerance = 1e-16;
const maximumContinuedFractionTerms = 100_000;

/**
 * Continued fraction for I_x(a, b) (Numerical Recipes §6.4), evaluated by the modified Lentz method.
 * Converges fast for x < (a + 1)/(a + b + 2); callers use the symmetry relation otherwise.
 */
function incompleteBetaContinuedFraction(x: number, a: number, b: number): number {
  const sumAB = a + b;
  const aPlusOne = a + 1;
  const aMinusOne = a - 1;
  let c = 1;
  let d = 1 - (sumAB * x) / aPlusOne;
  if (Math.abs(d) < tiny) d = tiny;
  d = 1 / d;
  let h = d;
  for (let m = 1; m <= maximumContinuedFractionTerms; m++) {
    const twoM = 2 * m;
    // Even step.
    let coefficient = (m * (b - m) * x) / ((aMinusOne + twoM) * (a + twoM));
    d = 1 + coefficient * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + coefficient / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    h *= d * c;
    // Odd step.
    coefficient = (-(a + m) * (sumAB + m) * x) / ((a + twoM) * (aPlusOne + twoM));
    d = 1 + coefficient * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + coefficient / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const delta = d * c;
    h *= delta;
    if (Math.abs(delta - 1) < continuedFractionTolerance) return h;
  }
  throw new CodebookError("not-converged", `incomplete Beta continued fraction did not converge for x=${x}, a=${a}, b=${b}`);
}

/** ln of the prefactor x^a (1−x)^b / B(a, b) shared by the continued fraction and the density. */
function logPrefactor(x: number, a: number, b: number): number {
  return a * Math.log(x) + b * Math.log1p(-x) - logBeta(a, b);
}

/** Regularized incomplete Beta function I_x(a, b) = P(X ≤ x) for X ~ Beta(a, b). */
export function regularizedIncompleteBeta(x: number, a: number, b: number): number {
  assertShape("a", a);
  assertShape("b", b);
  assertUnitInterval("x", x);
  if (x === 0) return 0;
  if (x === 1) return 1;
  if (x < (a + 1) / (a + b + 2)) {
    return (Math.exp(logPrefactor(x, a, b)) * incompleteBetaContinuedFraction(x, a, b)) / a;
  }
  return 1 - (Math.exp(logPrefactor(1 - x, b, a)) * incompleteBetaContinuedFraction(1 - x, b, a)) / b;
}

/**
 * Upper tail 1 − I_x(a, b) = I_{1−x}(b, a), computed without the cancellation of `1 − I` when I is close to 1.
 * `oneMinusX` is passed separately so callers holding 1 − x exactly (for example 1 − t² from a cosine) keep it.
 */
export function regularizedIncompleteBetaComplement(x: number, a: number, b: number, oneMinusX = 1 - x): number {
  assertShape("a", a);
  assertShape("b", b);
  assertUnitInterval("x", x);
  if (x === 0) return 1;
  if (x === 1) return 0;
  if (oneMinusX < (b + 1) / (a + b + 2)) {
    return (Math.exp(logPrefactor(oneMinusX, b, a)) * incompleteBetaContinuedFraction(oneMinusX, b, a)) / b;
  }
  return 1 - (Math.exp(logPrefactor(x, a, b)) * incompleteBetaContinuedFraction(x, a, b)) / a;
}

/** Density of Beta(a, b) at x. */
export function betaDensity(x: number, a: number, b: number): number {
  assertShape("a", a);
  assertShape("b", b);
  assertUnitInterval("x", x);
  if (x === 0) return a < 1 ? Infinity : a === 1 ? Math.exp(-logBeta(a, b)) : 0;
  if (x === 1) return b < 1 ? Infinity : b === 1 ? Math.exp(-logBeta(a, b)) : 0;
  return Math.exp((a - 1) * Math.log(x) + (b - 1) * Math.log1p(-x) - logBeta(a, b));
}

/** Starting point for the quantile iteration (Numerical Recipes `invbetai`, after Abramowitz & Stegun 26.5.22). */
function initialQuantileGuess(p: number, a: number, b: number): number {
  if (a >= 1 && b >= 1) {
    const pp = p < 0.5 ? p : 1 - p;
    const t = Math.sqrt(-2 * Math.log(pp));
    let x = (2.30753 + t * 0.27061) / (1 + t * (0.99229 + t * 0.04481)) - t;
    if (p < 0.5) x = -x;
    const al = (x * x - 3) / 6;
    const h = 2 / (1 / (2 * a - 1) + 1 / (2 * b - 1));
    const w = (x * Math.sqrt(al + h)) / h - (1 / (2 * b - 1) - 1 / (2 * a - 1)) * (al + 5 / 6 - 2 / (3 * h));
    return a / (a + b * Math.exp(2 * w));
  }
  const lnA = Math.log(a / (a + b));
  const lnB = Math.log(b / (a + b));
  const t = Math.exp(a * lnA) / a;
  const u = Math.exp(b * lnB) / b;
  const w = t + u;
  if (p < t / w) return Math.pow(a * w * p, 1 / a);
  return 1 - Math.pow(b * w * (1 - p), 1 / b);
}

/**
 * Inverse of I_x(a, b) in x: Halley/Newton steps from the A&S starting point, guarded by a bisection bracket
 * so every step stays inside an interval known to contain the root.
 */
export function betaQuantile(p: number, a: number, b: number): number {
  assertShape("a", a);
  assertShape("b", b);
  assertUnitInterval("p", p);
  if (p === 0) return 0;
  if (p === 1) return 1;
  let low = 0;
  let high = 1;
  let x = initialQuantileGuess(p, a, b);
  if (!(x > 0 && x < 1)) x = 0.5;
  const logNormalizer = logBeta(a, b);
  for (let iteration = 0; iteration < 400; iteration++) {
    const error = regularizedIncompleteBeta(x, a, b) - p;
    if (error === 0) return x;
    if (error < 0) low = x;
    else high = x;
    const logDensity = (a - 1) * Math.log(x) + (b - 1) * Math.log1p(-x) - logNormalizer;
    const newtonStep = error / Math.exp(logDensity);
    // Halley correction uses f'/f = (a−1)/x − (b−1)/(1−x).
    const curvature = (a - 1) / x - (b - 1) / (1 - x);
    const halleyDenominator = 1 - 0.5 * Math.min(1, Math.max(-1, newtonStep * curvature));
    let next = x - newtonStep / halleyDenominator;
    if (!(next > low && next < high) || !Number.isFinite(next)) {
      // Bisect; in log space when the bracket spans orders of magnitude near 0 (tiny quantiles for a < 1).
      next = low > 0 && high / low > 1e3 ? Math.sqrt(low * high) : low === 0 && high < 1e-3 ? high / 1e3 : 0.5 * (low + high);
      if (!(next > low && next < high)) next = 0.5 * (low + high);
    }
    if (Math.abs(next - x) <= 4e-16 * Math.max(x, 1e-300) || high - low <= 4e-16 * Math.max(low, 1e-300)) return next;
    x = next;
  }
  return x;
}
