// SwiGLU, silu(gate) · up, over a whole chunk of rows in 4 lanes.

import { exp4 } from "./exp4";

/**
 * silu(gate) · up for 4 lanes: σ(x) = 1 / (1 + e^−|x|) for x ≥ 0 and e^−|x| / (1 + e^−|x|) below,
 * so exp4 only sees arguments ≤ 0 and nothing overflows.
 */
@inline function swiglu4(gate: v128, up: v128): v128 {
  const decay = exp4(f32x4.neg(f32x4.abs(gate)));
  const inverse = f32x4.div(f32x4.splat(1), f32x4.add(f32x4.splat(1), decay));
  const sigmoid = v128.bitselect(inverse, f32x4.mul(decay, inverse), f32x4.ge(gate, f32x4.splat(0)));
  return f32x4.mul(f32x4.mul(gate, sigmoid), up);
}

/** Up to 3 floats at `pointer` in lanes 0–2, zeros above (no scratch memory: workers share this module's memory). */
@inline function partialLanes(pointer: usize, count: i32): v128 {
  let lanes = f32x4.replace_lane(f32x4.splat(0), 0, load<f32>(pointer));
  if (count > 1) lanes = f32x4.replace_lane(lanes, 1, load<f32>(pointer, 4));
  if (count > 2) lanes = f32x4.replace_lane(lanes, 2, load<f32>(pointer, 8));
  return lanes;
}

export function swiglu(gate: usize, up: usize, length: i32, out: usize): void {
  let i = 0;
  for (; i + 4 <= length; i += 4) {
    const offset = <usize>i << 2;
    v128.store(out + offset, swiglu4(v128.load(gate + offset), v128.load(up + offset)));
  }
  // The last length % 4 values in lanes of their own, so every value goes through the same arithmetic.
  const rest = length - i;
  if (rest == 0) return;
  const offset = <usize>i << 2;
  const result = swiglu4(partialLanes(gate + offset, rest), partialLanes(up + offset, rest));
  store<f32>(out + offset, f32x4.extract_lane(result, 0));
  if (rest > 1) store<f32>(out + offset, f32x4.extract_lane(result, 1), 4);
  if (rest > 2) store<f32>(out + offset, f32x4.extract_lane(result, 2), 8);
}
