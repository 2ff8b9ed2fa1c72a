import type { DecodeKernel, KernelBackend, KernelSet } from "../kernel-backend.js";
import { batchVectorInputs, intoOut, quantizedMatmulReference, validateQuantizedMatmul, validateQuantizedMatmulBatch, weightFormats } from "./quantized-matmul-reference.js";
import { KernelInputError } from "../kernel-errors.js";
import type {
  CompressedRows,
  DecodeInputs,
  DeviceArray,
  DeviceArrayType,
  FloatInput,
} from "../kernel-inputs.js";
import { describeAttention, describeRows, isDeviceArray, requireFloatArray } from "../validate-inputs.js";
import { matmulBatchReference, validateMatmulBatch } from "./matmul-batch-reference.js";
import { compressedAttentionReference, denseAttentionReference } from "./attention-reference.js";
import {
  matmulReference,
  rmsNormReference,
  ropeReference,
  swigluReference,
  validateMatmul,
  validateRmsNorm,
  validateRope,
  validateSwiglu,
} from "./transformer-reference.js";
import {
  blockTables,
  decodeReference,
  encodeReference,
  tableScores,
  validateDecode,
  validateScores,
  type PlainRows,
} from "./vector-quantization-reference.js";

type HostData = Float32Array | Uint8Array | Uint16Array;

/** A "resident" array of the ts backend: an owned copy in ordinary memory. */
class HostArray implements DeviceArray {
  readonly backendName = "ts";
  readonly type: DeviceArrayType;
  constructor(public data: HostData) {
    this.type = data instanceof Float32Array ? "float32" : data instanceof Uint16Array ? "uint16" : "uint8";
  }
  get length(): number {
    return this.data.length;
  }
  async read(): Promise<HostData> {
    return this.data.slice();
  }
  write(data: HostData, offset = 0): void {
    if (data.constructor !== this.data.constructor) throw new KernelInputError("write", `expected ${this.type} data`);
    this.data.set(data as never, offset);
  }
  dispose(): void {
    this.data = new Float32Array(0);
  }
}

function plain<T extends HostData>(value: T | DeviceArray): T {
  return (isDeviceArray(value) ? (value as HostArray).data : value) as T;
}

function plainRows(rows: CompressedRows, layout: PlainRows["layout"]): PlainRows {
  return {
    codes: plain(rows.codes as Uint8Array | Uint16Array | DeviceArray),
    norms: plain(rows.norms as FloatInput) as Float32Array,
    codewords: rows.codebook.codewords,
    layout,
  };
}

function createKernels(): KernelSet {
  const decode = async (inputs: DecodeInputs, output?: DeviceArray): Promise<Float32Array | DeviceArray> => {
    const layout = validateDecode(inputs, "ts");
    const result = decodeReference("decode", plainRows(inputs.rows, layout), inputs.count, inputs.dimension);
    if (!output) return result;
    requireFloatArray("decode", "output", output, result.length, "ts", false);
    output.write(result);
    return output;
  };
  return {
    encode: async (inputs) => encodeReference(inputs),
    decode: decode as DecodeKernel,
    scores: async (inputs) => {
      const layout = validateScores(inputs, "ts");
      const rows = plainRows(inputs.keys, layout);
      const scores = new Float64Array(inputs.count);
      tableScores("scores", blockTables(inputs.query, 0, rows.codewords, layout), rows, 0, inputs.count, scores);
      return Float32Array.from(scores);
    },
    attention: async (inputs) => {
      const layout = describeAttention("attention", inputs);
      const keys = describeRows("attention", "keys", inputs.keys, layout.rowCount, inputs.dimension, "ts");
      const values = describeRows("attention", "values", inputs.values, layout.rowCount, inputs.dimension, "ts");
      return compressedAttentionReference(inputs, layout, plainRows(inputs.keys, keys), plainRows(inputs.values, values));
    },
    denseAttention: async (inputs) => {
      const layout = describeAttention("denseAttention", inputs);
      const length = layout.rowCount * inputs.dimension;
      requireFloatArray("denseAttention", "keys", inputs.keys, length, "ts", false);
      requireFloatArray("denseAttention", "values", inputs.values, length, "ts", false);
      return denseAttentionReference(inputs, layout, plain(inputs.keys), plain(inputs.values));
    },
    matmul: async (inputs) => {
      validateMatmul(inputs, "ts");
      return matmulReference(plain(inputs.matrix), inputs.vector, inputs.rows, inputs.columns);
    },
    quantizedMatmul: async (inputs) => {
      validateQuantizedMatmul(inputs, "ts");
      return intoOut(quantizedMatmulReference(inputs, plain(inputs.matrix as Uint8Array | DeviceArray)), inputs.out);
    },
    quantizedMatmulBatch: async (inputs) => {
      validateQuantizedMatmulBatch(inputs, "ts");
      const matrix = plain(inputs.matrix as Uint8Array | DeviceArray);
      const out = inputs.out ?? new Float32Array(inputs.count * inputs.rows);
      for (let v = 0; v < inputs.count; v++) out.set(quantizedMatmulReference(batchVectorInputs(inputs, v), matrix), v * inputs.rows);
      return out;
    },
    matmulBatch: async (inputs) => {
      validateMatmulBatch(inputs, "ts");
      return matmulBatchReference(plain(inputs.matrix), inputs.vectors, inputs.count, inputs.rows, inputs.columns);
    },
    rmsNorm: async (inputs) => {
      const epsilon = validateRmsNorm(inputs, "ts");
      return rmsNormReference(inputs.input, plain(inputs.weight), epsilon);
    },
    rope: async (inputs) => {
      const theta = validateRope(inputs);
      return ropeReference(inputs.input, inputs.headDimension, inputs.position, theta);
    },
    swiglu: async (inputs) => {
      validateSwiglu(inputs);
      return intoOut(swigluReference(inputs.gate, inputs.up), inputs.out);
    },
  };
}

/** The TypeScript reference backend: plain loops in float64, the oracle of the conformance suite. */
export function createTypeScriptBackend(): KernelBackend {
  return {
    specificationVersion: "v1",
    name: "ts",
    priority: 1,
    // Float64 accumulation rounded once to float32.
    precision: { absolute: 1e-6, relative: 1e-6 },
    weightFormats,
    init: async () => {},
    kernels: createKernels(),
    upload: (data) => new HostArray(data.slice()),
    allocate: (type, length) =>
      new HostArray(type === "float32" ? new Float32Array(length) : type === "uint16" ? new Uint16Array(length) : new Uint8Array(length)),
    dispose: () => {},
  };
}
