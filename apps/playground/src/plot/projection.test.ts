import { describe, expect, it } from "vitest";
import { radialShells, rotatePoints, rotationMatrix } from "./projection.js";

describe("projection", () => {
  it("rotation matrices are orthonormal (RᵀR = I within 1e-12)", () => {
    const rotation = rotationMatrix(0.7, -0.4);
    for (let i = 0; i < 3; i++) {
      for (let j = 0; j < 3; j++) {
        let dot = 0;
        for (let k = 0; k < 3; k++) dot += rotation[k * 3 + i] * rotation[k * 3 + j];
        expect(dot).toBeCloseTo(i === j ? 1 : 0, 12);
      }
    }
  });

  it("a quarter-turn yaw sends x to -z (right-handed, rotation about the vertical axis)", () => {
    const out = rotatePoints(Float64Array.of(1, 0, 0), 1, rotationMatrix(Math.PI / 2, 0));
    expect(out[0]).toBeCloseTo(0, 12);
    expect(out[1]).toBeCloseTo(0, 12);
    expect(out[2]).toBeCloseTo(-1, 12);
  });

  it("finds distinct norms as radial shells", () => {
    // (1,0), (0,1) and (0.6,0.8) have norm 1 (0.36 + 0.64 = 1); (2,0) has norm 2.
    const points = Float32Array.of(1, 0, 0, 1, 0.6, 0.8, 2, 0);
    // Float32 storage of 0.6 and 0.8 leaves their norm within 1e-7 of 1.
    const shells = radialShells(points, 4, 2);
    expect(shells).toHaveLength(2);
    expect(shells[0]).toBeCloseTo(1, 6);
    expect(shells[1]).toBe(2);
    // Norms 1.00 and 1.01 are one shell at 2 % of the largest norm (2), and two at 0.1 %.
    const close = Float32Array.of(1, 0, 1.01, 0, 2, 0);
    expect(radialShells(close, 3, 2)).toHaveLength(2);
    expect(radialShells(close, 3, 2, 0.001)).toHaveLength(3);
  });
});
