// Matrix–matrix product for batched prefill: `count` input vectors against one row-major matrix.
// Each weight row is loaded once per pair of input vectors (and stays in L1 across all of them),
// instead of being streamed from memory once per token. Every dot product keeps the accumulation
// order of `dot` in kernels.ts, so each result is bit-identical to `matmul` on that vector.

@inline function sumLanes(v: v128): f32 {
  return (f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 1)) + (f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3));
}

/** kernels.ts `dot`, duplicated here (it is not exported there). */
@inline function dotOne(a: usize, b: usize, length: i32): f32 {
  let i = 0;
  if ((length & 15) == 0) {
    let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
    for (; i < length; i += 16) {
      const offset = <usize>i << 2;
      a0 = f32x4.add(a0, f32x4.mul(v128.load(a + offset), v128.load(b + offset)));
      a1 = f32x4.add(a1, f32x4.mul(v128.load(a + offset, 16), v128.load(b + offset, 16)));
      a2 = f32x4.add(a2, f32x4.mul(v128.load(a + offset, 32), v128.load(b + offset, 32)));
      a3 = f32x4.add(a3, f32x4.mul(v128.load(a + offset, 48), v128.load(b + offset, 48)));
    }
    return sumLanes(f32x4.add(f32x4.add(a0, a1), f32x4.add(a2, a3)));
  }
  let accumulator = f32x4.splat(0);
  for (; i + 4 <= length; i += 4) {
    const offset = <usize>i << 2;
    accumulator = f32x4.add(accumulator, f32x4.mul(v128.load(a + offset), v128.load(b + offset)));
  }
  let sum = sumLanes(accumulator);
  for (; i < length; i++) sum += load<f32>(a + (<usize>i << 2)) * load<f32>(b + (<usize>i << 2));
  return sum;
}

/** Two dots sharing the weight loads: stores weight·x0 at out0 and weight·x1 at out1. */
@inline function dotTwo(w: usize, x0: usize, x1: usize, length: i32, out0: usize, out1: usize): void {
  let i = 0;
  if ((length & 15) == 0) {
    let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
    let b0 = f32x4.splat(0), b1 = f32x4.splat(0), b2 = f32x4.splat(0), b3 = f32x4.splat(0);
    for (; i < length; i += 16) {
      const offset = <usize>i << 2;
      const w0 = v128.load(w + offset), w1 = v128.load(w + offset, 16), w2 = v128.load(w + offset, 32), w3 = v128.load(w + offset, 48);
      a0 = f32x4.add(a0, f32x4.mul(w0, v128.load(x0 + offset)));
      a1 = f32x4.add(a1, f32x4.mul(w1, v128.load(x0 + offset, 16)));
      a2 = f32x4.add(a2, f32x4.mul(w2, v128.load(x0 + offset, 32)));
      a3 = f32x4.add(a3, f32x4.mul(w3, v128.load(x0 + offset, 48)));
      b0 = f32x4.add(b0, f32x4.mul(w0, v128.load(x1 + offset)));
      b1 = f32x4.add(b1, f32x4.mul(w1, v128.load(x1 + offset, 16)));
      b2 = f32x4.add(b2, f32x4.mul(w2, v128.load(x1 + offset, 32)));
      b3 = f32x4.add(b3, f32x4.mul(w3, v128.load(x1 + offset, 48)));
    }
    store<f32>(out0, sumLanes(f32x4.add(f32x4.add(a0, a1), f32x4.add(a2, a3))));
    store<f32>(out1, sumLanes(f32x4.add(f32x4.add(b0, b1), f32x4.add(b2, b3))));
    return;
  }
  store<f32>(out0, dotOne(w, x0, length));
  store<f32>(out1, dotOne(w, x1, length));
}

/** out (count × rows) row v = matrix (rows × columns) · vectors[v] (count × columns). */
export function matmulBatch(matrix: usize, vectors: usize, count: i32, rows: i32, columns: i32, out: usize): void {
  matmulBatchRows(matrix, vectors, count, rows, columns, out, 0, rows);
}

/** Matrix rows [rowStart, rowEnd) of `matmulBatch` for every vector (the thread pool's unit of work). */
export function matmulBatchRows(matrix: usize, vectors: usize, count: i32, rows: i32, columns: i32, out: usize, rowStart: i32, rowEnd: i32): void {
  const rowBytes = <usize>columns << 2;
  const outRowBytes = <usize>rows << 2;
  for (let row = rowStart; row < rowEnd; row++) {
    const weights = matrix + <usize>row * rowBytes;
    const target = out + (<usize>row << 2);
    let v = 0;
    for (; v + 2 <= count; v += 2) {
      const x0 = vectors + <usize>v * rowBytes;
      dotTwo(weights, x0, x0 + rowBytes, columns, target + <usize>v * outRowBytes, target + <usize>(v + 1) * outRowBytes);
    }
    if (v < count) store<f32>(target + <usize>v * outRowBytes, dotOne(weights, vectors + <usize>v * rowBytes, columns));
  }
}
