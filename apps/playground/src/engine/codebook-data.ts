import { buildFibQuantCodebook } from "@kvpack/codebook";

export interface CodebookView {
  readonly size: number;
  readonly blockSize: number;
  readonly codewords: Float32Array;
}

/** Source dimension for the view: divisible by 2, 3, 4 and 8, like common head sizes. */
export const codebookViewSourceDimension = 48;

/** Builds the FibQuant codebook for the view; codewords are copied so they can be transferred. */
export function buildCodebookView(blockSize: number, bits: number, onProgress?: (fraction: number, stage: string) => void): CodebookView {
  const codebook = buildFibQuantCodebook({
    sourceDimension: codebookViewSourceDimension,
    blockSize,
    bits,
    onProgress: (progress) => onProgress?.(progress.fraction, progress.stage),
  });
  return { size: codebook.size, blockSize: codebook.blockSize, codewords: new Float32Array(codebook.codewords) };
}
