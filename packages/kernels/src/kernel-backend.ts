import type {
  CompressedAttentionInputs,
  DecodeInputs,
  DenseAttentionInputs,
  DeviceArray,
  DeviceArrayType,
  EncodeInputs,
  EncodeResult,
  MatmulBatchInputs,
  MatmulInputs,
  QuantizedMatmulBatchInputs,
  QuantizedMatmulInputs,
  RmsNormInputs,
  RopeInputs,
  ScoresInputs,
  SwigluInputs,
  WeightFormat,
} from "./kernel-inputs.js";

export type BackendName = "ts" | "wasm" | "webgpu";

/** Decode returns a fresh array, or writes into a resident `output` and returns it. */
export interface DecodeKernel {
  (inputs: DecodeInputs): Promise<Float32Array>;
  (inputs: DecodeInputs, output: DeviceArray): Promise<DeviceArray>;
}

/** The kernels every backend implements, with the same inputs and the same results. */
export interface KernelSet {
  /** Nearest codeword per block of each vector's direction, plus the vector norms. */
  encode(inputs: EncodeInputs): Promise<EncodeResult>;
  /** codes + norms → `count × dimension` floats in the rotated domain. */
  decode: DecodeKernel;
  /** q·k̂ for every row, through per-block lookup tables (no decode). */
  scores(inputs: ScoresInputs): Promise<Float32Array>;
  /** Fused decode-step attention over compressed keys and values: `headCount × dimension`. */
  attention(inputs: CompressedAttentionInputs): Promise<Float32Array>;
  /** The same over dense fp32 keys and values (the baseline). */
  denseAttention(inputs: DenseAttentionInputs): Promise<Float32Array>;
  /** `matrix · vector` (llama2.c `matmul`). */
  matmul(inputs: MatmulInputs): Promise<Float32Array>;
  /**
   * `matrix · vector` with the matrix kept in a GGUF block encoding (`weightFormats` lists which);
   * absent on backends that only multiply fp32 (callers then upload dequantized weights).
   */
  quantizedMatmul?(inputs: QuantizedMatmulInputs): Promise<Float32Array>;
  /**
   * `count` quantizedMatmuls against one block-encoded matrix (batched prefill): `count × rows`, row
   * v = matrix · vectors[v], each equal to what `quantizedMatmul` gives for that vector on the same
   * backend, while each weight block is read once per call (per few vectors) instead of once per vector.
   * Present wherever `quantizedMatmul` is.
   */
  quantizedMatmulBatch?(inputs: QuantizedMatmulBatchInputs): Promise<Float32Array>;
  /**
   * `count` matmuls against one matrix (matrix–matrix): `count × rows`, row v = matrix · vectors[v].
   * Each result equals what `matmul` gives for that vector on the same backend (same summation
   * order), while the matrix is read once per call instead of once per vector.
   */
  matmulBatch(inputs: MatmulBatchInputs): Promise<Float32Array>;
  rmsNorm(inputs: RmsNormInputs): Promise<Float32Array>;
  /** RoPE on adjacent pairs (2i, 2i+1), frequency θ^(−2i/headDimension), as llama2.c. */
  rope(inputs: RopeInputs): Promise<Float32Array>;
  /** silu(gate) · up. */
  swiglu(inputs: SwigluInputs): Promise<Float32Array>;
}

/** Agreement with the ts oracle: |result − oracle| ≤ absolute + relative·|oracle|. */
export interface KernelPrecision {
  readonly absolute: number;
  readonly relative: number;
}

/** How a backend spreads its kernels over threads (known after `init()` resolves). */
export interface BackendThreading {
  /** Threads the matmuls and attention run on, the calling one included (1: the single-thread path). */
  readonly threads: number;
  /** What was asked for: a count, or "auto" (every core the machine reports). */
  readonly requested: number | "auto";
  /** Why fewer threads run than requested (e.g. no SharedArrayBuffer without cross-origin isolation). */
  readonly reason?: string;
  /** Where the workers come from, when there are any. */
  readonly host?: "worker_threads" | "web-workers";
}

export interface KernelBackend {
  readonly specificationVersion: "v1";
  readonly name: BackendName;
  /** Higher is preferred by `resolveBackend("auto")`. */
  readonly priority: number;
  readonly precision: KernelPrecision;
  /** Weight encodings `kernels.quantizedMatmul` accepts (empty or absent: none). */
  readonly weightFormats?: readonly WeightFormat[];
  /** Threads behind the kernels, after `init()`; absent on backends that have no thread pool. */
  readonly threading?: BackendThreading;
  /** Loads the module or device; throws with a reason when the backend cannot run here. */
  init(): Promise<void>;
  /** Available after `init()` resolves. */
  readonly kernels: KernelSet;
  /** Copies data into backend memory once; kernels then read it without a copy per call. */
  upload(data: Float32Array | Uint8Array | Uint16Array): DeviceArray;
  /** Zero-filled resident array. */
  allocate(type: DeviceArrayType, length: number): DeviceArray;
  /** Frees everything the backend holds (module memory, GPU device). */
  dispose(): void;
}
