import { describe, expect, test } from "vitest";
import { nearestInShells, prepareShells } from "./codebook-shells.js";
import { gaussianArray, seededRandom } from "./conformance/seeded-random.js";
import { fibonacciCodebook, randomCodebook } from "./conformance/test-codebooks.js";

function bruteForce(codewords: Float32Array, blockSize: number, block: Float32Array): number {
  let best = 0;
  let bestDistance = Infinity;
  for (let code = 0; code < codewords.length / blockSize; code++) {
    let distance = 0;
    for (let j = 0; j < blockSize; j++) distance += (block[j] - codewords[code * blockSize + j]) ** 2;
    if (distance < bestDistance) {
      bestDistance = distance;
      best = code;
    }
  }
  return best;
}

describe("shell-pruned nearest codeword", () => {
  // The radius bound ‖y − c‖² ≥ (‖y‖ − ‖c‖)² is exact, so the pruned search must equal brute force.
  test.each([
    { name: "FibQuant k=2 N=16", codewords: fibonacciCodebook(16, 64), blockSize: 2, scale: 1 / 8 },
    { name: "FibQuant k=2 N=256", codewords: fibonacciCodebook(256, 64), blockSize: 2, scale: 1 / 8 },
    { name: "random k=4 N=256", codewords: randomCodebook(7, 256, 4, 32), blockSize: 4, scale: 1 / Math.sqrt(32) },
    { name: "scalar k=1 N=16, unsorted signed levels", codewords: randomCodebook(11, 16, 1, 32), blockSize: 1, scale: 1 / Math.sqrt(32) },
  ])("$name matches brute force on 2000 Gaussian blocks", ({ codewords, blockSize, scale }) => {
    const shells = prepareShells({ codewords, blockSize });
    const blocks = gaussianArray(seededRandom(3), 2000 * blockSize, scale);
    for (let index = 0; index < 2000; index++) {
      const block = blocks.subarray(index * blockSize, (index + 1) * blockSize);
      const rank = nearestInShells(shells, blocks, index * blockSize, 1);
      expect(shells.order[rank]).toBe(bruteForce(codewords, blockSize, block));
    }
  });

  test("pruning: a refined-size FibQuant k=2 N=256 search computes few distances per block", () => {
    const codewords = fibonacciCodebook(256, 64);
    const shells = prepareShells({ codewords, blockSize: 2 });
    const blocks = gaussianArray(seededRandom(4), 4000 * 2, 1 / 8);
    const visits = { count: 0 };
    for (let index = 0; index < 4000; index++) nearestInShells(shells, blocks, index * 2, 1, visits);
    const perBlock = visits.count / 4000;
    console.log(`shell search: ${perBlock.toFixed(1)} of 256 codewords per block`);
    // Brute force computes 256; the radius bound must rule out most of them.
    expect(perBlock).toBeLessThan(256 / 4);
  });

  test("radii are sorted and order is a permutation (k = 1: signed levels)", () => {
    const levels = prepareShells({ codewords: new Float32Array([0.5, -1, 0.25, -0.125]), blockSize: 1 });
    expect(Array.from(levels.radii)).toEqual([-1, -0.125, 0.25, 0.5]);
    expect(Array.from(levels.order)).toEqual([1, 3, 2, 0]);
    const shells = prepareShells({ codewords: randomCodebook(9, 100, 2, 16), blockSize: 2 });
    for (let index = 1; index < 100; index++) expect(shells.radii[index]).toBeGreaterThanOrEqual(shells.radii[index - 1]);
    expect(new Set(shells.order).size).toBe(100);
  });
});
