/**
 * out[row] = Σ_i weights[row·inputSize + i] · x[i] for row < outputSize (weights row-major
 * [outputSize, inputSize]). Four independent accumulators let the JIT overlap the multiply-adds.
 */
export function matmul(out: Float32Array, x: Float32Array, weights: Float32Array, inputSize: number, outputSize: number): void {
  const tail = inputSize - (inputSize % 4);
  for (let row = 0; row < outputSize; row++) {
    const base = row * inputSize;
    let sum0 = 0;
    let sum1 = 0;
    let sum2 = 0;
    let sum3 = 0;
    let i = 0;
    for (; i < tail; i += 4) {
      sum0 += weights[base + i] * x[i];
      sum1 += weights[base + i + 1] * x[i + 1];
      sum2 += weights[base + i + 2] * x[i + 2];
      sum3 += weights[base + i + 3] * x[i + 3];
    }
    for (; i < inputSize; i++) sum0 += weights[base + i] * x[i];
    out[row] = sum0 + sum1 + sum2 + sum3;
  }
}

/**
 * `matmul` for `rows` input rows at once (row r of x at r·xStride, its result at r·outStride +
 * outOffset). Each weight row is read once for all input rows (it stays in cache), and every
 * output element is the same four-accumulator sum as `matmul`, so results are bit-identical.
 */
export function matmulRows(
  out: Float32Array,
  outStride: number,
  outOffset: number,
  x: Float32Array,
  xStride: number,
  weights: Float32Array,
  inputSize: number,
  outputSize: number,
  rows: number,
): void {
  if (rows === 1) {
    // One token (decode): the plain loop, which the JIT compiles tighter.
    matmul(out.subarray(outOffset, outOffset + outputSize), x, weights, inputSize, outputSize);
    return;
  }
  const tail = inputSize - (inputSize % 4);
  for (let row = 0; row < outputSize; row++) {
    const base = row * inputSize;
    for (let r = 0; r < rows; r++) {
      const input = r * xStride;
      let sum0 = 0;
      let sum1 = 0;
      let sum2 = 0;
      let sum3 = 0;
      let i = 0;
      for (; i < tail; i += 4) {
        sum0 += weights[base + i] * x[input + i];
        sum1 += weights[base + i + 1] * x[input + i + 1];
        sum2 += weights[base + i + 2] * x[input + i + 2];
        sum3 += weights[base + i + 3] * x[input + i + 3];
      }
      for (; i < inputSize; i++) sum0 += weights[base + i] * x[input + i];
      out[r * outStride + outOffset + row] = sum0 + sum1 + sum2 + sum3;
    }
  }
}

/** out = weight ⊙ x / √(mean(x²) + epsilon) (llama2.c rmsnorm); out may alias x. */
export function rmsNorm(out: Float32Array, x: Float32Array, weight: Float32Array, size: number, epsilon: number): void {
  let sumOfSquares = 0;
  for (let i = 0; i < size; i++) sumOfSquares += x[i] * x[i];
  const scale = 1 / Math.sqrt(sumOfSquares / size + epsilon);
  for (let i = 0; i < size; i++) out[i] = weight[i] * (scale * x[i]);
}

/** out = (x − mean) / √(variance + epsilon) ⊙ weight + bias (GPT-2 LayerNorm, biased variance); out may alias x. */
export function layerNorm(out: Float32Array, x: Float32Array, weight: Float32Array, bias: Float32Array, size: number, epsilon: number): void {
  let mean = 0;
  for (let i = 0; i < size; i++) mean += x[i];
  mean /= size;
  let variance = 0;
  for (let i = 0; i < size; i++) {
    const centered = x[i] - mean;
    variance += centered * centered;
  }
  variance /= size;
  const scale = 1 / Math.sqrt(variance + epsilon);
  for (let i = 0; i < size; i++) out[i] = (x[i] - mean) * scale * weight[i] + bias[i];
}

/** x += y over the first `size` elements. */
export function addInPlace(x: Float32Array, y: Float32Array, size: number): void {
  for (let i = 0; i < size; i++) x[i] += y[i];
}

/** Natural log of Σ exp(x[i]) over the first `size` elements, computed stably in float64. */
export function logSumExp(x: Float32Array, size: number): number {
  let maximum = -Infinity;
  for (let i = 0; i < size; i++) if (x[i] > maximum) maximum = x[i];
  let sum = 0;
  for (let i = 0; i < size; i++) sum += Math.exp(x[i] - maximum);
  return maximum + Math.log(sum);
}
