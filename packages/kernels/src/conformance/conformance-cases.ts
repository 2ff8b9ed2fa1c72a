/**
 * The conformance suite as data: every backend runs every case and is compared with the ts oracle
 * at its declared precision. Inputs are generated from the seeds below, so each backend sees
 * exactly the same arrays. Shapes are small (every GPU buffer ≤ 256K floats).
 */

export interface CodebookSpec {
  /** fibonacci: FibQuant k = 2 initial codebook; scalar: uniform levels (k = 1); random: Gaussian. */
  readonly kind: "fibonacci" | "scalar" | "random";
  readonly size: number;
  readonly blockSize: number;
  readonly seed?: number;
}

export interface RowsSpec {
  readonly codebook: CodebookSpec;
  readonly bitWidth: 1 | 2 | 4 | 8 | 16;
}

interface CaseBase {
  readonly name: string;
  readonly seed: number;
}

export type ConformanceCase =
  | (CaseBase & { readonly kernel: "encode"; readonly count: number; readonly dimension: number; readonly codebook: CodebookSpec })
  | (CaseBase & { readonly kernel: "decode"; readonly count: number; readonly dimension: number; readonly rows: RowsSpec; readonly resident?: boolean })
  | (CaseBase & { readonly kernel: "scores"; readonly count: number; readonly dimension: number; readonly rows: RowsSpec })
  | (CaseBase & {
      readonly kernel: "attention";
      readonly headCount: number;
      readonly kvHeadCount: number;
      readonly tokenCount: number;
      readonly capacity?: number;
      readonly dimension: number;
      readonly keys: RowsSpec;
      readonly values: RowsSpec;
      readonly resident?: boolean;
      readonly layout?: "head-major" | "token-major";
    })
  | (CaseBase & {
      readonly kernel: "denseAttention";
      readonly headCount: number;
      readonly kvHeadCount: number;
      readonly tokenCount: number;
      readonly capacity?: number;
      readonly dimension: number;
      readonly resident?: boolean;
      readonly layout?: "head-major" | "token-major";
    })
  | (CaseBase & { readonly kernel: "matmul"; readonly rows: number; readonly columns: number; readonly resident?: boolean })
  | (CaseBase & { readonly kernel: "matmulBatch"; readonly count: number; readonly rows: number; readonly columns: number; readonly resident?: boolean })
  | (CaseBase & { readonly kernel: "rmsNorm"; readonly length: number })
  | (CaseBase & { readonly kernel: "rope"; readonly headCount: number; readonly headDimension: number; readonly position: number })
  | (CaseBase & {
      readonly kernel: "swiglu";
      readonly length: number;
      /** Standard deviation of the gates (default 3); gates past ±87 reach exp4's clamp of −|x| at −87. */
      readonly gateScale?: number;
      /** Write into a caller's buffer (`out`), which must come back as the result. */
      readonly out?: boolean;
    });

const fib16: CodebookSpec = { kind: "fibonacci", size: 16, blockSize: 2 };
const scalar16: CodebookSpec = { kind: "scalar", size: 16, blockSize: 1 };
const scalar4: CodebookSpec = { kind: "scalar", size: 4, blockSize: 1 };

export const conformanceCases: readonly ConformanceCase[] = [
  { name: "encode fibquant k=2 N=16 d=64", kernel: "encode", seed: 1, count: 40, dimension: 64, codebook: fib16 },
  { name: "encode scalar N=16 d=32", kernel: "encode", seed: 2, count: 40, dimension: 32, codebook: scalar16 },
  { name: "encode random k=4 N=256 d=32", kernel: "encode", seed: 3, count: 30, dimension: 32, codebook: { kind: "random", size: 256, blockSize: 4, seed: 30 } },
  { name: "encode random k=2 N=300 (uint16 codes)", kernel: "encode", seed: 4, count: 20, dimension: 16, codebook: { kind: "random", size: 300, blockSize: 2, seed: 40 } },
  { name: "encode fibquant k=2 N=11 (non power of two)", kernel: "encode", seed: 5, count: 25, dimension: 64, codebook: { kind: "fibonacci", size: 11, blockSize: 2 } },

  { name: "decode 4-bit packed k=2", kernel: "decode", seed: 10, count: 33, dimension: 64, rows: { codebook: fib16, bitWidth: 4 } },
  { name: "decode 4-bit packed k=2, resident", kernel: "decode", seed: 11, count: 17, dimension: 64, rows: { codebook: fib16, bitWidth: 4 }, resident: true },
  { name: "decode 4-bit scalar (2 floats per byte)", kernel: "decode", seed: 12, count: 21, dimension: 32, rows: { codebook: scalar16, bitWidth: 4 } },
  { name: "decode 2-bit scalar", kernel: "decode", seed: 13, count: 9, dimension: 16, rows: { codebook: scalar4, bitWidth: 2 } },
  { name: "decode 1-bit", kernel: "decode", seed: 14, count: 9, dimension: 16, rows: { codebook: { kind: "scalar", size: 2, blockSize: 1 }, bitWidth: 1 } },
  { name: "decode unpacked bytes k=4 N=256", kernel: "decode", seed: 15, count: 12, dimension: 32, rows: { codebook: { kind: "random", size: 256, blockSize: 4, seed: 31 }, bitWidth: 8 } },
  { name: "decode uint16 codes N=300", kernel: "decode", seed: 16, count: 12, dimension: 16, rows: { codebook: { kind: "random", size: 300, blockSize: 2, seed: 41 }, bitWidth: 16 } },
  { name: "decode partial last byte (3 blocks of 4 bits)", kernel: "decode", seed: 17, count: 7, dimension: 6, rows: { codebook: fib16, bitWidth: 4 } },

  { name: "scores 4-bit k=2", kernel: "scores", seed: 20, count: 50, dimension: 64, rows: { codebook: fib16, bitWidth: 4 } },
  { name: "scores 4-bit scalar d=128", kernel: "scores", seed: 21, count: 30, dimension: 128, rows: { codebook: scalar16, bitWidth: 4 } },
  { name: "scores 2-bit partial byte d=6", kernel: "scores", seed: 22, count: 11, dimension: 6, rows: { codebook: scalar4, bitWidth: 2 } },
  { name: "scores 4-bit partial last byte (d=6, k=2)", kernel: "scores", seed: 24, count: 9, dimension: 6, rows: { codebook: fib16, bitWidth: 4 } },
  { name: "scores 4-bit, codebook of 11 (codes < 16 unused)", kernel: "scores", seed: 25, count: 40, dimension: 32, rows: { codebook: { kind: "fibonacci", size: 11, blockSize: 2 }, bitWidth: 4 } },
  { name: "scores uint16 N=300", kernel: "scores", seed: 23, count: 13, dimension: 16, rows: { codebook: { kind: "random", size: 300, blockSize: 2, seed: 42 }, bitWidth: 16 } },

  {
    name: "attention fibquant 4-bit keys, scalar 4-bit values, MHA",
    kernel: "attention", seed: 30, headCount: 2, kvHeadCount: 2, tokenCount: 70, dimension: 64,
    keys: { codebook: fib16, bitWidth: 4 }, values: { codebook: scalar16, bitWidth: 4 },
  },
  {
    name: "attention GQA 4/2, capacity > tokens, resident",
    kernel: "attention", seed: 31, headCount: 4, kvHeadCount: 2, tokenCount: 37, capacity: 50, dimension: 32,
    keys: { codebook: fib16, bitWidth: 4 }, values: { codebook: fib16, bitWidth: 4 }, resident: true,
  },
  {
    name: "attention 2-bit scalar keys, unpacked k=4 values",
    kernel: "attention", seed: 32, headCount: 2, kvHeadCount: 1, tokenCount: 45, dimension: 16,
    keys: { codebook: scalar4, bitWidth: 2 }, values: { codebook: { kind: "random", size: 256, blockSize: 4, seed: 32 }, bitWidth: 8 },
  },
  {
    name: "attention uint16 keys, partial-byte values, single token",
    kernel: "attention", seed: 33, headCount: 2, kvHeadCount: 2, tokenCount: 1, dimension: 6,
    keys: { codebook: { kind: "random", size: 300, blockSize: 2, seed: 43 }, bitWidth: 16 }, values: { codebook: fib16, bitWidth: 4 },
  },
  {
    name: "attention d=128 fibquant 4-bit, 300 tokens",
    kernel: "attention", seed: 34, headCount: 2, kvHeadCount: 1, tokenCount: 300, dimension: 128,
    keys: { codebook: fib16, bitWidth: 4 }, values: { codebook: fib16, bitWidth: 4 },
  },
  {
    name: "attention 4096 tokens (histogram value path), GQA 2/1",
    kernel: "attention", seed: 35, headCount: 2, kvHeadCount: 1, tokenCount: 4096, dimension: 16,
    keys: { codebook: fib16, bitWidth: 4 }, values: { codebook: scalar16, bitWidth: 4 },
  },
  {
    name: "attention 4096 tokens, 2-bit scalar values (histogram, 4 codes per byte)",
    kernel: "attention", seed: 36, headCount: 1, kvHeadCount: 1, tokenCount: 4100, dimension: 8,
    keys: { codebook: fib16, bitWidth: 4 }, values: { codebook: scalar4, bitWidth: 2 },
  },
  {
    name: "attention token-major layout (llama2.c), GQA 4/2",
    kernel: "attention", seed: 37, headCount: 4, kvHeadCount: 2, tokenCount: 29, dimension: 16, layout: "token-major",
    keys: { codebook: fib16, bitWidth: 4 }, values: { codebook: scalar16, bitWidth: 4 },
  },

  { name: "dense attention MHA d=64", kernel: "denseAttention", seed: 40, headCount: 2, kvHeadCount: 2, tokenCount: 90, dimension: 64 },
  { name: "dense attention GQA d=12 (SIMD tail)", kernel: "denseAttention", seed: 41, headCount: 6, kvHeadCount: 2, tokenCount: 33, capacity: 40, dimension: 12 },
  { name: "dense attention resident d=32", kernel: "denseAttention", seed: 42, headCount: 4, kvHeadCount: 1, tokenCount: 20, dimension: 32, resident: true },

  { name: "dense attention token-major layout (llama2.c), GQA 8/4, d=8", kernel: "denseAttention", seed: 43, headCount: 8, kvHeadCount: 4, tokenCount: 31, dimension: 8, layout: "token-major" },

  { name: "matmul 7×13", kernel: "matmul", seed: 50, rows: 7, columns: 13 },
  { name: "matmul 64×64 resident", kernel: "matmul", seed: 51, rows: 64, columns: 64, resident: true },
  // matmulBatch: odd count (the unpaired last vector), columns that are and are not multiples of 16 (the two dot paths).
  { name: "matmulBatch 5 vectors × (7×13)", kernel: "matmulBatch", seed: 52, count: 5, rows: 7, columns: 13 },
  { name: "matmulBatch 6 vectors × (40×64) resident", kernel: "matmulBatch", seed: 53, count: 6, rows: 40, columns: 64, resident: true },
  { name: "matmulBatch 1 vector × (9×48)", kernel: "matmulBatch", seed: 54, count: 1, rows: 9, columns: 48 },
  { name: "rmsNorm 37", kernel: "rmsNorm", seed: 60, length: 37 },
  { name: "rmsNorm 64", kernel: "rmsNorm", seed: 61, length: 64 },
  { name: "rope 2 heads × 8, position 5", kernel: "rope", seed: 70, headCount: 2, headDimension: 8, position: 5 },
  { name: "rope 4 heads × 16, position 255", kernel: "rope", seed: 71, headCount: 4, headDimension: 16, position: 255 },
  { name: "swiglu 33", kernel: "swiglu", seed: 80, length: 33 },
  // The SIMD kernel's 4-lane tail: lengths 1 and 2 are a partial group only, 7 a full group and a tail of 3.
  { name: "swiglu 1", kernel: "swiglu", seed: 81, length: 1 },
  { name: "swiglu 2", kernel: "swiglu", seed: 82, length: 2 },
  { name: "swiglu 7", kernel: "swiglu", seed: 83, length: 7 },
  { name: "swiglu 1536, gates σ 40, into out", kernel: "swiglu", seed: 84, length: 1536, gateScale: 40, out: true },
];
