import { KernelInputError } from "../kernel-errors.js";
import type { MatmulInputs, RmsNormInputs, RopeInputs, SwigluInputs } from "../kernel-inputs.js";
import { requireFinite, requireFloatArray, requireLength, requirePositiveInteger } from "../validate-inputs.js";

export function validateMatmul(inputs: MatmulInputs, backendName: string): void {
  requirePositiveInteger("matmul", "rows", inputs.rows);
  requirePositiveInteger("matmul", "columns", inputs.columns);
  requireFloatArray("matmul", "matrix", inputs.matrix, inputs.rows * inputs.columns, backendName);
  requireFloatArray("matmul", "vector", inputs.vector, inputs.columns, backendName);
  requireFinite("matmul", "vector", inputs.vector);
}

export function matmulReference(matrix: Float32Array, vector: Float32Array, rows: number, columns: number): Float32Array {
  const out = new Float32Array(rows);
  for (let row = 0; row < rows; row++) {
    let sum = 0;
    for (let column = 0; column < columns; column++) sum += matrix[row * columns + column] * vector[column];
    out[row] = sum;
  }
  return out;
}

export function validateRmsNorm(inputs: RmsNormInputs, backendName: string): number {
  const epsilon = inputs.epsilon ?? 1e-5;
  if (!(epsilon > 0) || !Number.isFinite(epsilon)) throw new KernelInputError("rmsNorm", `epsilon ${epsilon} must be positive`);
  requireFloatArray("rmsNorm", "input", inputs.input, inputs.input.length, backendName);
  if (inputs.input.length === 0) throw new KernelInputError("rmsNorm", "input is empty");
  requireFloatArray("rmsNorm", "weight", inputs.weight, inputs.input.length, backendName);
  requireFinite("rmsNorm", "input", inputs.input);
  return epsilon;
}

export function rmsNormReference(input: Float32Array, weight: Float32Array, epsilon: number): Float32Array {
  let sum = 0;
  for (let i = 0; i < input.length; i++) sum += input[i] * input[i];
  const scale = 1 / Math.sqrt(sum / input.length + epsilon);
  const out = new Float32Array(input.length);
  for (let i = 0; i < input.length; i++) out[i] = weight[i] * (scale * input[i]);
  return out;
}

export function validateRope(inputs: RopeInputs): number {
  const theta = inputs.theta ?? 10000;
  requirePositiveInteger("rope", "headDimension", inputs.headDimension);
  if (inputs.headDimension % 2 !== 0) throw new KernelInputError("rope", `headDimension ${inputs.headDimension} must be even`);
  if (!Number.isInteger(inputs.position) || inputs.position < 0) {
    throw new KernelInputError("rope", `position ${inputs.position} must be a non-negative integer`);
  }
  if (!(theta > 0) || !Number.isFinite(theta)) throw new KernelInputError("rope", `theta ${theta} must be positive`);
  if (!(inputs.input instanceof Float32Array)) throw new KernelInputError("rope", "input must be a Float32Array");
  if (inputs.input.length === 0 || inputs.input.length % inputs.headDimension !== 0) {
    throw new KernelInputError("rope", `input length ${inputs.input.length} is not a multiple of headDimension ${inputs.headDimension}`);
  }
  requireFinite("rope", "input", inputs.input);
  return theta;
}

/** llama2.c: for i in 0..dim step 2, freq = 1/θ^((i % headSize)/headSize), rotate (v[i], v[i+1]). */
export function ropeReference(input: Float32Array, headDimension: number, position: number, theta: number): Float32Array {
  const out = new Float32Array(input.length);
  for (let i = 0; i < input.length; i += 2) {
    const frequency = 1 / Math.pow(theta, (i % headDimension) / headDimension);
    const angle = position * frequency;
    const cos = Math.cos(angle);
    const sin = Math.sin(angle);
    out[i] = input[i] * cos - input[i + 1] * sin;
    out[i + 1] = input[i] * sin + input[i + 1] * cos;
  }
  return out;
}

export function validateSwiglu(inputs: SwigluInputs): void {
  if (!(inputs.gate instanceof Float32Array) || !(inputs.up instanceof Float32Array)) {
    throw new KernelInputError("swiglu", "gate and up must be Float32Arrays");
  }
  requireLength("swiglu", "up", inputs.up.length, inputs.gate.length);
  requireFinite("swiglu", "gate", inputs.gate);
  requireFinite("swiglu", "up", inputs.up);
  if (inputs.out !== undefined) {
    if (!(inputs.out instanceof Float32Array)) throw new KernelInputError("swiglu", "out must be a Float32Array");
    requireLength("swiglu", "out", inputs.out.length, inputs.gate.length);
  }
}

export function swigluReference(gate: Float32Array, up: Float32Array): Float32Array {
  const out = new Float32Array(gate.length);
  for (let i = 0; i < gate.length; i++) out[i] = (gate[i] / (1 + Math.exp(-gate[i]))) * up[i];
  return out;
}
