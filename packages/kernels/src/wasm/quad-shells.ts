import type { CodebookShells } from "../codebook-shells.js";

/** Radius-sorted codewords in shells of 4, as structure of arrays for the f32x4 encode search (encodeShells). */
export interface QuadShells {
  /** quad × blockSize × 4 lanes; missing lanes hold 1e18 (never nearest). */
  readonly codewords: Float32Array;
  /** quad × 4 original indices; missing lanes 65536. */
  readonly order: Int32Array;
  /** Smallest and largest radius of each quad. */
  readonly innerRadii: Float32Array;
  readonly outerRadii: Float32Array;
}

const quadCache = new WeakMap<CodebookShells, QuadShells>();

/** The quads of `shells`, built once per codebook shells object. */
export function quadShells(shells: CodebookShells): QuadShells {
  const cached = quadCache.get(shells);
  if (cached) return cached;
  const { size, blockSize, radii, sortedCodewords, order } = shells;
  const quadCount = Math.ceil(size / 4);
  const quads: QuadShells = {
    codewords: new Float32Array(quadCount * blockSize * 4).fill(1e18),
    order: new Int32Array(quadCount * 4).fill(65536),
    innerRadii: new Float32Array(quadCount),
    outerRadii: new Float32Array(quadCount),
  };
  for (let rank = 0; rank < size; rank++) {
    const quad = rank >>> 2;
    const lane = rank & 3;
    for (let j = 0; j < blockSize; j++) quads.codewords[(quad * blockSize + j) * 4 + lane] = sortedCodewords[rank * blockSize + j];
    quads.order[quad * 4 + lane] = order[rank];
  }
  for (let quad = 0; quad < quadCount; quad++) {
    quads.innerRadii[quad] = radii[quad * 4];
    quads.outerRadii[quad] = radii[Math.min(quad * 4 + 3, size - 1)];
  }
  quadCache.set(shells, quads);
  return quads;
}
