import { describe, expect, it } from "vitest";
import { buildFibQuantCodebook } from "./fibquant-codebook.js";
import { ClusterNearestSearch } from "./cluster-nearest-search.js";
import { RadialNearestSearch, createNearestCodewordSearch, nearestCodewordBruteForce } from "./nearest-codeword.js";
import { createRandom } from "./random.js";
import { sampleSphericalBeta } from "./spherical-beta.js";
import type { VectorCodebook } from "./vector-codebook.js";

const quick = { restarts: 1, iterations: 4, polishIterations: 1, evaluationSamples: 4096 };

function checkAgreement(codebook: VectorCodebook, vectors: Float32Array, count: number): void {
  const search = createNearestCodewordSearch(codebook);
  let mismatches = 0;
  for (let i = 0; i < count; i++) {
    const offset = i * codebook.blockSize;
    if (search.nearest(vectors, offset) !== nearestCodewordBruteForce(codebook, vectors, offset)) mismatches++;
  }
  expect(mismatches).toBe(0);
  // The batch call, over an odd number of blocks written at an offset, gives the same indices.
  const batch = Math.min(count, 999);
  const out = new Int32Array(batch + 3);
  search.nearestBlocks(vectors, 0, batch, out, 3);
  for (let i = 0; i < batch; i++) {
    if (out[3 + i] !== nearestCodewordBruteForce(codebook, vectors, i * codebook.blockSize)) mismatches++;
  }
  expect(mismatches).toBe(0);
}

describe("createNearestCodewordSearch", () => {
  it("returns exactly the brute-force index on many source and off-distribution vectors", () => {
    const random = createRandom(42);
    // Covers both strategies: radial (k=2 N=256, k=3 N=64, k=4 N=256) and the unrolled scan (k=2 N=4,
    // k=4 N=16 and 64, k=8 N=64, k=5 N=32 through the generic loop).
    for (const [blockSize, bits] of [[2, 4], [2, 1], [3, 2], [4, 2], [4, 1.5], [4, 1], [8, 0.75], [5, 1]]) {
      const codebook = buildFibQuantCodebook({ sourceDimension: 64, blockSize, bits, ...quick });
      const count = 20_000;
      checkAgreement(codebook, sampleSphericalBeta(64, blockSize, count, random), count);
      // Off-distribution: Gaussian vectors at several scales, including far outside the codebook and near 0.
      const wild = new Float32Array(count * blockSize);
      for (let i = 0; i < wild.length; i++) wild[i] = random.nextGaussian() * [1e-4, 0.05, 0.2, 3][i % 4];
      checkAgreement(codebook, wild, count);
    }
  });

  it("radial pruning itself is exact for every block size", () => {
    const random = createRandom(8);
    for (const [blockSize, bits] of [[4, 1.5], [8, 0.75], [5, 1]]) {
      const codebook = buildFibQuantCodebook({ sourceDimension: 64, blockSize, bits, ...quick });
      const radial = new RadialNearestSearch(codebook.codewords, codebook.size, blockSize);
      const samples = sampleSphericalBeta(64, blockSize, 5000, random);
      let mismatches = 0;
      for (let i = 0; i < 5000; i++) {
        if (radial.nearest(samples, i * blockSize) !== nearestCodewordBruteForce(codebook, samples, i * blockSize)) mismatches++;
      }
      expect(mismatches).toBe(0);
    }
  });

  it("cluster search is exact on large synthetic codebooks, with duplicated codewords", () => {
    const random = createRandom(21);
    for (const [blockSize, size] of [[4, 4096], [3, 2048], [2, 300], [8, 512], [5, 64]]) {
      const codewords = sampleSphericalBeta(64, blockSize, size, random);
      // Duplicate a few codewords so exact ties occur when a probe equals one of them.
      for (let i = 0; i < 8; i++) codewords.copyWithin((size - 1 - i) * blockSize, i * blockSize, (i + 1) * blockSize);
      const codebook: VectorCodebook = {
        kind: "vector", formatVersion: 1, sourceDimension: 64, blockSize, size, bitsPerCoordinate: Math.log2(size) / blockSize,
        codewords, seed: 0, distortion: 0,
      };
      const probes = sampleSphericalBeta(64, blockSize, 4000, random);
      probes.set(codewords.subarray(0, 8 * blockSize));
      const cluster = new ClusterNearestSearch(codewords, size, blockSize);
      let mismatches = 0;
      for (let i = 0; i < 4000; i++) {
        if (cluster.nearest(probes, i * blockSize) !== nearestCodewordBruteForce(codebook, probes, i * blockSize)) mismatches++;
      }
      expect(mismatches).toBe(0);
      if (blockSize === 4) checkAgreement(codebook, probes, 4000); // createNearestCodewordSearch picks the cluster search here
    }
  });

  it("breaks exact ties towards the lowest index, like brute force", () => {
    // Duplicated codewords and a point equidistant from two codewords.
    const codewords = Float32Array.from([0.5, 0, 0, 0.5, 0.5, 0, -0.5, 0, 0, 0.5]);
    const codebook: VectorCodebook = {
      kind: "vector", formatVersion: 1, sourceDimension: 8, blockSize: 2, size: 5, bitsPerCoordinate: Math.log2(5) / 2,
      codewords, seed: 0, distortion: 0,
    };
    const probes = Float32Array.from([0.5, 0, 0, 0.5, 0.25, 0.25, 0, 0, -0.4, 0.1]);
    checkAgreement(codebook, probes, 5);
    expect(createNearestCodewordSearch(codebook).nearest(probes, 0)).toBe(0);
    expect(createNearestCodewordSearch(codebook).nearest(probes, 2)).toBe(1);
  });

  it("visits far fewer codewords than brute force on a 2-D codebook with N = 256", () => {
    const codebook = buildFibQuantCodebook({ sourceDimension: 128, blockSize: 2, bits: 4, ...quick });
    const search = new RadialNearestSearch(codebook.codewords, codebook.size, 2);
    const samples = sampleSphericalBeta(128, 2, 2000, createRandom(3));
    let visited = 0;
    for (let i = 0; i < 2000; i++) {
      search.nearest(samples, 2 * i);
      visited += search.lastVisited;
    }
    // Measured ≈ 20 of 256 with shell-structured codebooks; require < 25 %.
    expect(visited / 2000).toBeLessThan(64);
  });

  it("rejects an offset past the end", () => {
    const codebook = buildFibQuantCodebook({ sourceDimension: 16, blockSize: 2, bits: 1, ...quick });
    expect(() => createNearestCodewordSearch(codebook).nearest(new Float32Array(3), 2)).toThrow(/exceeds/);
    expect(() => createNearestCodewordSearch(codebook).nearestBlocks(new Float32Array(4), 0, 3, new Int32Array(3))).toThrow(/exceeds/);
    expect(() => createNearestCodewordSearch(codebook).nearestBlocks(new Float32Array(6), 0, 3, new Int32Array(2))).toThrow(/cannot hold/);
    expect(() => nearestCodewordBruteForce(codebook, new Float32Array(3), 2)).toThrow(/exceeds/);
  });
});
