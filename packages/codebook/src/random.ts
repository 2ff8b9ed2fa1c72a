import { CodebookError } from "./codebook-error.js";

/** A seeded pseudo-random source: uniform floats, standard normals, raw 32-bit words. */
export interface SeededRandom {
  /** Uniform in [0, 1), 32 bits of resolution. */
  nextFloat(): number;
  /** Standard normal N(0, 1). */
  nextGaussian(): number;
  /** Uniform 32-bit unsigned integer. */
  nextUint32(): number;
}

const twoToMinus32 = 2 ** -32;

/** splitmix32: spreads a user seed over the 128-bit xoshiro state so nearby seeds give unrelated streams. */
function splitMix32(state: { value: number }): number {
  state.value = (state.value + 0x9e3779b9) | 0;
  let z = state.value;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

class Xoshiro128StarStar implements SeededRandom {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;
  private spareGaussian = 0;
  private hasSpareGaussian = false;

  constructor(seed: number) {
    const state = { value: seed | 0 };
    this.s0 = splitMix32(state);
    this.s1 = splitMix32(state);
    this.s2 = splitMix32(state);
    this.s3 = splitMix32(state);
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1;
  }

  nextUint32(): number {
    const result = Math.imul(rotateLeft(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotateLeft(this.s3, 11);
    return result;
  }

  nextFloat(): number {
    return this.nextUint32() * twoToMinus32;
  }

  nextGaussian(): number {
    if (this.hasSpareGaussian) {
      this.hasSpareGaussian = false;
      return this.spareGaussian;
    }
    // Box–Muller; the +0.5 keeps the uniform strictly inside (0, 1) so the log is finite.
    const u1 = (this.nextUint32() + 0.5) * twoToMinus32;
    const u2 = this.nextUint32() * twoToMinus32;
    const radius = Math.sqrt(-2 * Math.log(u1));
    const angle = 2 * Math.PI * u2;
    this.spareGaussian = radius * Math.sin(angle);
    this.hasSpareGaussian = true;
    return radius * Math.cos(angle);
  }
}

function rotateLeft(value: number, shift: number): number {
  return (value << shift) | (value >>> (32 - shift));
}

/** Fast deterministic generator (xoshiro128** seeded through splitmix32). The same seed gives the same stream on every platform. */
export function createRandom(seed: number): SeededRandom {
  if (typeof seed !== "number" || !Number.isFinite(seed)) {
    throw new CodebookError("invalid-argument", `seed must be a finite number, got ${String(seed)}`);
  }
  return new Xoshiro128StarStar(Math.trunc(seed) >>> 0);
}

/** Gamma(shape, 1) variate by Marsaglia–Tsang (2000); shapes below 1 use the U^(1/shape) boost. */
export function sampleGamma(shape: number, random: SeededRandom): number {
  if (shape < 1) {
    const boost = Math.pow((random.nextUint32() + 0.5) * twoToMinus32, 1 / shape);
    return sampleGamma(shape + 1, random) * boost;
  }
  const d = shape - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  for (;;) {
    let x: number;
    let v: number;
    do {
      x = random.nextGaussian();
      v = 1 + c * x;
    } while (v <= 0);
    v = v * v * v;
    const u = (random.nextUint32() + 0.5) * twoToMinus32;
    const xSquared = x * x;
    if (u < 1 - 0.0331 * xSquared * xSquared) return d * v;
    if (Math.log(u) < 0.5 * xSquared + d * (1 - v + Math.log(v))) return d * v;
  }
}
