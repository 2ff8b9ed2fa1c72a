// Matrix–matrix product on Q8_0 / Q4_0 file blocks for batched prefill: `count` activation vectors
// (each already quantized to Q8_0 as i16 codes + f32 scales by quantizeRowQ8_0) against one weight
// matrix. Each weight block is loaded and widened once per four vectors instead of once per vector.
// Per vector the integer block sums are exact and the float steps (block scale, accumulation order,
// final lane sum) are those of matmulQ8_0Rows / matmulQ4_0Rows, so every result is bit-identical to
// the one-vector kernel on that vector; the last count % 4 vectors go through that kernel itself.
// out[v · rows + row], as matmulBatch.

import { halfToFloat, horizontalSum, matmulQ4_0Rows, matmulQ8_0Rows } from "./quantized-matmul";

/** The block's values 0–15 as i8 (Q8_0: stored; Q4_0: low nibbles − 8). `format` 0: Q8_0, 1: Q4_0. */
@inline function lowHalf(format: i32, block: usize): v128 {
  if (format == 0) return v128.load(block, 2);
  return i8x16.sub(v128.and(v128.load(block, 2), i8x16.splat(0x0f)), i8x16.splat(8));
}

/** The block's values 16–31 as i8 (Q8_0: stored; Q4_0: high nibbles − 8). */
@inline function highHalf(format: i32, block: usize): v128 {
  if (format == 0) return v128.load(block, 18);
  return i8x16.sub(i8x16.shr_u(v128.load(block, 2), 4), i8x16.splat(8));
}

/** Σ over one 32-block of the widened weights (w0..w3: values 0–7, 8–15, 16–23, 24–31) · the i16 activations at x. */
@inline function blockSums(w0: v128, w1: v128, w2: v128, w3: v128, x: usize): v128 {
  return i32x4.add(
    i32x4.add(i32x4.dot_i16x8_s(w0, v128.load(x)), i32x4.dot_i16x8_s(w1, v128.load(x, 16))),
    i32x4.add(i32x4.dot_i16x8_s(w2, v128.load(x, 32)), i32x4.dot_i16x8_s(w3, v128.load(x, 48))),
  );
}

@inline function scaled(accumulator: v128, sums: v128, scale: f32): v128 {
  return f32x4.add(accumulator, f32x4.mul(f32x4.convert_i32x4_s(sums), f32x4.splat(scale)));
}

/**
 * One weight row (`blocks` blocks of `blockBytes` at `row`) · vectors [0, tiled), four at a time
 * (`tiled` a multiple of 4). `format` 0: Q8_0 (fp16 d, 32 i8), 1: Q4_0 (fp16 d, 16 bytes of nibbles,
 * value j = low nibble − 8, j + 16 = high − 8).
 */
@inline function rowTimesFourVectors(
  format: i32, row: usize, blocks: i32, blockBytes: i32, quants: usize, scales: usize, columns: i32,
  rows: i32, rowIndex: i32, tiled: i32, out: usize,
): void {
  const vectorQuantBytes = <usize>columns << 1;
  const vectorScaleBytes = <usize>blocks << 2;
  for (let v = 0; v < tiled; v += 4) {
    let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
    let block = row;
    const x0 = quants + <usize>v * vectorQuantBytes;
    const s0 = scales + <usize>v * vectorScaleBytes;
    for (let b = 0; b < blocks; b++) {
      const low = lowHalf(format, block);
      const high = highHalf(format, block);
      const w0 = i16x8.extend_low_i8x16_s(low), w1 = i16x8.extend_high_i8x16_s(low);
      const w2 = i16x8.extend_low_i8x16_s(high), w3 = i16x8.extend_high_i8x16_s(high);
      const d = halfToFloat(<u32>load<u16>(block));
      const x = x0 + (<usize>b << 6);
      const s = s0 + (<usize>b << 2);
      a0 = scaled(a0, blockSums(w0, w1, w2, w3, x), d * load<f32>(s));
      a1 = scaled(a1, blockSums(w0, w1, w2, w3, x + vectorQuantBytes), d * load<f32>(s + vectorScaleBytes));
      a2 = scaled(a2, blockSums(w0, w1, w2, w3, x + 2 * vectorQuantBytes), d * load<f32>(s + 2 * vectorScaleBytes));
      a3 = scaled(a3, blockSums(w0, w1, w2, w3, x + 3 * vectorQuantBytes), d * load<f32>(s + 3 * vectorScaleBytes));
      block += blockBytes;
    }
    const at = out + ((<usize>v * rows + rowIndex) << 2);
    const stride = <usize>rows << 2;
    store<f32>(at, horizontalSum(a0));
    store<f32>(at + stride, horizontalSum(a1));
    store<f32>(at + 2 * stride, horizontalSum(a2));
    store<f32>(at + 3 * stride, horizontalSum(a3));
  }
}

/**
 * Two adjacent weight rows (`row`, `row` + `rowBytes`) · vectors [0, tiled), four at a time: each
 * vector's activation loads serve both rows. Per (row, vector) the operations and their order are
 * those of rowTimesFourVectors, so the results are the same bits.
 */
@inline function rowPairTimesFourVectors(
  format: i32, row: usize, rowBytes: usize, blocks: i32, blockBytes: i32, quants: usize, scales: usize, columns: i32,
  rows: i32, rowIndex: i32, tiled: i32, out: usize,
): void {
  const vectorQuantBytes = <usize>columns << 1;
  const vectorScaleBytes = <usize>blocks << 2;
  const stride = <usize>rows << 2;
  for (let v = 0; v < tiled; v += 4) {
    let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
    let b0 = f32x4.splat(0), b1 = f32x4.splat(0), b2 = f32x4.splat(0), b3 = f32x4.splat(0);
    let block = row;
    const x0 = quants + <usize>v * vectorQuantBytes;
    const s0 = scales + <usize>v * vectorScaleBytes;
    for (let b = 0; b < blocks; b++) {
      const next = block + rowBytes;
      const low = lowHalf(format, block), high = highHalf(format, block);
      const lowNext = lowHalf(format, next), highNext = highHalf(format, next);
      const w0 = i16x8.extend_low_i8x16_s(low), w1 = i16x8.extend_high_i8x16_s(low);
      const w2 = i16x8.extend_low_i8x16_s(high), w3 = i16x8.extend_high_i8x16_s(high);
      const u0 = i16x8.extend_low_i8x16_s(lowNext), u1 = i16x8.extend_high_i8x16_s(lowNext);
      const u2 = i16x8.extend_low_i8x16_s(highNext), u3 = i16x8.extend_high_i8x16_s(highNext);
      const d = halfToFloat(<u32>load<u16>(block));
      const e = halfToFloat(<u32>load<u16>(next));
      let x = x0 + (<usize>b << 6);
      let s = s0 + (<usize>b << 2);
      let scale = load<f32>(s);
      a0 = scaled(a0, blockSums(w0, w1, w2, w3, x), d * scale);
      b0 = scaled(b0, blockSums(u0, u1, u2, u3, x), e * scale);
      x += vectorQuantBytes;
      s += vectorScaleBytes;
      scale = load<f32>(s);
      a1 = scaled(a1, blockSums(w0, w1, w2, w3, x), d * scale);
      b1 = scaled(b1, blockSums(u0, u1, u2, u3, x), e * scale);
      x += vectorQuantBytes;
      s += vectorScaleBytes;
      scale = load<f32>(s);
      a2 = scaled(a2, blockSums(w0, w1, w2, w3, x), d * scale);
      b2 = scaled(b2, blockSums(u0, u1, u2, u3, x), e * scale);
      x += vectorQuantBytes;
      s += vectorScaleBytes;
      scale = load<f32>(s);
      a3 = scaled(a3, blockSums(w0, w1, w2, w3, x), d * scale);
      b3 = scaled(b3, blockSums(u0, u1, u2, u3, x), e * scale);
      block += blockBytes;
    }
    const at = out + ((<usize>v * rows + rowIndex) << 2);
    store<f32>(at, horizontalSum(a0));
    store<f32>(at + stride, horizontalSum(a1));
    store<f32>(at + 2 * stride, horizontalSum(a2));
    store<f32>(at + 3 * stride, horizontalSum(a3));
    store<f32>(at + 4, horizontalSum(b0));
    store<f32>(at + stride + 4, horizontalSum(b1));
    store<f32>(at + 2 * stride + 4, horizontalSum(b2));
    store<f32>(at + 3 * stride + 4, horizontalSum(b3));
  }
}

/** Rows [rowStart, rowEnd) of one weight format · the first `tiled` vectors: pairs of rows, then a last single row. */
@inline function tiledRows(format: i32, matrix: usize, rowBytes: usize, blocks: i32, blockBytes: i32, quants: usize, scales: usize, columns: i32, rows: i32, tiled: i32, out: usize, rowStart: i32, rowEnd: i32): void {
  let row = rowStart;
  for (; row + 1 < rowEnd; row += 2) rowPairTimesFourVectors(format, matrix + <usize>row * rowBytes, rowBytes, blocks, blockBytes, quants, scales, columns, rows, row, tiled, out);
  if (row < rowEnd) rowTimesFourVectors(format, matrix + <usize>row * rowBytes, blocks, blockBytes, quants, scales, columns, rows, row, tiled, out);
}

/** Rows [rowStart, rowEnd) of Q8_0 weights · `count` Q8_0 activation vectors (quants: count × columns i16, scales: count × columns/32 f32). */
export function matmulBatchQ8_0Rows(matrix: usize, quants: usize, scales: usize, count: i32, rows: i32, columns: i32, out: usize, rowStart: i32, rowEnd: i32): void {
  const blocks = columns >> 5;
  const rowBytes = <usize>blocks * 34;
  const tiled = count & ~3;
  tiledRows(0, matrix, rowBytes, blocks, 34, quants, scales, columns, rows, tiled, out, rowStart, rowEnd);
  // The last count % 4 vectors: the one-vector kernel itself.
  for (let v = tiled; v < count; v++) matmulQ8_0Rows(matrix, quants + <usize>v * (columns << 1), scales + <usize>v * (blocks << 2), columns, out + ((<usize>v * rows) << 2), rowStart, rowEnd);
}

/** Rows [rowStart, rowEnd) of Q4_0 weights · `count` Q8_0 activation vectors. */
export function matmulBatchQ4_0Rows(matrix: usize, quants: usize, scales: usize, count: i32, rows: i32, columns: i32, out: usize, rowStart: i32, rowEnd: i32): void {
  const blocks = columns >> 5;
  const rowBytes = <usize>blocks * 18;
  const tiled = count & ~3;
  tiledRows(1, matrix, rowBytes, blocks, 18, quants, scales, columns, rows, tiled, out, rowStart, rowEnd);
  for (let v = tiled; v < count; v++) matmulQ4_0Rows(matrix, quants + <usize>v * (columns << 1), scales + <usize>v * (blocks << 2), columns, out + ((<usize>v * rows) << 2), rowStart, rowEnd);
}
