import { byteDecodeTable, rowsUseWholeBytes } from "../byte-decode-table.js";
import { prepareShells } from "../codebook-shells.js";
import type { BackendThreading, DecodeKernel, KernelBackend, KernelSet } from "../kernel-backend.js";
import { KernelInputError } from "../kernel-errors.js";
import type { CompressedRows, DecodeInputs, DeviceArray, DeviceArrayType, WeightFormat } from "../kernel-inputs.js";
import { validateMatmul, validateRmsNorm, validateRope, validateSwiglu } from "../ts/transformer-reference.js";
import { intoOut, validateQuantizedMatmul, validateQuantizedMatmulBatch, weightFormats } from "../ts/quantized-matmul-reference.js";
import { validateMatmulBatch } from "../ts/matmul-batch-reference.js";
import { validateDecode, validateEncode, validateScores } from "../ts/vector-quantization-reference.js";
import { describeAttention, describeRows, isDeviceArray, requireFloatArray, type RowsLayout } from "../validate-inputs.js";
import { kernelsWasmBase64 } from "./generated/kernels-wasm.js";
import { kernelsSharedInitialPages, kernelsSharedMaximumPages, kernelsSharedWasmBase64 } from "./generated/kernels-shared-wasm.js";
import { detectThreadHost } from "./thread-host.js";
import { quadShells } from "./quad-shells.js";
import { WasmHeap } from "./wasm-heap.js";
import { WorkerPool, type PoolDispatch } from "./worker-pool.js";
import {
  createPagedAttentionKernels, instantiateSharedPagedAttention, pagedAttentionKernelsOver, pagedAttentionPoolFunctions, type PagedAttentionKernels,
} from "./paged-attention-kernels.js";

type HostData = Float32Array | Uint8Array | Uint16Array;

/** Row-range exports the thread pool calls: each takes its arguments, then [rowStart, rowEnd). */
const poolFunctions = [
  "matmulRows", "matmulBatchRows", "matmulQ8_0Rows", "matmulQ4_0Rows", "matmulF16Rows", "matmulQ4_KRows", "matmulQ6_KRows", "matmulQ4_1Rows", "matmulQ5_0Rows", "matmulBatchQ8_0Rows", "matmulBatchQ4_0Rows", "attentionCompressedHeads", "attentionDenseHeads",
] as const;
type PoolFunction = (typeof poolFunctions)[number];

/** Exports of asm/kernels.ts; every number argument that names memory is a byte offset. */
interface WasmExports {
  memory: WebAssembly.Memory;
  decodeBytes(...args: number[]): void;
  decodeGeneric(...args: number[]): void;
  scores(...args: number[]): void;
  attentionCompressed(...args: number[]): void;
  attentionDense(...args: number[]): void;
  encodeShells(...args: number[]): void;
  matmul(...args: number[]): void;
  matmulBatch(...args: number[]): void;
  matmulRows(...args: number[]): void;
  matmulBatchRows(...args: number[]): void;
  matmulQ8_0Rows(...args: number[]): void;
  matmulQ4_0Rows(...args: number[]): void;
  matmulF16Rows(...args: number[]): void;
  matmulQ4_KRows(...args: number[]): void;
  matmulQ6_KRows(...args: number[]): void;
  matmulQ4_1Rows(...args: number[]): void;
  matmulQ5_0Rows(...args: number[]): void;
  matmulBatchQ8_0Rows(...args: number[]): void;
  matmulBatchQ4_0Rows(...args: number[]): void;
  activationBlockSumsQ8_0(...args: number[]): void;
  attentionCompressedHeads(...args: number[]): void;
  attentionDenseHeads(...args: number[]): void;
  rmsNorm(...args: number[]): void;
  rope(...args: number[]): void;
  swiglu(...args: number[]): void;
  quantizeRowQ8_0(...args: number[]): void;
  matmulQ8_0(...args: number[]): void;
  matmulQ4_0(...args: number[]): void;
  matmulF16(...args: number[]): void;
}

const bytesPerElement: Record<DeviceArrayType, number> = { float32: 4, uint8: 1, uint16: 2 };

function typeOf(data: HostData): DeviceArrayType {
  return data instanceof Float32Array ? "float32" : data instanceof Uint16Array ? "uint16" : "uint8";
}

class WasmArray implements DeviceArray {
  readonly backendName = "wasm";
  private disposed = false;
  constructor(
    private readonly heap: WasmHeap,
    readonly type: DeviceArrayType,
    readonly length: number,
    readonly pointer: number,
  ) {}
  private view(offset = 0, length = this.length - offset): HostData {
    if (this.disposed) throw new KernelInputError("DeviceArray", "array was disposed");
    const pointer = this.pointer + offset * bytesPerElement[this.type];
    if (this.type === "float32") return this.heap.float32(pointer, length);
    if (this.type === "uint16") return this.heap.uint16(pointer, length);
    return this.heap.uint8(pointer, length);
  }
  async read(): Promise<HostData> {
    return this.view().slice();
  }
  write(data: HostData, offset = 0): void {
    if (typeOf(data) !== this.type) throw new KernelInputError("DeviceArray.write", `expected ${this.type} data`);
    if (offset < 0 || offset + data.length > this.length) {
      throw new KernelInputError("DeviceArray.write", `writing ${data.length} at ${offset} overflows length ${this.length}`);
    }
    this.view(offset, data.length).set(data as never);
  }
  dispose(): void {
    if (!this.disposed) this.heap.free(this.pointer);
    this.disposed = true;
  }
}

/** A heap result (a view that the next call reuses) copied into the caller's `out` (returned), or into a new array. */
function copyOut(result: Float32Array, out: Float32Array | undefined): Float32Array {
  return out === undefined ? result.slice() : intoOut(result, out);
}

/** Temporaries of one kernel call: inputs copied in (resident arrays are used in place), freed after. */
class CallScope {
  private readonly pointers: number[] = [];
  constructor(private readonly heap: WasmHeap) {}
  input(data: HostData | DeviceArray): number {
    if (isDeviceArray(data)) return (data as WasmArray).pointer;
    const pointer = this.allocate(data.byteLength);
    new Uint8Array(this.heap.memory.buffer, pointer, data.byteLength).set(
      new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
    );
    return pointer;
  }
  allocate(byteLength: number): number {
    const pointer = this.heap.allocate(byteLength);
    this.pointers.push(pointer);
    return pointer;
  }
  release(): void {
    for (const pointer of this.pointers) this.heap.free(pointer);
  }
}

function decodeBase64(text: string): Uint8Array<ArrayBuffer> {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let index = 0; index < binary.length; index++) bytes[index] = binary.charCodeAt(index);
  return bytes;
}

export interface WasmBackendOptions {
  /**
   * Token count from which compressed attention accumulates values as a histogram of softmax weight
   * per code byte (expanded once per head) instead of adding each token's codewords directly. The
   * histogram pays for its per-head table only over many tokens: measured here it broke even near 2K
   * tokens and was 10–25 % faster at 16K; default 2048.
   */
  readonly histogramMinimumTokens?: number;
  /**
   * Threads for the matmuls (matmul, matmulBatch, quantizedMatmul) and attention, the calling one included:
   * "auto" (default) takes every core the machine reports (os.availableParallelism() in Node,
   * navigator.hardwareConcurrency in browsers); 1 is the single-thread module. More than one needs
   * SharedArrayBuffer (in browsers: a cross-origin-isolated page); without it, or when the workers
   * fail to start, the backend runs on one thread and `threading.reason` says why.
   */
  readonly threads?: number | "auto";
  /** Multiply-adds (rows × columns × vectors) below which a matmul stays on the calling thread; default 32768. */
  readonly parallelMinimumWork?: number;
  /** How work reaches the workers: "atomics" (default, no message per call) or "message" (for comparison). */
  readonly threadDispatch?: PoolDispatch;
  /** How long an idle worker polls for the next call before it sleeps; default 200 µs. */
  readonly workerSpinMicroseconds?: number;
}

/** A started pool and when to use it. */
interface Parallel {
  readonly pool: WorkerPool;
  readonly minimumWork: number;
}

interface RowsPointers {
  readonly codes: number;
  readonly norms: number;
}

function createKernels(
  heap: () => WasmHeap,
  exports: () => WasmExports,
  parallel: () => Parallel | undefined,
  histogramMinimumTokens: number,
): KernelSet {
  const run = <T>(body: (scope: CallScope, wasm: WasmExports, memory: WasmHeap) => T): T => {
    const scope = new CallScope(heap());
    try {
      return body(scope, exports(), heap());
    } finally {
      scope.release();
    }
  };
  const runAsync = async <T>(body: (scope: CallScope, wasm: WasmExports, memory: WasmHeap) => Promise<T>): Promise<T> => {
    const scope = new CallScope(heap());
    try {
      return await body(scope, exports(), heap());
    } finally {
      scope.release();
    }
  };
  /**
   * `name(...args, 0, rows)` on this thread, or its rows split over the pool when there is one and
   * the call is big enough (`work` multiply-adds). Each row is computed the same way either way.
   */
  const rowsCall = (wasm: WasmExports, name: PoolFunction, args: readonly number[], rows: number, work: number): void | Promise<void> => {
    const threads = parallel();
    if (!threads || work < threads.minimumWork || rows < 2) {
      wasm[name](...args, 0, rows);
      return;
    }
    // About four chunks per thread: a thread slowed by other load takes fewer of them.
    const grain = Math.ceil(rows / (threads.pool.threads * 4));
    return threads.pool.parallelFor(name, args, rows, grain);
  };
  /** out[0..rows) = matrix · vector for a block-encoded matrix; every argument naming memory is a heap offset. */
  const quantizedMatmulInto = async (
    scope: CallScope, wasm: WasmExports, format: WeightFormat, matrix: number, vector: number, rows: number, columns: number, out: number,
  ): Promise<void> => {
    if (format === "f16") {
      await rowsCall(wasm, "matmulF16Rows", [matrix, vector, columns, out], rows, rows * columns);
      return;
    }
    // Activations to Q8_0 once per call (llama.cpp's vec_dot_type for every block format here).
    const quants = scope.allocate(columns * 2);
    const scales = scope.allocate((columns / 32) * 4);
    wasm.quantizeRowQ8_0(vector, columns, quants, scales);
    if (format === "q4_k" || format === "q4_1") {
      // Q4_K's minimums and Q4_1's offsets multiply d_x·Σ q_x per 32-block, computed once per call.
      const sums = scope.allocate((columns / 32) * 4);
      wasm.activationBlockSumsQ8_0(quants, scales, columns / 32, sums);
      const name = format === "q4_k" ? "matmulQ4_KRows" : "matmulQ4_1Rows";
      await rowsCall(wasm, name, [matrix, quants, scales, sums, columns, out], rows, rows * columns);
      return;
    }
    const names = { q8_0: "matmulQ8_0Rows", q4_0: "matmulQ4_0Rows", q6_k: "matmulQ6_KRows", q5_0: "matmulQ5_0Rows" } as const;
    await rowsCall(wasm, names[format], [matrix, quants, scales, columns, out], rows, rows * columns);
  };
  /** The pool when a call of `heads` heads and `work` multiply-adds is worth splitting, one head per chunk. */
  const headPool = (heads: number, work: number): WorkerPool | undefined => {
    const threads = parallel();
    return threads && heads >= 2 && work >= threads.minimumWork ? threads.pool : undefined;
  };
  const rowsPointers = (scope: CallScope, rows: CompressedRows): RowsPointers => ({
    codes: scope.input(rows.codes),
    norms: scope.input(rows.norms),
  });
  const decodeInto = (scope: CallScope, wasm: WasmExports, inputs: DecodeInputs, layout: RowsLayout, out: number): void => {
    const { codes, norms } = rowsPointers(scope, inputs.rows);
    const { codewords } = inputs.rows.codebook;
    if (rowsUseWholeBytes(layout.blocksPerRow, layout.bitWidth)) {
      const table = byteDecodeTable(codewords, layout.blockSize, layout.bitWidth);
      const floatsPerByte = table.length / 256;
      wasm.decodeBytes(codes, layout.rowLength, inputs.count, norms, scope.input(table), floatsPerByte, out);
    } else {
      wasm.decodeGeneric(
        codes, layout.bitWidth, layout.rowLength, inputs.count, layout.blocksPerRow,
        layout.blockSize, layout.size, norms, scope.input(codewords), out,
      );
    }
  };
  const decode = async (inputs: DecodeInputs, output?: DeviceArray): Promise<Float32Array | DeviceArray> => {
    const layout = validateDecode(inputs, "wasm");
    const length = inputs.count * inputs.dimension;
    if (output) {
      requireFloatArray("decode", "output", output, length, "wasm", false);
      run((scope, wasm) => decodeInto(scope, wasm, inputs, layout, (output as WasmArray).pointer));
      return output;
    }
    return run((scope, wasm, memory) => {
      const out = scope.allocate(length * 4);
      decodeInto(scope, wasm, inputs, layout, out);
      return memory.float32(out, length).slice();
    });
  };
  return {
    encode: async (inputs) => {
      const { size, blockSize } = validateEncode(inputs);
      const shells = prepareShells(inputs.codebook);
      const quads = quadShells(shells);
      const blockCount = (inputs.count * inputs.dimension) / blockSize;
      const codeBytes = size <= 256 ? 1 : 2;
      return run((scope, wasm, memory) => {
        const vectors = scope.input(inputs.vectors);
        const radii = scope.input(shells.radii);
        const sorted = scope.input(shells.sortedCodewords);
        const order = scope.input(shells.order);
        const codes = scope.allocate(blockCount * codeBytes);
        const norms = scope.allocate(inputs.count * 4);
        const quadCodewords = scope.input(quads.codewords);
        const quadOrder = scope.input(new Uint8Array(quads.order.buffer));
        const quadInnerRadii = scope.input(quads.innerRadii);
        const quadOuterRadii = scope.input(quads.outerRadii);
        wasm.encodeShells(
          vectors, inputs.count, inputs.dimension, blockSize, size, radii, sorted, order, codeBytes, codes, norms,
          quadCodewords, quadOrder, quadInnerRadii, quadOuterRadii,
        );
        return {
          codes: codeBytes === 1 ? memory.uint8(codes, blockCount).slice() : memory.uint16(codes, blockCount).slice(),
          norms: memory.float32(norms, inputs.count).slice(),
        };
      });
    },
    decode: decode as DecodeKernel,
    scores: async (inputs) => {
      const layout = validateScores(inputs, "wasm");
      return run((scope, wasm, memory) => {
        const { codes, norms } = rowsPointers(scope, inputs.keys);
        const query = scope.input(inputs.query);
        const codewords = scope.input(inputs.keys.codebook.codewords);
        const blockTable = scope.allocate(layout.blocksPerRow * layout.size * 4);
        const byteTable = scope.allocate(layout.rowLength * 256 * 4);
        const out = scope.allocate(inputs.count * 4);
        wasm.scores(
          query, codes, norms, codewords, layout.size, layout.blockSize, layout.blocksPerRow,
          layout.bitWidth, layout.rowLength, inputs.count, blockTable, byteTable, out,
        );
        return memory.float32(out, inputs.count).slice();
      });
    },
    attention: async (inputs) => {
      const shape = describeAttention("attention", inputs);
      const keyLayout = describeRows("attention", "keys", inputs.keys, shape.rowCount, inputs.dimension, "wasm");
      const valueLayout = describeRows("attention", "values", inputs.values, shape.rowCount, inputs.dimension, "wasm");
      const valueBytes = rowsUseWholeBytes(valueLayout.blocksPerRow, valueLayout.bitWidth);
      const valueTable = valueBytes
        ? byteDecodeTable(inputs.values.codebook.codewords, valueLayout.blockSize, valueLayout.bitWidth as 1 | 2 | 4 | 8)
        : inputs.values.codebook.codewords;
      const length = inputs.headCount * inputs.dimension;
      const valueMode = !valueBytes ? 0 : inputs.tokenCount >= histogramMinimumTokens ? 2 : 1;
      const pool = headPool(inputs.headCount, inputs.tokenCount * inputs.dimension * inputs.headCount);
      // Split over heads, each head gets its own scratch (attentionCompressedHeads' scratchPerHead).
      const copies = pool ? inputs.headCount : 1;
      return runAsync(async (scope, wasm, memory) => {
        const keys = rowsPointers(scope, inputs.keys);
        const values = rowsPointers(scope, inputs.values);
        const queries = scope.input(inputs.queries);
        const keyCodewords = scope.input(inputs.keys.codebook.codewords);
        const valueTablePointer = scope.input(valueTable);
        const blockTable = scope.allocate(copies * keyLayout.blocksPerRow * keyLayout.size * 4);
        const byteTable = scope.allocate(copies * keyLayout.rowLength * 256 * 4);
        const scoreBuffer = scope.allocate(copies * inputs.tokenCount * 4);
        const histogram = scope.allocate(copies * (valueMode === 2 ? valueLayout.rowLength * 256 * 4 : 16));
        const out = scope.allocate(length * 4);
        const args = [
          queries, inputs.headCount, shape.groupSize, inputs.tokenCount, shape.headStride, shape.tokenStride,
          inputs.dimension, shape.scale,
          keys.codes, keys.norms, keyCodewords, keyLayout.size, keyLayout.blockSize, keyLayout.bitWidth, keyLayout.rowLength,
          values.codes, values.norms, valueTablePointer, valueLayout.size, valueLayout.blockSize, valueLayout.bitWidth,
          valueLayout.rowLength, valueMode,
          blockTable, byteTable, scoreBuffer, histogram, out,
        ];
        if (pool) await pool.parallelFor("attentionCompressedHeads", [...args, 1], inputs.headCount, 1);
        else wasm.attentionCompressed(...args);
        return memory.float32(out, length).slice();
      });
    },
    denseAttention: async (inputs) => {
      const shape = describeAttention("denseAttention", inputs);
      const rows = shape.rowCount * inputs.dimension;
      requireFloatArray("denseAttention", "keys", inputs.keys, rows, "wasm", false);
      requireFloatArray("denseAttention", "values", inputs.values, rows, "wasm", false);
      const length = inputs.headCount * inputs.dimension;
      const pool = headPool(inputs.headCount, inputs.tokenCount * inputs.dimension * inputs.headCount);
      return runAsync(async (scope, wasm, memory) => {
        const keys = scope.input(inputs.keys);
        const values = scope.input(inputs.values);
        const queries = scope.input(inputs.queries);
        const scoreBuffer = scope.allocate((pool ? inputs.headCount : 1) * inputs.tokenCount * 4);
        const out = scope.allocate(length * 4);
        const args = [
          queries, inputs.headCount, shape.groupSize, inputs.tokenCount, shape.headStride, shape.tokenStride,
          inputs.dimension, shape.scale, keys, values, scoreBuffer, out,
        ];
        if (pool) await pool.parallelFor("attentionDenseHeads", [...args, 1], inputs.headCount, 1);
        else wasm.attentionDense(...args);
        return memory.float32(out, length).slice();
      });
    },
    matmul: async (inputs) => {
      validateMatmul(inputs, "wasm");
      const { rows, columns } = inputs;
      return runAsync(async (scope, wasm, memory) => {
        const matrix = scope.input(inputs.matrix);
        const vector = scope.input(inputs.vector);
        const out = scope.allocate(rows * 4);
        await rowsCall(wasm, "matmulRows", [matrix, vector, columns, out], rows, rows * columns);
        return memory.float32(out, rows).slice();
      });
    },
    quantizedMatmul: async (inputs) => {
      validateQuantizedMatmul(inputs, "wasm");
      const { rows } = inputs;
      return runAsync(async (scope, wasm, memory) => {
        const out = scope.allocate(rows * 4);
        await quantizedMatmulInto(scope, wasm, inputs.format, scope.input(inputs.matrix), scope.input(inputs.vector), rows, inputs.columns, out);
        return copyOut(memory.float32(out, rows), inputs.out);
      });
    },
    quantizedMatmulBatch: async (inputs) => {
      validateQuantizedMatmulBatch(inputs, "wasm");
      const { count, rows, columns, format } = inputs;
      const length = count * rows;
      return runAsync(async (scope, wasm, memory) => {
        const matrix = scope.input(inputs.matrix);
        const vectors = scope.input(inputs.vectors);
        const out = scope.allocate(length * 4);
        if (format === "q8_0" || format === "q4_0") {
          // Every vector to Q8_0 first, then each weight block is widened once per four vectors.
          const quants = scope.allocate(count * columns * 2);
          const scales = scope.allocate(count * (columns / 32) * 4);
          for (let v = 0; v < count; v++) wasm.quantizeRowQ8_0(vectors + v * columns * 4, columns, quants + v * columns * 2, scales + v * (columns / 32) * 4);
          const name = format === "q8_0" ? "matmulBatchQ8_0Rows" : "matmulBatchQ4_0Rows";
          await rowsCall(wasm, name, [matrix, quants, scales, count, rows, columns, out], rows, count * rows * columns);
        } else {
          // The other encodings have no batched kernel: one quantizedMatmul per vector, in one call.
          for (let v = 0; v < count; v++) await quantizedMatmulInto(scope, wasm, format, matrix, vectors + v * columns * 4, rows, columns, out + v * rows * 4);
        }
        return copyOut(memory.float32(out, length), inputs.out);
      });
    },
    matmulBatch: async (inputs) => {
      validateMatmulBatch(inputs, "wasm");
      const { count, rows, columns } = inputs;
      const length = count * rows;
      return runAsync(async (scope, wasm, memory) => {
        const matrix = scope.input(inputs.matrix);
        const vectors = scope.input(inputs.vectors);
        const out = scope.allocate(length * 4);
        await rowsCall(wasm, "matmulBatchRows", [matrix, vectors, count, rows, columns, out], rows, count * rows * columns);
        return memory.float32(out, length).slice();
      });
    },
    rmsNorm: async (inputs) => {
      const epsilon = validateRmsNorm(inputs, "wasm");
      const length = inputs.input.length;
      return run((scope, wasm, memory) => {
        const input = scope.input(inputs.input);
        const weight = scope.input(inputs.weight);
        const out = scope.allocate(length * 4);
        wasm.rmsNorm(input, weight, length, epsilon, out);
        return memory.float32(out, length).slice();
      });
    },
    rope: async (inputs) => {
      const theta = validateRope(inputs);
      const length = inputs.input.length;
      return run((scope, wasm, memory) => {
        const input = scope.input(inputs.input);
        const out = scope.allocate(length * 4);
        wasm.rope(input, length, inputs.headDimension, inputs.position, theta, out);
        return memory.float32(out, length).slice();
      });
    },
    swiglu: async (inputs) => {
      validateSwiglu(inputs);
      const length = inputs.gate.length;
      return run((scope, wasm, memory) => {
        const gate = scope.input(inputs.gate);
        const up = scope.input(inputs.up);
        const out = scope.allocate(length * 4);
        wasm.swiglu(gate, up, length, out);
        return copyOut(memory.float32(out, length), inputs.out);
      });
    },
  };
}

/** The thread count `threads` asks for here, or why it is 1. */
async function planThreads(requested: number | "auto"): Promise<{ threads: number; reason?: string; host?: Awaited<ReturnType<typeof detectThreadHost>> }> {
  if (requested === 1) return { threads: 1, reason: "1 thread requested" };
  const host = await detectThreadHost();
  if ("unavailable" in host) return { threads: 1, reason: host.unavailable };
  const threads = requested === "auto" ? host.parallelism : requested;
  if (threads < 2) return { threads: 1, reason: `the machine reports ${host.parallelism} core` };
  return { threads, host };
}

/** Keeps a dropped backend's workers (which hold its memory) from outliving it. */
const poolReaper = typeof FinalizationRegistry === "undefined" ? undefined : new FinalizationRegistry<WorkerPool>((pool) => pool.dispose());

/** The WASM backend, with the cache's paged-attention kernels beside its matmuls. */
export interface WasmKernelBackend extends KernelBackend {
  /**
   * The paged-attention kernels (after `init()`): with threads, over a shared memory of their own and
   * the backend's worker pool (the same workers run matmuls and attention, warm between them); on one
   * thread, a module of their own. The same kernels on every call.
   */
  pagedAttentionKernels(): Promise<PagedAttentionKernels>;
}

/**
 * AssemblyScript kernels with f32x4 SIMD. Resident arrays (`upload`, `allocate`) live in the
 * module's linear memory, so caches and weights are not copied per call. With more than one thread
 * (`threads`), that memory is a shared WebAssembly.Memory and the matmuls' rows are split over
 * workers running the same module over it (worker_threads in Node, Web Workers in browsers).
 */
export function createWasmBackend(options: WasmBackendOptions = {}): WasmKernelBackend {
  const requested = options.threads ?? "auto";
  if (requested !== "auto" && (!Number.isInteger(requested) || requested < 1)) {
    throw new KernelInputError("createWasmBackend", `threads must be "auto" or a whole number ≥ 1, got ${requested}`);
  }
  let exports: WasmExports | undefined;
  let heap: WasmHeap | undefined;
  let parallel: Parallel | undefined;
  let threading: BackendThreading | undefined;
  /** The paged-attention instance the pool's workers also run, when there is a pool. */
  let sharedAttention: Awaited<ReturnType<typeof instantiateSharedPagedAttention>> | undefined;
  let pagedAttention: Promise<PagedAttentionKernels> | undefined;
  const ready = (): WasmExports => {
    if (!exports) throw new KernelInputError("wasm", "backend used before init() resolved");
    return exports;
  };
  const memory = (): WasmHeap => {
    ready();
    return heap as WasmHeap;
  };
  /** A heap block for `length` elements, zeroed unless the caller overwrites all of it (`upload`). */
  const allocate = (type: DeviceArrayType, length: number, zeroed = true): WasmArray => {
    if (!Number.isInteger(length) || length < 0) throw new KernelInputError("allocate", `invalid length ${length}`);
    const byteLength = length * bytesPerElement[type];
    const pointer = memory().allocate(byteLength);
    if (zeroed) memory().uint8(pointer, byteLength).fill(0);
    return new WasmArray(memory(), type, length, pointer);
  };
  /** The shared-memory module on this thread plus `threads − 1` workers; throws when they cannot start. */
  const startThreads = async (threads: number, host: Parameters<typeof WorkerPool.start>[0]["host"]) => {
    const sharedMemory = new WebAssembly.Memory({ initial: kernelsSharedInitialPages, maximum: kernelsSharedMaximumPages, shared: true });
    const module = await WebAssembly.compile(decodeBase64(kernelsSharedWasmBase64));
    const instance = await WebAssembly.instantiate(module, { env: { memory: sharedMemory } });
    const sharedHeap = new WasmHeap(sharedMemory, sharedMemory.buffer.byteLength);
    const control = sharedHeap.allocate(WorkerPool.controlBytes(threads));
    const attention = await instantiateSharedPagedAttention();
    const pool = await WorkerPool.start({
      host,
      module,
      memory: sharedMemory,
      exports: instance.exports,
      functions: poolFunctions,
      extraModules: [{ module: attention.module, memory: attention.memory, exports: attention.exports, functions: pagedAttentionPoolFunctions }],
      threads,
      control,
      dispatch: options.threadDispatch,
      spinMicroseconds: options.workerSpinMicroseconds,
    });
    return { exports: instance.exports as unknown as WasmExports, heap: sharedHeap, pool, attention };
  };
  const backend: WasmKernelBackend = {
    specificationVersion: "v1",
    name: "wasm",
    priority: 2,
    // float32 arithmetic, reordered sums (SIMD, 4 accumulators) and Mathf.exp.
    precision: { absolute: 1e-6, relative: 1e-4 },
    weightFormats,
    get threading() {
      return threading;
    },
    init: async () => {
      if (exports) return;
      if (typeof WebAssembly === "undefined") throw new Error("WebAssembly is not available");
      const plan = await planThreads(requested);
      let reason = plan.reason;
      if (plan.host && !("unavailable" in plan.host)) {
        try {
          const started = await startThreads(plan.threads, plan.host);
          heap = started.heap;
          exports = started.exports;
          parallel = { pool: started.pool, minimumWork: options.parallelMinimumWork ?? 32768 };
          sharedAttention = started.attention;
          poolReaper?.register(backend, started.pool, backend);
          threading = { threads: plan.threads, requested, host: plan.host.kind };
          return;
        } catch (error) {
          reason = `${plan.threads} threads could not start: ${error instanceof Error ? error.message : String(error)}`;
        }
      }
      const { instance } = await WebAssembly.instantiate(decodeBase64(kernelsWasmBase64), {});
      const instanceExports = instance.exports as unknown as WasmExports;
      heap = new WasmHeap(instanceExports.memory, instanceExports.memory.buffer.byteLength);
      exports = instanceExports;
      threading = { threads: 1, requested, reason };
    },
    kernels: createKernels(memory, ready, () => parallel, options.histogramMinimumTokens ?? 2048),
    upload: (data) => {
      // Every byte is written next: no zeroing pass over a weight matrix first.
      const array = allocate(typeOf(data), data.length, false);
      array.write(data);
      return array;
    },
    allocate: (type, length) => allocate(type, length),
    pagedAttentionKernels: async () => {
      ready();
      pagedAttention ??=
        parallel !== undefined && sharedAttention !== undefined
          ? Promise.resolve(pagedAttentionKernelsOver(sharedAttention.exports, sharedAttention.heap, { pool: parallel.pool, ownsPool: false }))
          : createPagedAttentionKernels();
      return pagedAttention;
    },
    dispose: () => {
      parallel?.pool.dispose();
      poolReaper?.unregister(backend);
      parallel = undefined;
      sharedAttention = undefined;
      pagedAttention = undefined;
      exports = undefined;
      heap = undefined;
    },
  };
  return backend;
}
