import { betaQuantile } from "./beta-function.js";
import { maximumScalarBits, buildScalarCodebook } from "./scalar-codebook.js";
import { quasiUniformDirections } from "./quasi-uniform-directions.js";
import type { SeededRandom } from "./random.js";

/** One initial codebook: how it was laid out, and its size × blockSize codewords. */
export interface InitialCodebook {
  readonly scheme: string;
  readonly codewords: Float64Array;
}

/**
 * Second shape of the companded radial law: r² ~ Beta(k/2, β) with β = (k/(k+2))·(d−k−2)/2 + 1. Bennett–Gersho
 * optimal codeword density ∝ p^(k/(k+2)) flattens the source's Beta(k/2, (d−k)/2) to this law (codec-spec.md).
 */
export function companderBetaShape(sourceDimension: number, blockSize: number): number {
  return (blockSize / (blockSize + 2)) * ((sourceDimension - blockSize - 2) / 2) + 1;
}

function companderRadius(probability: number, sourceDimension: number, blockSize: number): number {
  return Math.sqrt(betaQuantile(probability, blockSize / 2, companderBetaShape(sourceDimension, blockSize)));
}

/**
 * The per-codeword scheme of codec-spec.md (as in the `fib-quant` crate and kv_quantize): codeword n gets radius
 * √BetaInv((n − ½)/N; k/2, β) and the n-th point of the quasi-uniform direction sequence.
 */
export function perCodewordInitial(sourceDimension: number, blockSize: number, size: number): InitialCodebook {
  const directions = quasiUniformDirections(blockSize, size);
  const codewords = new Float64Array(size * blockSize);
  for (let n = 0; n < size; n++) {
    const radius = companderRadius((n + 0.5) / size, sourceDimension, blockSize);
    for (let j = 0; j < blockSize; j++) codewords[n * blockSize + j] = radius * directions[n * blockSize + j];
  }
  return { scheme: "per-codeword", codewords };
}

/**
 * Product layout: R shells at the companded-law quantiles (s − ½)/R, each holding its own quasi-uniform direction
 * set. "equal" gives each shell N/R directions (equal codeword mass per shell, the high-rate optimum since shells
 * sit at equal quantiles of the companded law); "surface" gives shell s a share ∝ r_s^(k−1), favouring outer shells.
 */
export function shellInitial(
  sourceDimension: number,
  blockSize: number,
  size: number,
  shellCount: number,
  allocation: "equal" | "surface",
  random: SeededRandom,
): InitialCodebook | undefined {
  const radii = new Float64Array(shellCount);
  for (let s = 0; s < shellCount; s++) radii[s] = companderRadius((s + 0.5) / shellCount, sourceDimension, blockSize);
  const counts = allocateCounts(size, radii, allocation === "equal" ? 0 : blockSize - 1);
  if (counts === undefined) return undefined;
  const codewords = new Float64Array(size * blockSize);
  let next = 0;
  const rotation = new Float64Array(blockSize * blockSize);
  for (let s = 0; s < shellCount; s++) {
    const count = counts[s];
    const directions = quasiUniformDirections(blockSize, count, { evenCircle: true });
    if (blockSize === 2) {
      // Stagger neighbouring circles by half a step so codewords interleave.
      const offset = s % 2 === 1 ? Math.PI / count : 0;
      const cosine = Math.cos(offset);
      const sine = Math.sin(offset);
      for (let m = 0; m < count; m++) {
        const x = directions[2 * m];
        const y = directions[2 * m + 1];
        codewords[2 * next] = radii[s] * (cosine * x - sine * y);
        codewords[2 * next + 1] = radii[s] * (sine * x + cosine * y);
        next++;
      }
    } else {
      randomRotation(blockSize, random, rotation);
      for (let m = 0; m < count; m++) {
        rotateInto(rotation, blockSize, directions, m * blockSize, codewords, next * blockSize, radii[s]);
        next++;
      }
    }
  }
  return { scheme: `shells-${shellCount}-${allocation}`, codewords };
}

/** Splits `size` codewords over shells ∝ radius^power (largest remainder), at least two per shell. */
function allocateCounts(size: number, radii: Float64Array, power: number): Int32Array | undefined {
  const shellCount = radii.length;
  if (size < 2 * shellCount) return undefined;
  const weights = Array.from(radii, (radius) => Math.pow(radius, power));
  const totalWeight = weights.reduce((sum, weight) => sum + weight, 0);
  const counts = new Int32Array(shellCount).fill(2);
  const spare = size - 2 * shellCount;
  const shares = weights.map((weight) => (spare * weight) / totalWeight);
  let assigned = 0;
  for (let s = 0; s < shellCount; s++) {
    counts[s] += Math.floor(shares[s]);
    assigned += Math.floor(shares[s]);
  }
  // Remainders go to the largest fractional parts, outer shells first on ties.
  const order = Array.from({ length: shellCount }, (_, s) => s).sort(
    (left, right) => shares[right] - Math.floor(shares[right]) - (shares[left] - Math.floor(shares[left])) || right - left,
  );
  for (let i = 0; assigned < spare; i++, assigned++) counts[order[i % shellCount]]++;
  return counts;
}

/** The scalar Lloyd–Max product grid (levels^k), available when N = 2^(k·b) for an integer b. */
export function scalarProductInitial(sourceDimension: number, blockSize: number, size: number): InitialCodebook | undefined {
  const bits = Math.log2(size) / blockSize;
  if (!Number.isInteger(bits) || bits < 1 || bits > maximumScalarBits || sourceDimension < 2) return undefined;
  const levels = buildScalarCodebook({ sourceDimension, bits }).levels;
  const levelCount = levels.length;
  const codewords = new Float64Array(size * blockSize);
  for (let n = 0; n < size; n++) {
    let rest = n;
    for (let j = 0; j < blockSize; j++) {
      codewords[n * blockSize + j] = levels[rest % levelCount];
      rest = Math.floor(rest / levelCount);
    }
  }
  return { scheme: "scalar-product", codewords };
}

/** Shell counts worth trying for N codewords (product splits R × ~N/R). */
export function candidateShellCounts(size: number, blockSize: number): number[] {
  const counts: number[] = [];
  const limit = Math.max(1, Math.floor(size / Math.max(2, blockSize)));
  // Large codebooks try fewer splits: each candidate costs a pass over the selection sample.
  const options = size > 1024 ? [1, 2, 4, 8, 16, 32] : [1, 2, 3, 4, 5, 6, 8, 10, 12, 16, 20, 24, 32];
  for (const shellCount of options) {
    if (shellCount <= limit) counts.push(shellCount);
  }
  return counts;
}

/** Every initial layout considered for (d, k, N). */
export function initialCandidates(sourceDimension: number, blockSize: number, size: number, random: SeededRandom): InitialCodebook[] {
  const candidates: InitialCodebook[] = [perCodewordInitial(sourceDimension, blockSize, size)];
  const allocations: Array<"equal" | "surface"> = size > 1024 ? ["equal"] : ["equal", "surface"];
  for (const shellCount of candidateShellCounts(size, blockSize)) {
    for (const allocation of allocations) {
      if (shellCount === 1 && allocation === "surface") continue;
      const candidate = shellInitial(sourceDimension, blockSize, size, shellCount, allocation, random);
      if (candidate !== undefined) candidates.push(candidate);
    }
  }
  const product = scalarProductInitial(sourceDimension, blockSize, size);
  if (product !== undefined) candidates.push(product);
  return candidates;
}

/** A Haar-random k × k rotation (Gram–Schmidt on a Gaussian matrix), row-major into `out`. */
export function randomRotation(blockSize: number, random: SeededRandom, out = new Float64Array(blockSize * blockSize)): Float64Array {
  for (;;) {
    for (let i = 0; i < blockSize * blockSize; i++) out[i] = random.nextGaussian();
    let degenerate = false;
    for (let row = 0; row < blockSize && !degenerate; row++) {
      for (let previous = 0; previous < row; previous++) {
        let dot = 0;
        for (let j = 0; j < blockSize; j++) dot += out[row * blockSize + j] * out[previous * blockSize + j];
        for (let j = 0; j < blockSize; j++) out[row * blockSize + j] -= dot * out[previous * blockSize + j];
      }
      let norm = 0;
      for (let j = 0; j < blockSize; j++) norm += out[row * blockSize + j] ** 2;
      if (norm < 1e-20) degenerate = true;
      const scale = 1 / Math.sqrt(norm);
      for (let j = 0; j < blockSize; j++) out[row * blockSize + j] *= scale;
    }
    if (!degenerate) return out;
  }
}

/** target[targetOffset..] = scale · rotation · source[sourceOffset..]. */
export function rotateInto(
  rotation: Float64Array,
  blockSize: number,
  source: Float64Array,
  sourceOffset: number,
  target: Float64Array,
  targetOffset: number,
  scale = 1,
): void {
  for (let row = 0; row < blockSize; row++) {
    let sum = 0;
    for (let j = 0; j < blockSize; j++) sum += rotation[row * blockSize + j] * source[sourceOffset + j];
    target[targetOffset + row] = scale * sum;
  }
}
