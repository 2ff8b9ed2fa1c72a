/**
 * Eigen-decomposition of a symmetric n × n matrix (row-major, float64) by cyclic Jacobi rotations.
 * Returns eigenvalues in descending order and the matching unit eigenvectors as rows
 * (vectors[k·n … (k+1)·n)). Accurate to roughly machine precision for the small n (≤ 256) policies use.
 */
export function symmetricEigen(matrix: Float64Array, n: number, maxSweeps = 60): { values: Float64Array; vectors: Float64Array } {
  const a = Float64Array.from(matrix);
  const v = new Float64Array(n * n);
  for (let i = 0; i < n; i++) v[i * n + i] = 1;
  for (let sweep = 0; sweep < maxSweeps; sweep++) {
    let off = 0;
    let diagonal = 0;
    for (let i = 0; i < n; i++) {
      diagonal += a[i * n + i] * a[i * n + i];
      for (let j = i + 1; j < n; j++) off += a[i * n + j] * a[i * n + j];
    }
    if (off <= 1e-30 * Math.max(diagonal, 1e-300)) break;
    for (let p = 0; p < n; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = a[p * n + q];
        if (Math.abs(apq) < 1e-300) continue;
        const app = a[p * n + p];
        const aqq = a[q * n + q];
        const theta = (aqq - app) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < n; k++) {
          const akp = a[k * n + p];
          const akq = a[k * n + q];
          a[k * n + p] = c * akp - s * akq;
          a[k * n + q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          const apk = a[p * n + k];
          const aqk = a[q * n + k];
          a[p * n + k] = c * apk - s * aqk;
          a[q * n + k] = s * apk + c * aqk;
        }
        for (let k = 0; k < n; k++) {
          const vkp = v[k * n + p];
          const vkq = v[k * n + q];
          v[k * n + p] = c * vkp - s * vkq;
          v[k * n + q] = s * vkp + c * vkq;
        }
      }
    }
  }
  const order = Array.from({ length: n }, (_, i) => i).sort((x, y) => a[y * n + y] - a[x * n + x]);
  const values = new Float64Array(n);
  const vectors = new Float64Array(n * n);
  order.forEach((column, k) => {
    values[k] = a[column * n + column];
    for (let i = 0; i < n; i++) vectors[k * n + i] = v[i * n + column];
  });
  return { values, vectors };
}

/**
 * The top `rank` right singular vectors of a rows × dimension matrix (eigenvectors of XᵀX), as a
 * rank × dimension row-major basis, and the share of ‖X‖²_F they capture.
 */
export function lowRankBasis(rows: Float32Array, count: number, dimension: number, rank: number): { basis: Float32Array; captured: number } {
  const gram = new Float64Array(dimension * dimension);
  for (let r = 0; r < count; r++) {
    const offset = r * dimension;
    for (let i = 0; i < dimension; i++) {
      const x = rows[offset + i];
      if (x === 0) continue;
      for (let j = i; j < dimension; j++) gram[i * dimension + j] += x * rows[offset + j];
    }
  }
  for (let i = 0; i < dimension; i++) for (let j = 0; j < i; j++) gram[i * dimension + j] = gram[j * dimension + i];
  const { values, vectors } = symmetricEigen(gram, dimension);
  let total = 0;
  let kept = 0;
  for (let k = 0; k < dimension; k++) {
    total += Math.max(0, values[k]);
    if (k < rank) kept += Math.max(0, values[k]);
  }
  return { basis: Float32Array.from(vectors.subarray(0, rank * dimension)), captured: total > 0 ? kept / total : 1 };
}
