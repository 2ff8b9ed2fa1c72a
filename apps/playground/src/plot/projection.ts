/** 3×3 rotation (row-major) for a yaw about the vertical axis followed by a pitch about the horizontal one. */
export function rotationMatrix(yaw: number, pitch: number): Float64Array {
  const cy = Math.cos(yaw);
  const sy = Math.sin(yaw);
  const cp = Math.cos(pitch);
  const sp = Math.sin(pitch);
  // R = Rx(pitch) · Ry(yaw)
  return Float64Array.of(cy, 0, sy, sp * sy, cp, -sp * cy, -cp * sy, sp, cp * cy);
}

/**
 * Rotates 3-D points (count × 3) and writes [screenX, screenY, depth] per point; orthographic
 * projection, so screen coordinates are the rotated x and y.
 */
export function rotatePoints(points: Float32Array | Float64Array, count: number, rotation: Float64Array, out = new Float64Array(count * 3)): Float64Array {
  for (let index = 0; index < count; index++) {
    const x = points[index * 3];
    const y = points[index * 3 + 1];
    const z = points[index * 3 + 2];
    out[index * 3] = rotation[0] * x + rotation[1] * y + rotation[2] * z;
    out[index * 3 + 1] = rotation[3] * x + rotation[4] * y + rotation[5] * z;
    out[index * 3 + 2] = rotation[6] * x + rotation[7] * y + rotation[8] * z;
  }
  return out;
}

/**
 * Radial shells of a codebook: vector norms grouped where consecutive sorted norms differ by at
 * most `tolerance` (relative to the largest norm); each shell is its group's mean norm, ascending.
 */
export function radialShells(points: Float32Array | Float64Array, count: number, dimension: number, tolerance = 0.02): number[] {
  const norms: number[] = [];
  for (let index = 0; index < count; index++) {
    let sum = 0;
    for (let axis = 0; axis < dimension; axis++) sum += points[index * dimension + axis] ** 2;
    norms.push(Math.sqrt(sum));
  }
  norms.sort((a, b) => a - b);
  const gap = tolerance * (norms[norms.length - 1] ?? 0);
  const shells: number[] = [];
  let sum = 0;
  let members = 0;
  for (let index = 0; index < norms.length; index++) {
    sum += norms[index];
    members++;
    if (index === norms.length - 1 || norms[index + 1] - norms[index] > gap) {
      shells.push(sum / members);
      sum = 0;
      members = 0;
    }
  }
  return shells;
}
