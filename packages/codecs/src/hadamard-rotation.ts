import { mulberry32 as seededRandom } from "@kvpack/codebook";

/** In-place unnormalized fast Walsh–Hadamard transform of values[offset .. offset+size), size a power of two. */
function walshHadamard(values: Float64Array, offset: number, size: number): void {
  for (let half = 1; half < size; half <<= 1) {
    for (let start = offset; start < offset + size; start += half << 1) {
      for (let index = start; index < start + half; index++) {
        const a = values[index];
        const b = values[index + half];
        values[index] = a + b;
        values[index + half] = a - b;
      }
    }
  }
}

/**
 * Seeded randomized Hadamard rotation R, an orthogonal stand-in for a Haar rotation.
 *
 * Power-of-two d: R = H·D / √d (D random ±1 signs, H the Walsh–Hadamard matrix).
 * Any other d (a documented choice): d is split into its binary powers of two (96 = 64 + 32) and R is
 * two rounds of "random signs, random permutation, block-diagonal normalized Hadamards", so every
 * output coordinate mixes inputs from different blocks. Each step is orthogonal, so Rᵀ = R⁻¹ runs
 * the steps backwards. Computed in float64.
 */
export class HadamardRotation {
  readonly dimension: number;
  private readonly rounds: number;
  private readonly blockSizes: number[];
  private readonly signs: Float64Array;
  private readonly permutations: Int32Array;
  private readonly work: Float64Array;
  private readonly spare: Float64Array;

  constructor(dimension: number, seed: number) {
    this.dimension = dimension;
    const powerOfTwo = (dimension & (dimension - 1)) === 0;
    this.rounds = powerOfTwo ? 1 : 2;
    this.blockSizes = [];
    for (let bit = 30; bit >= 0; bit--) if (dimension & (1 << bit)) this.blockSizes.push(1 << bit);
    const random = seededRandom(seed ^ 0x5f3759df);
    this.signs = new Float64Array(this.rounds * dimension);
    for (let index = 0; index < this.signs.length; index++) this.signs[index] = random() < 0.5 ? -1 : 1;
    this.permutations = new Int32Array(this.rounds * dimension);
    for (let round = 0; round < this.rounds; round++) {
      const base = round * dimension;
      for (let index = 0; index < dimension; index++) this.permutations[base + index] = index;
      if (!powerOfTwo) {
        for (let index = dimension - 1; index > 0; index--) {
          const other = Math.floor(random() * (index + 1));
          const swap = this.permutations[base + index];
          this.permutations[base + index] = this.permutations[base + other];
          this.permutations[base + other] = swap;
        }
      }
    }
    this.work = new Float64Array(dimension);
    this.spare = new Float64Array(dimension);
  }

  private blockTransform(values: Float64Array): void {
    let offset = 0;
    for (const size of this.blockSizes) {
      walshHadamard(values, offset, size);
      const scale = 1 / Math.sqrt(size);
      for (let index = offset; index < offset + size; index++) values[index] *= scale;
      offset += size;
    }
  }

  /** output = R · input·scale (input read from inputOffset, output written at outputOffset). */
  forward(
    input: ArrayLike<number>,
    inputOffset: number,
    output: Float64Array | Float32Array,
    outputOffset = 0,
    scale = 1,
  ): void {
    const dimension = this.dimension;
    const work = this.work;
    const signs = this.signs;
    if (this.rounds === 1) {
      // Power of two: signs and input scale in one pass, the 1/√d folded into the output pass.
      for (let index = 0; index < dimension; index++) work[index] = input[inputOffset + index] * scale * signs[index];
      walshHadamard(work, 0, dimension);
      const normalize = 1 / Math.sqrt(dimension);
      // "+ 0" turns −0 into +0 so a zero vector decodes to exact (positive) zeros.
      for (let index = 0; index < dimension; index++) output[outputOffset + index] = work[index] * normalize + 0;
      return;
    }
    const spare = this.spare;
    for (let index = 0; index < dimension; index++) work[index] = input[inputOffset + index] * scale * signs[index];
    for (let round = 0; round < this.rounds; round++) {
      const base = round * dimension;
      if (round > 0) for (let index = 0; index < dimension; index++) work[index] *= signs[base + index];
      for (let index = 0; index < dimension; index++) spare[index] = work[this.permutations[base + index]];
      work.set(spare);
      this.blockTransform(work);
    }
    for (let index = 0; index < dimension; index++) output[outputOffset + index] = work[index] + 0;
  }

  /** output = Rᵀ · input·scale. */
  inverse(
    input: ArrayLike<number>,
    inputOffset: number,
    output: Float64Array | Float32Array,
    outputOffset = 0,
    scale = 1,
  ): void {
    const dimension = this.dimension;
    const work = this.work;
    const signs = this.signs;
    if (this.rounds === 1) {
      const normalized = scale / Math.sqrt(dimension);
      for (let index = 0; index < dimension; index++) work[index] = input[inputOffset + index] * normalized;
      walshHadamard(work, 0, dimension);
      for (let index = 0; index < dimension; index++) output[outputOffset + index] = work[index] * signs[index] + 0;
      return;
    }
    const spare = this.spare;
    for (let index = 0; index < dimension; index++) work[index] = input[inputOffset + index] * scale;
    for (let round = this.rounds - 1; round >= 0; round--) {
      const base = round * dimension;
      this.blockTransform(work);
      for (let index = 0; index < dimension; index++) spare[this.permutations[base + index]] = work[index];
      work.set(spare);
      for (let index = 0; index < dimension; index++) work[index] *= signs[base + index];
    }
    for (let index = 0; index < dimension; index++) output[outputOffset + index] = work[index] + 0;
  }
}
