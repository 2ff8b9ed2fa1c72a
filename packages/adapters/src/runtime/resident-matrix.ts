// Types only: the caller picks and initialises the backend, so loading adapters never loads WASM or WebGPU code.
import type { DeviceArray, KernelBackend, KernelSet, WeightFormat } from "@kvpack/kernels";
import { quantizeQ8_0 } from "../gguf/gguf-writer.js";
import type { QuantizedTensor } from "../gguf/quantized-tensor.js";

/** The block encoding of each resident matrix uploaded as blocks; fp32 matrices are not listed. */
const residentFormats = new WeakMap<DeviceArray, WeightFormat>();

const floatTypes = new Set(["F32", "F16", "BF16"]);

const formatOfGgmlType: Readonly<Record<string, WeightFormat>> = { Q8_0: "q8_0", Q4_0: "q4_0", F16: "f16" };

/** One block of rows of a stacked matrix: its fp32 values (read only when needed) and, optionally, its file blocks. */
export interface MatrixPart {
  readonly values: () => Float32Array;
  readonly blocks?: QuantizedTensor;
}

function concatenate<T extends Float32Array | Uint8Array>(parts: readonly T[], create: (length: number) => T): T {
  if (parts.length === 1) return parts[0];
  const out = create(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/**
 * Uploads row blocks stacked into one matrix. When every part has file blocks of one encoding the
 * backend multiplies (`weightFormats`), the blocks go up as bytes (resident size ≈ the file's).
 * Blocks the backend cannot multiply (Q4_1, Q5_x, K-quants, IQ4, or a stack of mixed types as in
 * Q4_K_M files) go up requantized to Q8_0 when rows are whole 32-blocks: 8.5 bits per weight
 * instead of fp32's 32, at Q8_0's rounding (≤ 0.57 of a block's step, see gguf.test.ts). Matrices
 * without file blocks go up as fp32.
 */
export function uploadMatrix(backend: KernelBackend, parts: readonly MatrixPart[]): DeviceArray {
  const types = new Set(parts.map((part) => part.blocks?.type));
  const format = types.size === 1 ? formatOfGgmlType[String([...types][0])] : undefined;
  // Row length must be whole blocks (ggml blocks may straddle rows, e.g. stories260K's 172-wide w2).
  const multiple = format === "f16" ? 8 : 32;
  const wholeRows = parts.every((part) => part.blocks && part.blocks.shape.length === 2 && part.blocks.shape[1] % multiple === 0);
  if (format && wholeRows && backend.kernels.quantizedMatmul && backend.weightFormats?.includes(format)) {
    const array = backend.upload(concatenate(parts.map((part) => part.blocks!.blocks), (length) => new Uint8Array(length)));
    residentFormats.set(array, format);
    return array;
  }
  // Float tensors (F32, F16 and BF16 the backend does not multiply) are never rounded to 8 bits.
  const quantizedFile = parts.every(
    (part) => part.blocks && !floatTypes.has(String(part.blocks.type)) && part.blocks.shape.length === 2 && part.blocks.shape[1] % 32 === 0,
  );
  if (quantizedFile && backend.kernels.quantizedMatmul && backend.weightFormats?.includes("q8_0")) {
    const array = backend.upload(concatenate(parts.map((part) => quantizeQ8_0(part.values())), (length) => new Uint8Array(length)));
    residentFormats.set(array, "q8_0");
    return array;
  }
  return backend.upload(concatenate(parts.map((part) => part.values()), (length) => new Float32Array(length)));
}

/** The encoding a resident matrix was uploaded in ("f32" for plain floats). */
export function residentMatrixFormat(matrix: DeviceArray): WeightFormat | "f32" {
  return residentFormats.get(matrix) ?? "f32";
}

/** `matrix · vector` for a matrix from `uploadMatrix`: the block kernel for blocks, matmul for fp32. */
export function matmulResident(kernels: KernelSet, matrix: DeviceArray, vector: Float32Array, rows: number, columns: number): Promise<Float32Array> {
  const format = residentFormats.get(matrix);
  if (format) return kernels.quantizedMatmul!({ matrix, format, vector, rows, columns });
  return kernels.matmul({ matrix, vector, rows, columns });
}
