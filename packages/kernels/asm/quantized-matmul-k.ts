// Matrix · vector on K-quant weights kept as a GGUF file's 256-value super-blocks (ggml layouts),
// against the same Q8_0 activations as the legacy formats (quantizeRowQ8_0: 32 i16 codes and one
// half-rounded scale per 32 values). Every K-quant sub-block lines up with Q8_0 blocks (Q4_K: one
// 32-value sub-block per activation block; Q6_K: two 16-value sub-blocks), so each sub-block is one
// integer dot product (i8 → i16 widening, i32x4.dot_i16x8_s) scaled once. Per-32 activation scales
// are finer than llama.cpp's Q8_K (one f32 scale per 256), so the result is at least as close to the
// fp32 product. Rows are contiguous runs of super-blocks, as in the file.

import { halfToFloat, horizontalSum } from "./quantized-matmul";

/** Σ over 16 pairs (i8 weights · activations already i16 at x, x+16), as i32x4 partial sums. */
@inline function dotI8x16(a: v128, x: usize): v128 {
  return i32x4.add(
    i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_s(a), v128.load(x)),
    i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_s(a), v128.load(x, 16)),
  );
}

/**
 * d_x · Σ q_x per 32-block of Q8_0 activations (i16 codes at `quants`, f32 scales at `scales`), as
 * f32 at `out`: the term Q4_K's per-sub-block minimum multiplies.
 */
export function activationBlockSumsQ8_0(quants: usize, scales: usize, blocks: i32, out: usize): void {
  for (let b = 0; b < blocks; b++) {
    const x = quants + (<usize>b << 6);
    const ones = i16x8.splat(1);
    let sums = i32x4.dot_i16x8_s(v128.load(x), ones);
    sums = i32x4.add(sums, i32x4.dot_i16x8_s(v128.load(x, 16), ones));
    sums = i32x4.add(sums, i32x4.dot_i16x8_s(v128.load(x, 32), ones));
    sums = i32x4.add(sums, i32x4.dot_i16x8_s(v128.load(x, 48), ones));
    const total = i32x4.extract_lane(sums, 0) + i32x4.extract_lane(sums, 1) + i32x4.extract_lane(sums, 2) + i32x4.extract_lane(sums, 3);
    store<f32>(out + (<usize>b << 2), <f32>total * load<f32>(scales + (<usize>b << 2)));
  }
}

/**
 * Q4_K weights (144-byte super-blocks: fp16 d, fp16 dmin, 12 bytes of 6-bit scales/mins, 128 bytes of
 * nibbles; sub-block j ≈ d·sc_j·q − dmin·m_j) · Q8_0 activations; `sums` from activationBlockSumsQ8_0.
 */
export function matmulQ4_K(matrix: usize, quants: usize, scales: usize, sums: usize, rows: i32, columns: i32, out: usize): void {
  matmulQ4_KRows(matrix, quants, scales, sums, columns, out, 0, rows);
}

/** Rows [rowStart, rowEnd) of `matmulQ4_K` (the thread pool's unit of work). */
export function matmulQ4_KRows(matrix: usize, quants: usize, scales: usize, sums: usize, columns: i32, out: usize, rowStart: i32, rowEnd: i32): void {
  const superBlocks = columns >> 8;
  const rowBytes = <usize>superBlocks * 144;
  const lowMask = i8x16.splat(0x0f);
  for (let row = rowStart; row < rowEnd; row++) {
    let block = matrix + <usize>row * rowBytes;
    let accumulator = f32x4.splat(0);
    let minimum: f32 = 0;
    for (let s = 0; s < superBlocks; s++) {
      const d = halfToFloat(<u32>load<u16>(block));
      const dmin = halfToFloat(<u32>load<u16>(block, 2));
      // The 12 packed bytes of 6-bit scales and mins (get_scale_min_k4, ggml-quants.c): sub-blocks
      // 0–3 in the low 6 bits of bytes 0–3 / 4–7, 4–7 from bytes 8–11's nibbles and the top 2 bits.
      const lowWord = load<u32>(block, 4);
      const midWord = load<u32>(block, 8);
      const highWord = load<u32>(block, 12);
      for (let group = 0; group < 4; group++) {
        // Sub-blocks 2·group and 2·group + 1: the low and the high nibbles of the same 32 bytes.
        const q = block + 16 + (<usize>group << 5);
        const v0 = v128.load(q);
        const v1 = v128.load(q, 16);
        for (let k = 0; k < 2; k++) {
          const j = (group << 1) + k;
          let scale: u32;
          let min: u32;
          if (j < 4) {
            scale = (lowWord >> (j << 3)) & 63;
            min = (midWord >> (j << 3)) & 63;
          } else {
            const shift = (j - 4) << 3;
            const packed = (highWord >> shift) & 0xff;
            scale = (packed & 0xf) | (((lowWord >> shift) >> 6 & 3) << 4);
            min = (packed >> 4) | (((midWord >> shift) >> 6 & 3) << 4);
          }
          const b = (s << 3) + j;
          const x = quants + (<usize>b << 6);
          const codes0 = k == 0 ? v128.and(v0, lowMask) : i8x16.shr_u(v0, 4);
          const codes1 = k == 0 ? v128.and(v1, lowMask) : i8x16.shr_u(v1, 4);
          const dot = i32x4.add(dotI8x16(codes0, x), dotI8x16(codes1, x + 32));
          const factor = d * <f32>scale * load<f32>(scales + (<usize>b << 2));
          accumulator = f32x4.add(accumulator, f32x4.mul(f32x4.convert_i32x4_s(dot), f32x4.splat(factor)));
          minimum += dmin * <f32>min * load<f32>(sums + (<usize>b << 2));
        }
      }
      block += 144;
    }
    store<f32>(out + (<usize>row << 2), horizontalSum(accumulator) - minimum);
  }
}

/**
 * Q6_K weights (210-byte super-blocks: ql[128] low nibbles, qh[64] 2-bit highs, 16 i8 scales, fp16 d;
 * value = d·sc·(q − 32) per 16) · Q8_0 activations.
 */
export function matmulQ6_K(matrix: usize, quants: usize, scales: usize, rows: i32, columns: i32, out: usize): void {
  matmulQ6_KRows(matrix, quants, scales, columns, out, 0, rows);
}

/** One 32-value group of Q6_K: two 16-value halves (codes a, b) with scales at sc, sc + 1. */
@inline function groupQ6_K(a: v128, b: v128, sc: usize, x: usize): v128 {
  const offset = i8x16.splat(32);
  const first = i32x4.mul(dotI8x16(i8x16.sub(a, offset), x), i32x4.splat(<i32>load<i8>(sc)));
  const second = i32x4.mul(dotI8x16(i8x16.sub(b, offset), x + 32), i32x4.splat(<i32>load<i8>(sc, 1)));
  return i32x4.add(first, second);
}

/** Rows [rowStart, rowEnd) of `matmulQ6_K`. */
export function matmulQ6_KRows(matrix: usize, quants: usize, scales: usize, columns: i32, out: usize, rowStart: i32, rowEnd: i32): void {
  const superBlocks = columns >> 8;
  const rowBytes = <usize>superBlocks * 210;
  const lowMask = i8x16.splat(0x0f);
  const highMask = i8x16.splat(0x30);
  for (let row = rowStart; row < rowEnd; row++) {
    let block = matrix + <usize>row * rowBytes;
    let accumulator = f32x4.splat(0);
    for (let s = 0; s < superBlocks; s++) {
      const d = halfToFloat(<u32>load<u16>(block, 208));
      for (let half = 0; half < 2; half++) {
        const ql = block + (<usize>half << 6);
        const qh = block + 128 + (<usize>half << 5);
        const sc = block + 192 + (<usize>half << 3);
        const b = (s << 3) + (half << 2);
        const x = quants + (<usize>b << 6);
        const ql0 = v128.load(ql);
        const ql0b = v128.load(ql, 16);
        const ql1 = v128.load(ql, 32);
        const ql1b = v128.load(ql, 48);
        const h = v128.load(qh);
        const hb = v128.load(qh, 16);
        // Value l of group g: low 4 bits from ql (g = 0, 1: low nibble of ql[l], ql[l + 32]; g = 2, 3:
        // high nibbles), high 2 bits from qh[l] >> 2g (dequantize_row_q6_K).
        const g0 = groupQ6_K(
          v128.or(v128.and(ql0, lowMask), v128.and(i8x16.shl(h, 4), highMask)),
          v128.or(v128.and(ql0b, lowMask), v128.and(i8x16.shl(hb, 4), highMask)), sc, x);
        const g1 = groupQ6_K(
          v128.or(v128.and(ql1, lowMask), v128.and(i8x16.shl(h, 2), highMask)),
          v128.or(v128.and(ql1b, lowMask), v128.and(i8x16.shl(hb, 2), highMask)), sc + 2, x + 64);
        const g2 = groupQ6_K(
          v128.or(i8x16.shr_u(ql0, 4), v128.and(h, highMask)),
          v128.or(i8x16.shr_u(ql0b, 4), v128.and(hb, highMask)), sc + 4, x + 128);
        const g3 = groupQ6_K(
          v128.or(i8x16.shr_u(ql1, 4), v128.and(i8x16.shr_u(h, 2), highMask)),
          v128.or(i8x16.shr_u(ql1b, 4), v128.and(i8x16.shr_u(hb, 2), highMask)), sc + 6, x + 192);
        const scale = scales + (<usize>b << 2);
        accumulator = f32x4.add(accumulator, f32x4.mul(f32x4.convert_i32x4_s(g0), f32x4.splat(d * load<f32>(scale))));
        accumulator = f32x4.add(accumulator, f32x4.mul(f32x4.convert_i32x4_s(g1), f32x4.splat(d * load<f32>(scale, 4))));
        accumulator = f32x4.add(accumulator, f32x4.mul(f32x4.convert_i32x4_s(g2), f32x4.splat(d * load<f32>(scale, 8))));
        accumulator = f32x4.add(accumulator, f32x4.mul(f32x4.convert_i32x4_s(g3), f32x4.splat(d * load<f32>(scale, 12))));
      }
      block += 210;
    }
    store<f32>(out + (<usize>row << 2), horizontalSum(accumulator));
  }
}
