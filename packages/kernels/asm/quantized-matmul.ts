// Matrix · vector on weights kept as a GGUF file's blocks (ggml layouts), llama.cpp style: the
// activation vector is quantized to Q8_0 (32 values, one fp16 scale) and each weight block is
// multiplied with integer dot products (i8 → i16 widening, i32x4.dot_i16x8_s), scaled once per block.
// F16 weights are widened to f32 on the fly. Rows are contiguous runs of blocks, as in the file.

// 2^112: moves a half's exponent bias (15) to a float's (127); exact for normal and subnormal halves.
const halfExponentShift: f32 = 5.192296858534828e33;

/** IEEE half (as its 16 bits) → f32, exact for every finite half. */
@inline export function halfToFloat(bits: u32): f32 {
  const magnitude = reinterpret<f32>((bits & 0x7fff) << 13) * halfExponentShift;
  return reinterpret<f32>(reinterpret<u32>(magnitude) | ((bits & 0x8000) << 16));
}

/** Rounds an f32 to the nearest half (ties to even) and returns it as f32, as GGML_FP32_TO_FP16 does. */
@inline function roundToHalf(value: f32): f32 {
  const magnitude = Mathf.abs(value);
  if (magnitude < 6.103515625e-5) {
    // Subnormal halves: multiples of 2^-24.
    const rounded: f32 = f32.nearest(magnitude * 16777216) / 16777216;
    return value < 0 ? -rounded : rounded;
  }
  const bits = reinterpret<u32>(value);
  const rest = bits & 0x1fff;
  let kept = bits & ~0x1fff;
  if (rest > 0x1000 || (rest == 0x1000 && (kept & 0x2000) != 0)) kept += 0x2000;
  return reinterpret<f32>(kept);
}

/**
 * llama.cpp quantize_row_q8_0_ref: per block of 32, d = max|x| / 127, q = roundf(x / d); the scale is
 * stored as fp16, so `scales` holds the half-rounded d as f32. `quants`: `length` codes stored as i16
 * (widened once here, so the matmuls do not widen the activations per row); `scales`: length/32 f32.
 */
export function quantizeRowQ8_0(input: usize, length: i32, quants: usize, scales: usize): void {
  const blocks = length >> 5;
  const half = f32x4.splat(0.5);
  const one = f32x4.splat(1);
  const signBit = i32x4.splat(0x80000000);
  for (let block = 0; block < blocks; block++) {
    const base = input + (<usize>block << 7);
    // max |x| is exact in any order, so 4 lanes then across them equals the sequential scan.
    let amax4 = f32x4.abs(v128.load(base));
    for (let j = 1; j < 8; j++) amax4 = f32x4.max(amax4, f32x4.abs(v128.load(base + (<usize>j << 4))));
    const amax = Mathf.max(Mathf.max(f32x4.extract_lane(amax4, 0), f32x4.extract_lane(amax4, 1)), Mathf.max(f32x4.extract_lane(amax4, 2), f32x4.extract_lane(amax4, 3)));
    const d: f32 = amax / 127;
    const inverse = f32x4.splat(d != 0 ? 1 / d : 0);
    const target = quants + (<usize>block << 6);
    for (let j = 0; j < 8; j += 2) {
      const low = roundAway4(f32x4.mul(v128.load(base + (<usize>j << 4)), inverse), half, one, signBit);
      const high = roundAway4(f32x4.mul(v128.load(base + (<usize>(j + 1) << 4)), inverse), half, one, signBit);
      v128.store(target + (<usize>j << 3), i16x8.narrow_i32x4_s(low, high));
    }
    store<f32>(scales + (<usize>block << 2), roundToHalf(d));
  }
}

/** `roundAway` on 4 lanes (|x| ≤ 127 here): floor of the magnitude, +1 when the fraction is ≥ 0.5 (exact: no x + 0.5 rounding), the sign put back. */
@inline function roundAway4(x: v128, half: v128, one: v128, signBit: v128): v128 {
  const magnitude = f32x4.abs(x);
  const whole = f32x4.floor(magnitude);
  const rounded = f32x4.add(whole, v128.and(f32x4.ge(f32x4.sub(magnitude, whole), half), one));
  return i32x4.trunc_sat_f32x4_s(v128.or(rounded, v128.and(x, signBit)));
}

@inline export function horizontalSum(v: v128): f32 {
  return (f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 1)) + (f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3));
}

/** Σ over 16 pairs (i8 weights · activations already i16 at x, x+16), as i32x4 partial sums. */
@inline function dotI8x16(a: v128, x: usize): v128 {
  return i32x4.add(
    i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_s(a), v128.load(x)),
    i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_s(a), v128.load(x, 16)),
  );
}

/** Q8_0 weights (34-byte blocks: fp16 d, 32 i8) · Q8_0 activations (vec_dot_q8_0_q8_0). */
export function matmulQ8_0(matrix: usize, quants: usize, scales: usize, rows: i32, columns: i32, out: usize): void {
  matmulQ8_0Rows(matrix, quants, scales, columns, out, 0, rows);
}

/** One Q8_0 block (`block`) · the activations of block `x` (scale `scale` already times the weight's d) added to `accumulator`. */
@inline function q8_0Block(accumulator: v128, block: usize, x: usize, scale: f32): v128 {
  const sums = i32x4.add(dotI8x16(v128.load(block, 2), x), dotI8x16(v128.load(block, 18), x + 32));
  return f32x4.add(accumulator, f32x4.mul(f32x4.convert_i32x4_s(sums), f32x4.splat(scale)));
}

/**
 * Rows [rowStart, rowEnd) of `matmulQ8_0` (the thread pool's unit of work), two rows at a time so
 * each activation block is loaded once for both; each row's operations are those of a row alone.
 */
export function matmulQ8_0Rows(matrix: usize, quants: usize, scales: usize, columns: i32, out: usize, rowStart: i32, rowEnd: i32): void {
  const blocks = columns >> 5;
  const rowBytes = <usize>blocks * 34;
  let row = rowStart;
  for (; row + 1 < rowEnd; row += 2) {
    let block = matrix + <usize>row * rowBytes;
    let first = f32x4.splat(0), second = f32x4.splat(0);
    for (let b = 0; b < blocks; b++) {
      const x = quants + (<usize>b << 6);
      const scale = load<f32>(scales + (<usize>b << 2));
      first = q8_0Block(first, block, x, halfToFloat(<u32>load<u16>(block)) * scale);
      second = q8_0Block(second, block + rowBytes, x, halfToFloat(<u32>load<u16>(block + rowBytes)) * scale);
      block += 34;
    }
    store<f32>(out + (<usize>row << 2), horizontalSum(first));
    store<f32>(out + (<usize>(row + 1) << 2), horizontalSum(second));
  }
  if (row < rowEnd) {
    let block = matrix + <usize>row * rowBytes;
    let accumulator = f32x4.splat(0);
    for (let b = 0; b < blocks; b++) {
      accumulator = q8_0Block(accumulator, block, quants + (<usize>b << 6), halfToFloat(<u32>load<u16>(block)) * load<f32>(scales + (<usize>b << 2)));
      block += 34;
    }
    store<f32>(out + (<usize>row << 2), horizontalSum(accumulator));
  }
}

/** Q4_0 weights (18-byte blocks: fp16 d, 16 bytes of nibbles; value j = low nibble − 8, j+16 = high − 8) · Q8_0 activations. */
export function matmulQ4_0(matrix: usize, quants: usize, scales: usize, rows: i32, columns: i32, out: usize): void {
  matmulQ4_0Rows(matrix, quants, scales, columns, out, 0, rows);
}

/** Rows [rowStart, rowEnd) of `matmulQ4_0`. */
export function matmulQ4_0Rows(matrix: usize, quants: usize, scales: usize, columns: i32, out: usize, rowStart: i32, rowEnd: i32): void {
  const blocks = columns >> 5;
  const rowBytes = <usize>blocks * 18;
  const lowMask = i8x16.splat(0x0f);
  const eight = i8x16.splat(8);
  for (let row = rowStart; row < rowEnd; row++) {
    let block = matrix + <usize>row * rowBytes;
    let accumulator = f32x4.splat(0);
    for (let b = 0; b < blocks; b++) {
      const x = quants + (<usize>b << 6);
      const packed = v128.load(block, 2);
      const low = i8x16.sub(v128.and(packed, lowMask), eight);
      const high = i8x16.sub(i8x16.shr_u(packed, 4), eight);
      const sums = i32x4.add(dotI8x16(low, x), dotI8x16(high, x + 32));
      const scale = halfToFloat(<u32>load<u16>(block)) * load<f32>(scales + (<usize>b << 2));
      accumulator = f32x4.add(accumulator, f32x4.mul(f32x4.convert_i32x4_s(sums), f32x4.splat(scale)));
      block += 18;
    }
    store<f32>(out + (<usize>row << 2), horizontalSum(accumulator));
  }
}

/**
 * Four halves (sign-extended to i32) → f32x4, exact for finite halves: shifted left 13 the sign lands
 * in bit 31 and its copies in bits 28–30, which the mask clears; then ×2^112 rebiases the exponent
 * (the float multiply keeps the sign).
 */
@inline function halvesToFloats(wide: v128): v128 {
  return f32x4.mul(v128.and(i32x4.shl(wide, 13), i32x4.splat(0x8fffe000)), f32x4.splat(halfExponentShift));
}

/** F16 weights (row-major halves) · f32 vector; `columns` a multiple of 8. */
export function matmulF16(matrix: usize, vector: usize, rows: i32, columns: i32, out: usize): void {
  matmulF16Rows(matrix, vector, columns, out, 0, rows);
}

/** Rows [rowStart, rowEnd) of `matmulF16`. */
export function matmulF16Rows(matrix: usize, vector: usize, columns: i32, out: usize, rowStart: i32, rowEnd: i32): void {
  const rowBytes = <usize>columns << 1;
  for (let row = rowStart; row < rowEnd; row++) {
    const base = matrix + <usize>row * rowBytes;
    let a0 = f32x4.splat(0);
    let a1 = f32x4.splat(0);
    for (let i = 0; i < columns; i += 8) {
      const h = v128.load(base + (<usize>i << 1));
      const x = vector + (<usize>i << 2);
      a0 = f32x4.add(a0, f32x4.mul(halvesToFloats(i32x4.extend_low_i16x8_s(h)), v128.load(x)));
      a1 = f32x4.add(a1, f32x4.mul(halvesToFloats(i32x4.extend_high_i16x8_s(h)), v128.load(x, 16)));
    }
    store<f32>(out + (<usize>row << 2), horizontalSum(f32x4.add(a0, a1)));
  }
}
