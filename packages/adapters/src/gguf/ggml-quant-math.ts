// Shared rounding and scale-search helpers of ggml's reference quantizers (ggml-quants.c), in float32.
// Every stored intermediate goes through Math.fround so the chosen codes follow the C float arithmetic.

const f = Math.fround;

/** ggml nearest_int: round half to even of a float32 (the 1.5·2^23 trick), for |x| ≤ 4194303. */
export function nearestInt(value: number): number {
  // Math.round rounds half up; ggml's magic-number add rounds half to even in float32.
  const x = f(value);
  const r = Math.round(x);
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** The first element of largest magnitude, with its sign (ggml's max/amax scan); 0 when all are 0. */
function largestByMagnitude(n: number, x: Float32Array, xOffset: number): number {
  let max = 0;
  let amax = 0;
  for (let i = 0; i < n; i++) {
    const ax = Math.abs(x[xOffset + i]);
    if (ax > amax) {
      amax = ax;
      max = x[xOffset + i];
    }
  }
  return max;
}

/**
 * ggml make_qx_quants with rmse_type 1 and no importance weights (weights x²): symmetric codes in
 * [0, 2·nmax) written to `codes`, 19 trial scales around −nmax/max, returns the least-squares scale.
 */
export function makeQxQuants(n: number, nmax: number, x: Float32Array, xOffset: number, codes: Uint8Array, codesOffset: number): number {
  const max = largestByMagnitude(n, x, xOffset);
  if (Math.abs(max) < 1e-15) {
    codes.fill(0, codesOffset, codesOffset + n);
    return 0;
  }
  let iscale = f(-nmax / max);
  let sumlx = 0;
  let suml2 = 0;
  for (let i = 0; i < n; i++) {
    const v = x[xOffset + i];
    const l = Math.max(-nmax, Math.min(nmax - 1, nearestInt(iscale * v)));
    codes[codesOffset + i] = l + nmax;
    const w = f(v * v);
    sumlx = f(sumlx + f(f(w * v) * l));
    suml2 = f(suml2 + f(f(w * l) * l));
  }
  let scale = suml2 ? f(sumlx / suml2) : 0;
  let best = f(scale * sumlx);
  for (let is = -9; is <= 9; is++) {
    if (is === 0) continue;
    iscale = f(-f(nmax + f(0.1 * is)) / max);
    sumlx = 0;
    suml2 = 0;
    for (let i = 0; i < n; i++) {
      const v = x[xOffset + i];
      const l = Math.max(-nmax, Math.min(nmax - 1, nearestInt(iscale * v)));
      const w = f(v * v);
      sumlx = f(sumlx + f(f(w * v) * l));
      suml2 = f(suml2 + f(f(w * l) * l));
    }
    if (suml2 > 0 && f(sumlx * sumlx) > f(best * suml2)) {
      for (let i = 0; i < n; i++) codes[codesOffset + i] = nmax + Math.max(-nmax, Math.min(nmax - 1, nearestInt(iscale * x[xOffset + i])));
      scale = f(sumlx / suml2);
      best = f(scale * sumlx);
    }
  }
  return scale;
}

/**
 * ggml make_q3_quants with do_rmse: codes in [0, 2·nmax) start from −nmax/max and are refined one at a
 * time (up to 5 passes) while the weighted (x²) least-squares fit improves; returns the scale.
 */
export function makeQ3Quants(n: number, nmax: number, x: Float32Array, xOffset: number, codes: Uint8Array, codesOffset: number, work: Int8Array): number {
  const max = largestByMagnitude(n, x, xOffset);
  if (Math.abs(max) < 1e-15) {
    codes.fill(0, codesOffset, codesOffset + n);
    return 0;
  }
  const iscale = f(-nmax / max);
  let sumlx = 0;
  let suml2 = 0;
  for (let i = 0; i < n; i++) {
    const v = x[xOffset + i];
    const l = Math.max(-nmax, Math.min(nmax - 1, nearestInt(iscale * v)));
    work[i] = l;
    const w = f(v * v);
    sumlx = f(sumlx + f(f(w * v) * l));
    suml2 = f(suml2 + f(f(w * l) * l));
  }
  for (let pass = 0; pass < 5; pass++) {
    let changed = 0;
    for (let i = 0; i < n; i++) {
      const v = x[xOffset + i];
      const w = f(v * v);
      let slx = f(sumlx - f(f(w * v) * work[i]));
      if (slx > 0) {
        let sl2 = f(suml2 - f(f(w * work[i]) * work[i]));
        const next = Math.max(-nmax, Math.min(nmax - 1, nearestInt(f(f(v * sl2) / slx))));
        if (next !== work[i]) {
          slx = f(slx + f(f(w * v) * next));
          sl2 = f(sl2 + f(f(w * next) * next));
          if (sl2 > 0 && f(f(slx * slx) * suml2) > f(f(sumlx * sumlx) * sl2)) {
            work[i] = next;
            sumlx = slx;
            suml2 = sl2;
            changed++;
          }
        }
      }
    }
    if (!changed) break;
  }
  for (let i = 0; i < n; i++) codes[codesOffset + i] = work[i] + nmax;
  return suml2 > 0 ? f(sumlx / suml2) : 0;
}

/**
 * ggml make_qkx2_quants: asymmetric codes in [0, nmax] with a non-positive offset (x ≈ scale·l − min),
 * searching nstep+1 scales (rmin + rdelta·is + nmax)/(max − min) for the least weighted error (squared,
 * or absolute when useMad). Writes `codes`; returns the scale and stores the min (≥ 0) in `minOut[0]`.
 */
export function makeQkx2Quants(
  n: number,
  nmax: number,
  x: Float32Array,
  xOffset: number,
  weights: Float32Array,
  codes: Uint8Array,
  codesOffset: number,
  minOut: Float32Array,
  work: Uint8Array,
  rmin: number,
  rdelta: number,
  nstep: number,
  useMad: boolean,
): number {
  let min = x[xOffset];
  let max = x[xOffset];
  let sumW = weights[0];
  let sumX = f(sumW * x[xOffset]);
  for (let i = 1; i < n; i++) {
    const v = x[xOffset + i];
    if (v < min) min = v;
    if (v > max) max = v;
    sumW = f(sumW + weights[i]);
    sumX = f(sumX + f(weights[i] * v));
  }
  if (min > 0) min = 0;
  if (max === min) {
    codes.fill(0, codesOffset, codesOffset + n);
    minOut[0] = -min;
    return 0;
  }
  let iscale = f(nmax / f(max - min));
  let scale = f(1 / iscale);
  let bestError = 0;
  for (let i = 0; i < n; i++) {
    const v = x[xOffset + i];
    const l = Math.max(0, Math.min(nmax, nearestInt(f(iscale * f(v - min)))));
    codes[codesOffset + i] = l;
    let diff = f(f(f(scale * l) + min) - v);
    diff = useMad ? Math.abs(diff) : f(diff * diff);
    bestError = f(bestError + f(weights[i] * diff));
  }
  if (nstep < 1) {
    minOut[0] = -min;
    return scale;
  }
  for (let is = 0; is <= nstep; is++) {
    iscale = f(f(f(rmin + f(rdelta * is)) + nmax) / f(max - min));
    let sumL = 0;
    let sumL2 = 0;
    let sumXL = 0;
    for (let i = 0; i < n; i++) {
      const v = x[xOffset + i];
      const l = Math.max(0, Math.min(nmax, nearestInt(f(iscale * f(v - min)))));
      work[i] = l;
      const w = weights[i];
      sumL = f(sumL + f(w * l));
      sumL2 = f(sumL2 + f(f(w * l) * l));
      sumXL = f(sumXL + f(f(w * l) * v));
    }
    const determinant = f(f(sumW * sumL2) - f(sumL * sumL));
    if (determinant > 0) {
      let thisScale = f(f(f(sumW * sumXL) - f(sumX * sumL)) / determinant);
      let thisMin = f(f(f(sumL2 * sumX) - f(sumL * sumXL)) / determinant);
      if (thisMin > 0) {
        thisMin = 0;
        thisScale = f(sumXL / sumL2);
      }
      let error = 0;
      for (let i = 0; i < n; i++) {
        let diff = f(f(f(thisScale * work[i]) + thisMin) - x[xOffset + i]);
        diff = useMad ? Math.abs(diff) : f(diff * diff);
        error = f(error + f(weights[i] * diff));
      }
      if (error < bestError) {
        for (let i = 0; i < n; i++) codes[codesOffset + i] = work[i];
        bestError = error;
        scale = thisScale;
        min = thisMin;
      }
    }
  }
  minOut[0] = -min;
  return scale;
}

/** ggml best_index_int8: the index of the sorted table entry nearest to x (ties go to the upper entry). */
export function bestIndexInt8(table: Int8Array, x: number): number {
  const n = table.length;
  if (x <= table[0]) return 0;
  if (x >= table[n - 1]) return n - 1;
  let lower = 0;
  let upper = n - 1;
  while (upper - lower > 1) {
    const middle = (lower + upper) >> 1;
    if (x < table[middle]) upper = middle;
    else lower = middle;
  }
  return x - table[upper - 1] < table[upper] - x ? upper - 1 : upper;
}
