// Types only: the caller picks and initialises the backend, so loading adapters never loads WASM or WebGPU code.
import type { DeviceArray, KernelBackend, KernelSet, WeightFormat } from "@kvpack/kernels";
import { quantizeQ8_0 } from "../gguf/gguf-writer.js";
import type { QuantizedTensor } from "../gguf/quantized-tensor.js";

/** The block encoding of each resident matrix uploaded as blocks; fp32 matrices are not listed. */
const residentFormats = new WeakMap<DeviceArray, WeightFormat>();

const floatTypes = new Set(["F32", "F16", "BF16"]);

const formatOfGgmlType: Readonly<Record<string, WeightFormat>> = { Q8_0: "q8_0", Q4_0: "q4_0", Q4_1: "q4_1", Q5_0: "q5_0", F16: "f16", Q4_K: "q4_k", Q6_K: "q6_k" };

/** Row lengths each format's kernel takes: whole blocks (ggml blocks may straddle rows, e.g. stories260K's 172-wide w2). */
const rowMultiple: Readonly<Record<WeightFormat, number>> = { q8_0: 32, q4_0: 32, q4_1: 32, q5_0: 32, f16: 8, q4_k: 256, q6_k: 256 };

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

/** One resident run of rows of a stacked matrix, in one encoding. */
interface StackedPart {
  readonly array: DeviceArray;
  readonly format: WeightFormat;
  readonly rows: number;
}

/**
 * Row blocks of different encodings stacked into one matrix (llama.cpp's Q4_K_M stacks Q4_K q/k with
 * a Q6_K v): each part stays resident in its own encoding and `matmulResident` runs one block
 * matmul per part. Reads back as the parts' bytes end to end; not writable.
 */
class StackedMatrix implements DeviceArray {
  readonly backendName: string;
  readonly type = "uint8" as const;
  readonly length: number;

  constructor(readonly parts: readonly StackedPart[]) {
    this.backendName = parts[0].array.backendName;
    this.length = parts.reduce((sum, part) => sum + part.array.length, 0);
  }

  async read(): Promise<Uint8Array> {
    const bytes = await Promise.all(this.parts.map(async (part) => (await part.array.read()) as Uint8Array));
    return concatenate(bytes, (length) => new Uint8Array(length));
  }

  write(): void {
    throw new Error("a stacked matrix of mixed block encodings is read-only");
  }

  dispose(): void {
    for (const part of this.parts) part.array.dispose();
  }
}

/**
 * Uploads row blocks stacked into one matrix. When every part has file blocks in an encoding the
 * backend multiplies (`weightFormats`: Q8_0, Q4_0, Q4_1, Q5_0, F16, Q4_K, Q6_K on ts and wasm) with rows of whole
 * blocks, the blocks go up as bytes (resident size = the file's tensor bytes); parts of different
 * such encodings stay a stack of per-part matrices. Other blocks (Q5_1, Q2_K, Q3_K, Q5_K, IQ4,
 * or rows that are not whole blocks) go up requantized to Q8_0 when rows are whole 32-blocks: 8.5
 * bits per weight instead of fp32's 32, at Q8_0's rounding (≤ 0.57 of a block's step, see
 * gguf.test.ts). Matrices without file blocks go up as fp32.
 */
export function uploadMatrix(backend: KernelBackend, parts: readonly MatrixPart[]): DeviceArray {
  const formats = parts.map((part) => {
    const format = part.blocks ? formatOfGgmlType[String(part.blocks.type)] : undefined;
    const whole = format !== undefined && part.blocks!.shape.length === 2 && part.blocks!.shape[1] % rowMultiple[format] === 0;
    return whole && backend.weightFormats?.includes(format) ? format : undefined;
  });
  if (backend.kernels.quantizedMatmul && formats.every((format) => format !== undefined)) {
    if (new Set(formats).size === 1) {
      const array = backend.upload(concatenate(parts.map((part) => part.blocks!.blocks), (length) => new Uint8Array(length)));
      residentFormats.set(array, formats[0]!);
      return array;
    }
    return new StackedMatrix(parts.map((part, i) => ({ array: backend.upload(part.blocks!.blocks), format: formats[i]!, rows: part.blocks!.shape[0] })));
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

/** The encoding a resident matrix was uploaded in ("f32" for plain floats, "mixed" for a stack of encodings). */
export function residentMatrixFormat(matrix: DeviceArray): WeightFormat | "f32" | "mixed" {
  if (matrix instanceof StackedMatrix) return "mixed";
  return residentFormats.get(matrix) ?? "f32";
}

/** `matrix · vector` for a matrix from `uploadMatrix`: the block kernel for blocks (per part for a stack), matmul for fp32. */
export async function matmulResident(kernels: KernelSet, matrix: DeviceArray, vector: Float32Array, rows: number, columns: number, out?: Float32Array): Promise<Float32Array> {
  if (matrix instanceof StackedMatrix) {
    const out = new Float32Array(rows);
    let row = 0;
    for (const part of matrix.parts) {
      out.set(await kernels.quantizedMatmul!({ matrix: part.array, format: part.format, vector, rows: part.rows, columns }), row);
      row += part.rows;
    }
    return out;
  }
  const format = residentFormats.get(matrix);
  if (format) return kernels.quantizedMatmul!({ matrix, format, vector, rows, columns, out });
  return kernels.matmul({ matrix, vector, rows, columns });
}

/**
 * `count` vectors (`count × columns`) through a matrix from `uploadMatrix`: `count × rows`, each row
 * equal to `matmulResident` on that vector. Block-encoded matrices use the backend's
 * quantizedMatmulBatch (each block read once per few vectors), or one quantizedMatmul per vector
 * on a backend without it; fp32 matrices use matmulBatch. `out` (count × rows), when given, may
 * receive the result (single-encoding block matrices write it there): use the returned array.
 */
export async function matmulResidentBatch(kernels: KernelSet, matrix: DeviceArray, vectors: Float32Array, count: number, rows: number, columns: number, out?: Float32Array): Promise<Float32Array> {
  if (count === 1) return matmulResident(kernels, matrix, vectors, rows, columns, out);
  const format = residentFormats.get(matrix);
  if (!format && !(matrix instanceof StackedMatrix)) return kernels.matmulBatch({ matrix, vectors, count, rows, columns });
  // One encoding: the kernel's count × rows result is already the layout wanted.
  if (format && kernels.quantizedMatmulBatch) return kernels.quantizedMatmulBatch({ matrix, format, vectors, count, rows, columns, out });
  const parts = matrix instanceof StackedMatrix ? matrix.parts : [{ array: matrix, format: format!, rows }];
  const stacked = out ?? new Float32Array(count * rows);
  let first = 0;
  for (const part of parts) {
    const partRows = part.rows;
    if (kernels.quantizedMatmulBatch) {
      const result = await kernels.quantizedMatmulBatch({ matrix: part.array, format: part.format, vectors, count, rows: partRows, columns });
      for (let v = 0; v < count; v++) stacked.set(result.subarray(v * partRows, (v + 1) * partRows), v * rows + first);
    } else {
      for (let v = 0; v < count; v++) {
        const vector = vectors.subarray(v * columns, (v + 1) * columns);
        stacked.set(await kernels.quantizedMatmul!({ matrix: part.array, format: part.format, vector, rows: partRows, columns }), v * rows + first);
      }
    }
    first += partRows;
  }
  return stacked;
}
