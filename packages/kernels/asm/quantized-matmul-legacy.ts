// Matrix · vector on GGUF's other 32-value block formats, kept as the file's blocks, against the same
// Q8_0 activations as Q8_0/Q4_0 (llama.cpp pairs Q4_1 with Q8_1; Q8_0 codes plus the per-block
// d_x·Σq_x of activationBlockSumsQ8_0 give the same terms). Q4_1 (20 bytes: fp16 d, fp16 m, 16 bytes
// of nibbles; value = d·q + m) and Q5_0 (22 bytes: fp16 d, 32 high bits, 16 bytes of nibbles; value =
// d·(q − 16)), low nibbles first as in Q4_0.

import { halfToFloat, horizontalSum } from "./quantized-matmul";

@inline function dotI8x16(a: v128, x: usize): v128 {
  return i32x4.add(
    i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_s(a), v128.load(x)),
    i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_s(a), v128.load(x, 16)),
  );
}

/** Q4_1 weights · Q8_0 activations; `sums` from activationBlockSumsQ8_0. */
export function matmulQ4_1(matrix: usize, quants: usize, scales: usize, sums: usize, rows: i32, columns: i32, out: usize): void {
  matmulQ4_1Rows(matrix, quants, scales, sums, columns, out, 0, rows);
}

/** Rows [rowStart, rowEnd) of `matmulQ4_1`. */
export function matmulQ4_1Rows(matrix: usize, quants: usize, scales: usize, sums: usize, columns: i32, out: usize, rowStart: i32, rowEnd: i32): void {
  const blocks = columns >> 5;
  const rowBytes = <usize>blocks * 20;
  const lowMask = i8x16.splat(0x0f);
  for (let row = rowStart; row < rowEnd; row++) {
    let block = matrix + <usize>row * rowBytes;
    let accumulator = f32x4.splat(0);
    let offset: f32 = 0;
    for (let b = 0; b < blocks; b++) {
      const x = quants + (<usize>b << 6);
      const packed = v128.load(block, 4);
      const dot = i32x4.add(dotI8x16(v128.and(packed, lowMask), x), dotI8x16(i8x16.shr_u(packed, 4), x + 32));
      const scale = halfToFloat(<u32>load<u16>(block)) * load<f32>(scales + (<usize>b << 2));
      accumulator = f32x4.add(accumulator, f32x4.mul(f32x4.convert_i32x4_s(dot), f32x4.splat(scale)));
      offset += halfToFloat(<u32>load<u16>(block, 2)) * load<f32>(sums + (<usize>b << 2));
      block += 20;
    }
    store<f32>(out + (<usize>row << 2), horizontalSum(accumulator) + offset);
  }
}

/** Q5_0 weights · Q8_0 activations. */
export function matmulQ5_0(matrix: usize, quants: usize, scales: usize, rows: i32, columns: i32, out: usize): void {
  matmulQ5_0Rows(matrix, quants, scales, columns, out, 0, rows);
}

/** Rows [rowStart, rowEnd) of `matmulQ5_0`. */
export function matmulQ5_0Rows(matrix: usize, quants: usize, scales: usize, columns: i32, out: usize, rowStart: i32, rowEnd: i32): void {
  const blocks = columns >> 5;
  const rowBytes = <usize>blocks * 22;
  const lowMask = i8x16.splat(0x0f);
  const fifthBit = i8x16.splat(0x10);
  const sixteen = i8x16.splat(16);
  // Bit j of the 32 high bits → value j: bytes 0–1 of qh spread over values 0–15, bytes 2–3 over 16–31.
  const bitOf = i8x16(1, 2, 4, 8, 16, 32, 64, -128, 1, 2, 4, 8, 16, 32, 64, -128);
  const lowBytes = i8x16(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1);
  const highBytes = i8x16(2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3);
  for (let row = rowStart; row < rowEnd; row++) {
    let block = matrix + <usize>row * rowBytes;
    let accumulator = f32x4.splat(0);
    for (let b = 0; b < blocks; b++) {
      const x = quants + (<usize>b << 6);
      const high = i32x4.splat(load<i32>(block, 2));
      const highLow = v128.and(i8x16.eq(v128.and(i8x16.swizzle(high, lowBytes), bitOf), bitOf), fifthBit);
      const highHigh = v128.and(i8x16.eq(v128.and(i8x16.swizzle(high, highBytes), bitOf), bitOf), fifthBit);
      const packed = v128.load(block, 6);
      const low = i8x16.sub(v128.or(v128.and(packed, lowMask), highLow), sixteen);
      const upper = i8x16.sub(v128.or(i8x16.shr_u(packed, 4), highHigh), sixteen);
      const dot = i32x4.add(dotI8x16(low, x), dotI8x16(upper, x + 32));
      const scale = halfToFloat(<u32>load<u16>(block)) * load<f32>(scales + (<usize>b << 2));
      accumulator = f32x4.add(accumulator, f32x4.mul(f32x4.convert_i32x4_s(dot), f32x4.splat(scale)));
      block += 22;
    }
    store<f32>(out + (<usize>row << 2), horizontalSum(accumulator));
  }
}
