import { describe, expect, it } from "vitest";
import { HadamardRotation } from "./hadamard-rotation.js";
import { randomUnitVectors } from "./testing/test-vectors.js";

describe("HadamardRotation", () => {
  it.each([1, 2, 7, 8, 20, 64, 96, 100, 128, 257])("is orthogonal and inverted by inverse() at d=%i", (dimension) => {
    const rotation = new HadamardRotation(dimension, 42);
    const vectors = randomUnitVectors(3, dimension, dimension);
    const rotated = new Float64Array(dimension);
    const back = new Float64Array(dimension);
    for (let row = 0; row < 3; row++) {
      rotation.forward(vectors, row * dimension, rotated);
      rotation.inverse(rotated, 0, back);
      let norm = 0;
      for (let index = 0; index < dimension; index++) {
        norm += rotated[index] ** 2;
        // float64 transform of float32 input: exact to ~1e-15; 1e-12 leaves room for log2(d) butterfly stages.
        expect(Math.abs(back[index] - vectors[row * dimension + index])).toBeLessThan(1e-12);
      }
      expect(Math.abs(norm - 1)).toBeLessThan(1e-6); // input is a float32 unit vector (norm 1 ± 1e-7)
    }
    // Inner products are preserved (orthogonality): <Ra, Rb> = <a, b>.
    const a = new Float64Array(dimension);
    const b = new Float64Array(dimension);
    rotation.forward(vectors, 0, a);
    rotation.forward(vectors, dimension, b);
    let rotatedDot = 0;
    let dot = 0;
    for (let index = 0; index < dimension; index++) {
      rotatedDot += a[index] * b[index];
      dot += vectors[index] * vectors[dimension + index];
    }
    expect(Math.abs(rotatedDot - dot)).toBeLessThan(1e-12);
  });

  it("spreads a one-hot vector over many coordinates (the point of rotating before quantizing)", () => {
    // Power of two: every |y_i| = 1/√d exactly. Non-power-of-two (96 = 64 + 32, two rounds): at least 64 non-zeros.
    for (const dimension of [128, 96]) {
      const rotation = new HadamardRotation(dimension, 1);
      const oneHot = new Float64Array(dimension);
      oneHot[5] = 1;
      const rotated = new Float64Array(dimension);
      rotation.forward(oneHot, 0, rotated);
      const nonZero = rotated.filter((value) => Math.abs(value) > 1e-9).length;
      expect(nonZero).toBeGreaterThanOrEqual(dimension === 128 ? 128 : 64);
      expect(Math.max(...rotated.map(Math.abs))).toBeLessThanOrEqual(dimension === 128 ? 1 / Math.sqrt(128) + 1e-12 : 0.25);
    }
  });
});
