// exp for 4 lanes, shared by the softmax kernels (asm/kernels.ts, asm/paged-attention.ts) and SwiGLU.

// exp4's constants, each in 4 lanes. V8 rebuilds an f32x4 constant from immediates at every use
// (several instructions each, a dozen per exp4); one load from this table is one instruction.
// In the shared-memory build every pool worker's instantiation writes these same bytes again: harmless.
const expConstants = memory.data<f32>([
  -87.0, -87.0, -87.0, -87.0,
  1.44269504088896341, 1.44269504088896341, 1.44269504088896341, 1.44269504088896341,
  12582912.0, 12582912.0, 12582912.0, 12582912.0,
  0.693359375, 0.693359375, 0.693359375, 0.693359375,
  -2.12194440e-4, -2.12194440e-4, -2.12194440e-4, -2.12194440e-4,
  1.9875691500e-4, 1.9875691500e-4, 1.9875691500e-4, 1.9875691500e-4,
  1.3981999507e-3, 1.3981999507e-3, 1.3981999507e-3, 1.3981999507e-3,
  8.3334519073e-3, 8.3334519073e-3, 8.3334519073e-3, 8.3334519073e-3,
  4.1665795894e-2, 4.1665795894e-2, 4.1665795894e-2, 4.1665795894e-2,
  1.6666665459e-1, 1.6666665459e-1, 1.6666665459e-1, 1.6666665459e-1,
  5.0000001201e-1, 5.0000001201e-1, 5.0000001201e-1, 5.0000001201e-1,
  1.0, 1.0, 1.0, 1.0,
], 16);

@inline function expConstant(index: i32): v128 {
  return v128.load(expConstants + (<usize>index << 4));
}

/**
 * exp for 4 lanes (Cephes expf: range reduction by ln 2, degree-6 polynomial, exponent by integer
 * add; about 2 ulp). Arguments ≤ 0 (score − max, −|x|); below −87 the result is clamped near 0.
 */
@inline export function exp4(x: v128): v128 {
  // pmax is one maxps; f32x4.max's NaN and signed-zero rules cost several instructions on x64, and
  // scores are never NaN.
  const clamped = f32x4.pmax(x, expConstant(0));
  // Adding 1.5 · 2^23 rounds x · log2 e to an integer (ties to even, as f32x4.nearest) held in the
  // low mantissa bits, so n and its integer come without nearest and trunc_sat (a long sequence on x64).
  const shifted = f32x4.add(f32x4.mul(clamped, expConstant(1)), expConstant(2));
  const n = f32x4.sub(shifted, expConstant(2));
  let r = f32x4.sub(clamped, f32x4.mul(n, expConstant(3)));
  r = f32x4.sub(r, f32x4.mul(n, expConstant(4)));
  let p = expConstant(5);
  p = f32x4.add(f32x4.mul(p, r), expConstant(6));
  p = f32x4.add(f32x4.mul(p, r), expConstant(7));
  p = f32x4.add(f32x4.mul(p, r), expConstant(8));
  p = f32x4.add(f32x4.mul(p, r), expConstant(9));
  p = f32x4.add(f32x4.mul(p, r), expConstant(10));
  const y = f32x4.add(f32x4.add(f32x4.mul(f32x4.mul(p, r), r), r), expConstant(11));
  const scale = i32x4.shl(i32x4.add(i32x4.sub(shifted, i32x4.splat(0x4b400000)), i32x4.splat(127)), 23);
  return f32x4.mul(y, scale);
}
