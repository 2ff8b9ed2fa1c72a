/// <reference types="@webgpu/types" />
import { prepareShells } from "../codebook-shells.js";
import type { DecodeKernel, KernelBackend, KernelSet } from "../kernel-backend.js";
import { KernelInputError } from "../kernel-errors.js";
import type { CompressedRows, DecodeInputs, DeviceArray, DeviceArrayType } from "../kernel-inputs.js";
import { validateMatmul, validateRmsNorm, validateRope, validateSwiglu } from "../ts/transformer-reference.js";
import { validateMatmulBatch } from "../ts/matmul-batch-reference.js";
import { intoOut } from "../ts/quantized-matmul-reference.js";
import { validateDecode, validateEncode, validateScores } from "../ts/vector-quantization-reference.js";
import { describeAttention, describeRows, isDeviceArray, requireFloatArray, type RowsLayout } from "../validate-inputs.js";
import {
  blockTableShader,
  compressedValuesShader,
  decodeShader,
  denseScoresShader,
  denseValuesShader,
  encodeShellsShader,
  matmulBatchShader,
  matmulShader,
  rmsNormShader,
  ropeShader,
  rowNormsShader,
  softmaxShader,
  swigluShader,
  tableScoresShader,
} from "./wgsl-shaders.js";

/** The part of WebGPU's `GPU` the backend calls; keeps @webgpu/types out of the public types. */
export interface GpuProvider {
  requestAdapter(options?: Record<string, unknown>): Promise<unknown>;
}

export interface WebGpuBackendOptions {
  /** A `GPU` object; defaults to `navigator.gpu`. In Node pass `create([])` from the `webgpu` package. */
  readonly gpu?: GpuProvider;
  readonly powerPreference?: "low-power" | "high-performance";
  /** "compatibility" for adapters such as Dawn's OpenGL ES backend; defaults to core. */
  readonly featureLevel?: "core" | "compatibility";
}

type HostData = Float32Array | Uint8Array | Uint16Array;
const workgroupSize = 64;
// WebGPU flag values (spec constants), so Node does not need the GPUBufferUsage globals installed.
const bufferUsage = { mapRead: 0x0001, copySource: 0x0004, copyDestination: 0x0008, storage: 0x0080 } as const;
const mapModeRead = 0x0001;
const maximumGroupsPerDimension = 65535;

function typeOf(data: HostData): DeviceArrayType {
  return data instanceof Float32Array ? "float32" : data instanceof Uint16Array ? "uint16" : "uint8";
}

function paddedBytes(byteLength: number): number {
  return Math.max(4, Math.ceil(byteLength / 4) * 4);
}

class GpuArray implements DeviceArray {
  readonly backendName = "webgpu";
  constructor(
    private readonly context: GpuContext,
    readonly buffer: GPUBuffer,
    readonly type: DeviceArrayType,
    readonly length: number,
  ) {}
  async read(): Promise<HostData> {
    const bytes = await this.context.readBuffer(this.buffer, this.buffer.size);
    if (this.type === "float32") return new Float32Array(bytes, 0, this.length);
    if (this.type === "uint16") return new Uint16Array(bytes, 0, this.length);
    return new Uint8Array(bytes, 0, this.length);
  }
  write(data: HostData, offset = 0): void {
    if (typeOf(data) !== this.type) throw new KernelInputError("DeviceArray.write", `expected ${this.type} data`);
    const elementBytes = data.BYTES_PER_ELEMENT;
    if (offset < 0 || offset + data.length > this.length) {
      throw new KernelInputError("DeviceArray.write", `writing ${data.length} at ${offset} overflows length ${this.length}`);
    }
    if ((offset * elementBytes) % 4 !== 0) {
      throw new KernelInputError("DeviceArray.write", "webgpu writes must start on a 4-byte boundary");
    }
    this.context.writeBuffer(this.buffer, offset * elementBytes, data);
  }
  dispose(): void {
    this.buffer.destroy();
  }
}

class GpuContext {
  private readonly pipelines = new Map<string, GPUComputePipeline>();
  constructor(readonly device: GPUDevice) {}

  createBuffer(byteLength: number, usage: number = bufferUsage.storage | bufferUsage.copySource | bufferUsage.copyDestination): GPUBuffer {
    return this.device.createBuffer({ size: paddedBytes(byteLength), usage });
  }

  writeBuffer(buffer: GPUBuffer, byteOffset: number, data: HostData): void {
    const length = paddedBytes(data.byteLength);
    if (length === data.byteLength) {
      this.device.queue.writeBuffer(buffer, byteOffset, data.buffer, data.byteOffset, data.byteLength);
    } else {
      const padded = new Uint8Array(length);
      padded.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
      this.device.queue.writeBuffer(buffer, byteOffset, padded);
    }
  }

  async readBuffer(buffer: GPUBuffer, byteLength: number): Promise<ArrayBuffer> {
    const size = paddedBytes(byteLength);
    const staging = this.device.createBuffer({ size, usage: bufferUsage.copyDestination | bufferUsage.mapRead });
    const encoder = this.device.createCommandEncoder();
    encoder.copyBufferToBuffer(buffer, 0, staging, 0, size);
    this.device.queue.submit([encoder.finish()]);
    await staging.mapAsync(mapModeRead);
    const copy = staging.getMappedRange().slice(0, byteLength);
    staging.unmap();
    staging.destroy();
    return copy;
  }

  pipeline(code: string): GPUComputePipeline {
    let pipeline = this.pipelines.get(code);
    if (!pipeline) {
      pipeline = this.device.createComputePipeline({
        layout: "auto",
        compute: { module: this.device.createShaderModule({ code }), entryPoint: "main" },
      });
      this.pipelines.set(code, pipeline);
    }
    return pipeline;
  }
}

interface Pass {
  readonly shader: string;
  readonly buffers: readonly GPUBuffer[];
  /** Threads (64 per workgroup) or, with `groups`, an explicit workgroup count. */
  readonly threads?: number;
  readonly groups?: number;
}

/** Temporaries of one kernel call; resident arrays are bound in place. */
class CallScope {
  private readonly buffers: GPUBuffer[] = [];
  constructor(private readonly context: GpuContext) {}
  input(data: HostData | DeviceArray): GPUBuffer {
    if (isDeviceArray(data)) return (data as GpuArray).buffer;
    const buffer = this.allocate(data.byteLength);
    this.context.writeBuffer(buffer, 0, data);
    return buffer;
  }
  params(words: ReadonlyArray<number | { float: number }>): GPUBuffer {
    const view = new DataView(new ArrayBuffer(words.length * 4));
    words.forEach((word, index) => {
      if (typeof word === "number") view.setUint32(index * 4, word, true);
      else view.setFloat32(index * 4, word.float, true);
    });
    return this.input(new Uint8Array(view.buffer));
  }
  allocate(byteLength: number): GPUBuffer {
    const buffer = this.context.createBuffer(byteLength);
    this.buffers.push(buffer);
    return buffer;
  }
  run(passes: readonly Pass[]): void {
    const { device } = this.context;
    const encoder = device.createCommandEncoder();
    for (const pass of passes) {
      const pipeline = this.context.pipeline(pass.shader);
      const bindGroup = device.createBindGroup({
        layout: pipeline.getBindGroupLayout(0),
        entries: pass.buffers.map((buffer, binding) => ({ binding, resource: { buffer } })),
      });
      const groups = pass.groups ?? Math.ceil((pass.threads ?? 0) / workgroupSize);
      const computePass = encoder.beginComputePass();
      computePass.setPipeline(pipeline);
      computePass.setBindGroup(0, bindGroup);
      const x = Math.min(groups, maximumGroupsPerDimension);
      if (x > 0) computePass.dispatchWorkgroups(x, Math.ceil(groups / x));
      computePass.end();
    }
    device.queue.submit([encoder.finish()]);
  }
  async readFloats(buffer: GPUBuffer, length: number): Promise<Float32Array> {
    return new Float32Array(await this.context.readBuffer(buffer, length * 4));
  }
  release(): void {
    for (const buffer of this.buffers) buffer.destroy();
  }
}

function createKernels(context: () => GpuContext): KernelSet {
  const run = async <T>(body: (scope: CallScope) => Promise<T>): Promise<T> => {
    const scope = new CallScope(context());
    try {
      return await body(scope);
    } finally {
      scope.release();
    }
  };
  const codesBuffer = (scope: CallScope, rows: CompressedRows): GPUBuffer => scope.input(rows.codes);
  const decodeTo = (scope: CallScope, inputs: DecodeInputs, layout: RowsLayout, out: GPUBuffer): void => {
    const length = inputs.count * inputs.dimension;
    scope.run([
      {
        shader: decodeShader,
        buffers: [
          scope.params([length, inputs.dimension, layout.blockSize, layout.size, layout.bitWidth, layout.rowLength]),
          codesBuffer(scope, inputs.rows),
          scope.input(inputs.rows.norms),
          scope.input(inputs.rows.codebook.codewords),
          out,
        ],
        threads: length,
      },
    ]);
  };
  const decode = async (inputs: DecodeInputs, output?: DeviceArray): Promise<Float32Array | DeviceArray> => {
    const layout = validateDecode(inputs, "webgpu");
    const length = inputs.count * inputs.dimension;
    return run(async (scope) => {
      if (output) {
        requireFloatArray("decode", "output", output, length, "webgpu", false);
        decodeTo(scope, inputs, layout, (output as GpuArray).buffer);
        await context().device.queue.onSubmittedWorkDone();
        return output;
      }
      const out = scope.allocate(length * 4);
      decodeTo(scope, inputs, layout, out);
      return scope.readFloats(out, length);
    });
  };
  const attentionPasses = (
    scope: CallScope,
    shape: { headCount: number; tokenCount: number },
    scores: GPUBuffer,
  ): Pass => ({ shader: softmaxShader, buffers: [scope.params([shape.tokenCount]), scores], groups: shape.headCount });
  return {
    encode: async (inputs) => {
      const { size, blockSize } = validateEncode(inputs);
      const shells = prepareShells(inputs.codebook);
      const blockCount = (inputs.count * inputs.dimension) / blockSize;
      return run(async (scope) => {
        const vectors = scope.input(inputs.vectors);
        const norms = scope.allocate(inputs.count * 4);
        const codes = scope.allocate(blockCount * 4);
        scope.run([
          { shader: rowNormsShader, buffers: [scope.params([inputs.count, inputs.dimension]), vectors, norms], threads: inputs.count },
          {
            shader: encodeShellsShader,
            buffers: [
              scope.params([blockCount, inputs.dimension, blockSize, size]),
              vectors,
              norms,
              scope.input(shells.radii),
              scope.input(shells.sortedCodewords),
              scope.input(Uint32Array.from(shells.order) as unknown as Uint8Array),
              codes,
            ],
            threads: blockCount,
          },
        ]);
        const codeWords = new Uint32Array(await context().readBuffer(codes, blockCount * 4));
        return {
          codes: size <= 256 ? Uint8Array.from(codeWords) : Uint16Array.from(codeWords),
          norms: await scope.readFloats(norms, inputs.count),
        };
      });
    },
    decode: decode as DecodeKernel,
    scores: async (inputs) => {
      const layout = validateScores(inputs, "webgpu");
      return run(async (scope) => {
        const tables = scope.allocate(layout.blocksPerRow * layout.size * 4);
        const out = scope.allocate(inputs.count * 4);
        scope.run([
          {
            shader: blockTableShader,
            buffers: [
              scope.params([layout.blocksPerRow * layout.size, inputs.dimension, layout.blockSize, layout.size]),
              scope.input(inputs.query),
              scope.input(inputs.keys.codebook.codewords),
              tables,
            ],
            threads: layout.blocksPerRow * layout.size,
          },
          {
            shader: tableScoresShader,
            buffers: [
              scope.params([inputs.count, inputs.count, 1, inputs.count, layout.blocksPerRow, layout.size, layout.bitWidth, layout.rowLength, { float: 1 }, 1]),
              tables,
              codesBuffer(scope, inputs.keys),
              scope.input(inputs.keys.norms),
              out,
            ],
            threads: inputs.count,
          },
        ]);
        return scope.readFloats(out, inputs.count);
      });
    },
    attention: async (inputs) => {
      const shape = describeAttention("attention", inputs);
      const keys = describeRows("attention", "keys", inputs.keys, shape.rowCount, inputs.dimension, "webgpu");
      const values = describeRows("attention", "values", inputs.values, shape.rowCount, inputs.dimension, "webgpu");
      const { headCount, tokenCount, dimension } = inputs;
      return run(async (scope) => {
        const tableCount = headCount * keys.blocksPerRow * keys.size;
        const tables = scope.allocate(tableCount * 4);
        const scores = scope.allocate(headCount * tokenCount * 4);
        const out = scope.allocate(headCount * dimension * 4);
        scope.run([
          {
            shader: blockTableShader,
            buffers: [
              scope.params([tableCount, dimension, keys.blockSize, keys.size]),
              scope.input(inputs.queries),
              scope.input(inputs.keys.codebook.codewords),
              tables,
            ],
            threads: tableCount,
          },
          {
            shader: tableScoresShader,
            buffers: [
              scope.params([
                headCount * tokenCount, tokenCount, shape.groupSize, shape.headStride, keys.blocksPerRow,
                keys.size, keys.bitWidth, keys.rowLength, { float: shape.scale }, shape.tokenStride,
              ]),
              tables,
              codesBuffer(scope, inputs.keys),
              scope.input(inputs.keys.norms),
              scores,
            ],
            threads: headCount * tokenCount,
          },
          attentionPasses(scope, inputs, scores),
          {
            shader: compressedValuesShader,
            buffers: [
              scope.params([
                headCount * dimension, tokenCount, shape.groupSize, shape.headStride, dimension,
                values.blockSize, values.size, values.bitWidth, values.rowLength, shape.tokenStride,
              ]),
              scores,
              codesBuffer(scope, inputs.values),
              scope.input(inputs.values.norms),
              scope.input(inputs.values.codebook.codewords),
              out,
            ],
            threads: headCount * dimension,
          },
        ]);
        return scope.readFloats(out, headCount * dimension);
      });
    },
    denseAttention: async (inputs) => {
      const shape = describeAttention("denseAttention", inputs);
      const length = shape.rowCount * inputs.dimension;
      requireFloatArray("denseAttention", "keys", inputs.keys, length, "webgpu", false);
      requireFloatArray("denseAttention", "values", inputs.values, length, "webgpu", false);
      const { headCount, tokenCount, dimension } = inputs;
      return run(async (scope) => {
        const scores = scope.allocate(headCount * tokenCount * 4);
        const out = scope.allocate(headCount * dimension * 4);
        scope.run([
          {
            shader: denseScoresShader,
            buffers: [
              scope.params([headCount * tokenCount, tokenCount, shape.groupSize, shape.headStride, dimension, { float: shape.scale }, shape.tokenStride]),
              scope.input(inputs.queries),
              scope.input(inputs.keys),
              scores,
            ],
            threads: headCount * tokenCount,
          },
          attentionPasses(scope, inputs, scores),
          {
            shader: denseValuesShader,
            buffers: [
              scope.params([headCount * dimension, tokenCount, shape.groupSize, shape.headStride, dimension, shape.tokenStride]),
              scores,
              scope.input(inputs.values),
              out,
            ],
            threads: headCount * dimension,
          },
        ]);
        return scope.readFloats(out, headCount * dimension);
      });
    },
    matmul: async (inputs) => {
      validateMatmul(inputs, "webgpu");
      return run(async (scope) => {
        const out = scope.allocate(inputs.rows * 4);
        scope.run([
          {
            shader: matmulShader,
            buffers: [scope.params([inputs.rows, inputs.columns]), scope.input(inputs.matrix), scope.input(inputs.vector), out],
            threads: inputs.rows,
          },
        ]);
        return scope.readFloats(out, inputs.rows);
      });
    },
    matmulBatch: async (inputs) => {
      validateMatmulBatch(inputs, "webgpu");
      const length = inputs.count * inputs.rows;
      return run(async (scope) => {
        const out = scope.allocate(length * 4);
        scope.run([
          {
            shader: matmulBatchShader,
            buffers: [scope.params([inputs.rows, inputs.columns, length]), scope.input(inputs.matrix), scope.input(inputs.vectors), out],
            threads: length,
          },
        ]);
        return scope.readFloats(out, length);
      });
    },
    rmsNorm: async (inputs) => {
      const epsilon = validateRmsNorm(inputs, "webgpu");
      const length = inputs.input.length;
      return run(async (scope) => {
        const out = scope.allocate(length * 4);
        scope.run([
          {
            shader: rmsNormShader,
            buffers: [scope.params([length, { float: epsilon }]), scope.input(inputs.input), scope.input(inputs.weight), out],
            groups: 1,
          },
        ]);
        return scope.readFloats(out, length);
      });
    },
    rope: async (inputs) => {
      const theta = validateRope(inputs);
      const length = inputs.input.length;
      const { headDimension, position } = inputs;
      const words: Array<number | { float: number }> = [length / 2, headDimension, position, 0];
      for (let i = 0; i < headDimension; i += 2) {
        const angle = position / Math.pow(theta, i / headDimension);
        words.push({ float: Math.cos(angle) }, { float: Math.sin(angle) });
      }
      return run(async (scope) => {
        const out = scope.allocate(length * 4);
        scope.run([{ shader: ropeShader, buffers: [scope.params(words), scope.input(inputs.input), out], threads: length / 2 }]);
        return scope.readFloats(out, length);
      });
    },
    swiglu: async (inputs) => {
      validateSwiglu(inputs);
      const length = inputs.gate.length;
      return run(async (scope) => {
        const out = scope.allocate(length * 4);
        scope.run([
          {
            shader: swigluShader,
            buffers: [scope.params([length]), scope.input(inputs.gate), scope.input(inputs.up), out],
            threads: length,
          },
        ]);
        return intoOut(await scope.readFloats(out, length), inputs.out);
      });
    },
  };
}

/**
 * WGSL compute kernels (`@workgroup_size(64)`). In browsers the GPU comes from `navigator.gpu`; in
 * Node pass one from the `webgpu` package: `createWebGpuBackend({ gpu: create([]) })`.
 */
export function createWebGpuBackend(options: WebGpuBackendOptions = {}): KernelBackend {
  let context: GpuContext | undefined;
  const ready = (): GpuContext => {
    if (!context) throw new KernelInputError("webgpu", "backend used before init() resolved");
    return context;
  };
  const allocate = (type: DeviceArrayType, length: number): GpuArray => {
    if (!Number.isInteger(length) || length < 0) throw new KernelInputError("allocate", `invalid length ${length}`);
    const bytes = length * (type === "float32" ? 4 : type === "uint16" ? 2 : 1);
    return new GpuArray(ready(), ready().createBuffer(bytes), type, length);
  };
  return {
    specificationVersion: "v1",
    name: "webgpu",
    priority: 3,
    // float32 on the GPU; exp and reduction order differ from the float64 oracle.
    precision: { absolute: 1e-5, relative: 1e-3 },
    init: async () => {
      if (context) return;
      const gpu = (options.gpu as GPU | undefined) ?? (typeof navigator !== "undefined" ? (navigator as { gpu?: GPU }).gpu : undefined);
      if (!gpu) throw new Error("WebGPU is not available: no navigator.gpu and no options.gpu given");
      const adapter = await gpu.requestAdapter({
        powerPreference: options.powerPreference,
        ...(options.featureLevel ? { featureLevel: options.featureLevel } : {}),
      } as GPURequestAdapterOptions);
      if (!adapter) throw new Error("WebGPU requestAdapter() returned null (no adapter on this system)");
      // The encode shader binds 7 storage buffers; compatibility adapters default to fewer.
      const storageBuffers = adapter.limits.maxStorageBuffersPerShaderStage;
      if (storageBuffers < 7) throw new Error(`adapter allows only ${storageBuffers} storage buffers per stage; 7 needed`);
      const device = await adapter.requestDevice({ requiredLimits: { maxStorageBuffersPerShaderStage: Math.min(storageBuffers, 8) } });
      context = new GpuContext(device);
    },
    kernels: createKernels(ready),
    upload: (data) => {
      const array = allocate(typeOf(data), data.length);
      array.write(data);
      return array;
    },
    allocate,
    dispose: () => {
      context?.device.destroy();
      context = undefined;
    },
  };
}
