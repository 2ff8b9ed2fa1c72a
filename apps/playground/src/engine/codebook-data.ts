import * as codebookPackage from "@kvpack/codebook";
import { PlaygroundError } from "./plain-error.js";

export interface CodebookView {
  readonly size: number;
  readonly blockSize: number;
  readonly codewords: Float32Array;
}

/** Source dimension for the view: divisible by 2, 3, 4 and 8, like common head sizes. */
export const codebookViewSourceDimension = 48;

type Builder = (options: { sourceDimension: number; blockSize: number; bits: number; onProgress?: (progress: { stage: string; fraction: number }) => void }) => {
  size: number;
  blockSize: number;
  codewords: Float32Array;
};

/** Builds the FibQuant codebook for the view; codewords are copied so they can be transferred. */
export function buildCodebookView(blockSize: number, bits: number, onProgress?: (fraction: number, stage: string) => void): CodebookView {
  const build = (codebookPackage as Record<string, unknown>).buildFibQuantCodebook as Builder | undefined;
  if (typeof build !== "function") throw new PlaygroundError("The FibQuant codebook builder is not part of this build yet.");
  const codebook = build({ sourceDimension: codebookViewSourceDimension, blockSize, bits, onProgress: (progress) => onProgress?.(progress.fraction, progress.stage) });
  return { size: codebook.size, blockSize: codebook.blockSize, codewords: new Float32Array(codebook.codewords) };
}
