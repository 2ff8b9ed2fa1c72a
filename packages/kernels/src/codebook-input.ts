import type { ScalarCodebook, VectorCodebook } from "@kvpack/codebook";
import type { CodebookInput } from "./kernel-inputs.js";

/** Kernel codebook input from a @kvpack/codebook table (a scalar table is the k = 1 case). */
export function codebookInput(codebook: VectorCodebook | ScalarCodebook): CodebookInput {
  if (codebook.kind === "scalar") return { codewords: codebook.levels, blockSize: 1 };
  return { codewords: codebook.codewords, blockSize: codebook.blockSize };
}
