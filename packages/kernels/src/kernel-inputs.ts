/**
 * Plain typed-array inputs of every kernel. They do not depend on any codec's byte layout: a codec
 * or cache calls them with its unpacked codes (or codes packed at 1, 2 or 4 bits, see `bitWidth`),
 * its norms as floats and its codebook as `size × blockSize` floats.
 *
 * All vectors here live in the codec's rotated domain: rotating queries in and the attention
 * output back out is the codec's job, done once per step.
 */

/** Element types a backend can keep resident in its own memory. */
export type DeviceArrayType = "float32" | "uint8" | "uint16";

/**
 * An array kept in a backend's memory (WASM linear memory, a GPU buffer), so hot loops do not pay
 * a copy per call. Kernels accept it wherever they accept the matching typed array.
 */
export interface DeviceArray {
  readonly backendName: string;
  readonly type: DeviceArrayType;
  readonly length: number;
  /** Copies the contents out. */
  read(): Promise<Float32Array | Uint8Array | Uint16Array>;
  /** Overwrites elements starting at `offset` (e.g. appending tokens to a preallocated cache). */
  write(data: Float32Array | Uint8Array | Uint16Array, offset?: number): void;
  /** Frees the backend memory; the array must not be used afterwards. */
  dispose(): void;
}

export type FloatInput = Float32Array | DeviceArray;
/** Codes: Uint8Array (1 index per byte, or packed, see `bitWidth`) or Uint16Array (1 index each). */
export type CodeInput = Uint8Array | Uint16Array | DeviceArray;

/** `size = codewords.length / blockSize` codewords of `blockSize` floats (k = 1: scalar levels). */
export interface CodebookInput {
  readonly codewords: Float32Array;
  readonly blockSize: number;
}

/**
 * Rows of `dimension` floats stored as one code per block of `blockSize` coordinates plus one norm
 * per row: row r is `norms[r] · concat(codebook[code[r, b]])`.
 */
export interface CompressedRows {
  readonly codes: CodeInput;
  /**
   * Bits per code in a Uint8 `codes` array: 8 (default) is one index per byte; 1, 2 and 4 are
   * packed least-significant bits first, every row starting on a byte boundary. Ignored (16)
   * for Uint16 codes.
   */
  readonly bitWidth?: 1 | 2 | 4 | 8 | 16;
  readonly norms: FloatInput;
  readonly codebook: CodebookInput;
}

export interface EncodeInputs {
  /** `count × dimension` floats in the rotated domain. */
  readonly vectors: Float32Array;
  readonly count: number;
  readonly dimension: number;
  readonly codebook: CodebookInput;
}

export interface EncodeResult {
  /** Unpacked nearest-codeword index per block: Uint8Array when size ≤ 256, else Uint16Array. */
  readonly codes: Uint8Array | Uint16Array;
  /** Euclidean norm of every input vector. */
  readonly norms: Float32Array;
}

export interface DecodeInputs {
  readonly rows: CompressedRows;
  readonly count: number;
  readonly dimension: number;
}

export interface ScoresInputs {
  /** `dimension` floats, rotated like the keys. */
  readonly query: Float32Array;
  readonly keys: CompressedRows;
  readonly count: number;
  readonly dimension: number;
}

/**
 * Shape of one decoding step. Rows of KV head h, token t sit at row `h · capacity + t` (or, with
 * `layout: "token-major"`, `t · kvHeadCount + h`), so a cache can preallocate and append in place.
 */
export interface AttentionShape {
  /** `headCount × dimension` floats. */
  readonly queries: Float32Array;
  readonly tokenCount: number;
  readonly headCount: number;
  /** GQA: query head h reads KV head ⌊h / (headCount / kvHeadCount)⌋. */
  readonly kvHeadCount: number;
  readonly dimension: number;
  /** Rows reserved per KV head (≥ tokenCount) in the head-major layout; defaults to tokenCount. */
  readonly capacity?: number;
  /**
   * "head-major" (default): KV head h, token t is row `h · capacity + t`. "token-major": row
   * `t · kvHeadCount + h`, the llama2.c cache layout (all heads of a token together).
   */
  readonly layout?: "head-major" | "token-major";
  /** Score scale; defaults to 1/√dimension. */
  readonly scale?: number;
}

export interface CompressedAttentionInputs extends AttentionShape {
  readonly keys: CompressedRows;
  readonly values: CompressedRows;
}

export interface DenseAttentionInputs extends AttentionShape {
  /** `kvHeadCount × capacity × dimension` floats (token-major: `tokenCount × kvHeadCount × dimension`). */
  readonly keys: FloatInput;
  readonly values: FloatInput;
}

export interface MatmulInputs {
  /** `rows × columns`, row-major (llama2.c `W (d,n)`). */
  readonly matrix: FloatInput;
  readonly vector: Float32Array;
  readonly rows: number;
  readonly columns: number;
}

export interface MatmulBatchInputs {
  /** `rows × columns`, row-major (llama2.c `W (d,n)`). */
  readonly matrix: FloatInput;
  /** `count × columns`: one input vector per row (e.g. the tokens of a prefill chunk). */
  readonly vectors: Float32Array;
  readonly count: number;
  readonly rows: number;
  readonly columns: number;
}

export interface RmsNormInputs {
  readonly input: Float32Array;
  readonly weight: FloatInput;
  /** Defaults to 1e-5 (llama2.c). */
  readonly epsilon?: number;
}

export interface RopeInputs {
  /** One or more heads of `headDimension` floats, rotated in adjacent pairs (llama2.c). */
  readonly input: Float32Array;
  readonly headDimension: number;
  readonly position: number;
  /** Defaults to 10000. */
  readonly theta?: number;
}

export interface SwigluInputs {
  readonly gate: Float32Array;
  readonly up: Float32Array;
  /** Where to write the gate.length results (then returned) instead of a new array: a caller's reused buffer. */
  readonly out?: Float32Array;
}

/**
 * Weight encodings `quantizedMatmul` multiplies in place, as GGUF stores them: "q8_0" 34-byte blocks
 * (fp16 d, 32 × i8), "q4_0" 18-byte blocks (fp16 d, 32 nibbles: low halves first), "f16" halves,
 * and the K-quants' 256-value super-blocks: "q4_k" 144 bytes (fp16 d, fp16 dmin, 12 bytes of 6-bit
 * scales/mins, 128 bytes of nibbles), "q6_k" 210 bytes (ql[128], qh[64], 16 i8 scales, fp16 d);
 * "q4_1" 20-byte blocks (fp16 d, fp16 m, 32 nibbles; d·q + m), "q5_0" 22-byte blocks (fp16 d, 32 high
 * bits, 32 nibbles; d·(q − 16)).
 */
export type WeightFormat = "q8_0" | "q4_0" | "f16" | "q4_k" | "q6_k" | "q4_1" | "q5_0";

/** Values per block and bytes per block of each format ("f16": one half). */
export const weightBlockLayout: Readonly<Record<WeightFormat, { readonly size: number; readonly bytes: number }>> = {
  q8_0: { size: 32, bytes: 34 },
  q4_0: { size: 32, bytes: 18 },
  f16: { size: 1, bytes: 2 },
  q4_k: { size: 256, bytes: 144 },
  q6_k: { size: 256, bytes: 210 },
  q4_1: { size: 32, bytes: 20 },
  q5_0: { size: 32, bytes: 22 },
};

/** Bytes per row of `columns` weights in each format. */
export function weightRowBytes(format: WeightFormat, columns: number): number {
  const layout = weightBlockLayout[format];
  return (columns / layout.size) * layout.bytes;
}

export interface QuantizedMatmulInputs {
  /** `rows` rows of `columns` weights in `format`, back to back as in the file (bytes; resident uint8 or a Uint8Array). */
  readonly matrix: Uint8Array | DeviceArray;
  readonly format: WeightFormat;
  readonly vector: Float32Array;
  readonly rows: number;
  /** A multiple of 32 (one ggml block) for q8_0/q4_0/q4_1/q5_0, of 256 for q4_k/q6_k, of 8 for f16. */
  readonly columns: number;
  /** Where to write the `rows` results (then returned) instead of a new array: a caller's reused buffer, so a decode step allocates nothing per matmul. */
  readonly out?: Float32Array;
}

export interface QuantizedMatmulBatchInputs {
  /** As `QuantizedMatmulInputs.matrix`. */
  readonly matrix: Uint8Array | DeviceArray;
  readonly format: WeightFormat;
  /** `count × columns`: one input vector per row (e.g. the tokens of a prefill chunk). */
  readonly vectors: Float32Array;
  readonly count: number;
  readonly rows: number;
  /** As `QuantizedMatmulInputs.columns`. */
  readonly columns: number;
  /** Where to write the `count × rows` results (then returned) instead of a new array. */
  readonly out?: Float32Array;
}
