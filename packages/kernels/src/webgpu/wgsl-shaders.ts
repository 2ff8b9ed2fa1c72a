/**
 * WGSL compute shaders of the webgpu backend, all `@workgroup_size(64)`. Binding 0 is always
 * `params` (u32 words; floats bitcast), then the inputs, then the output. Byte and u16 codes are
 * read from u32 words because WGSL has no 8- or 16-bit storage types.
 */

const prelude = /* wgsl */ `
@group(0) @binding(0) var<storage, read> params: array<u32>;
fn u(i: u32) -> u32 { return params[i]; }
fn f(i: u32) -> f32 { return bitcast<f32>(params[i]); }
fn linearIndex(id: vec3<u32>, groups: vec3<u32>) -> u32 { return id.x + id.y * groups.x * 64u; }
`;

const entry = /* wgsl */ `@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>)`;

/** `readCode_<name>(row, block, bitWidth, rowLength)` for a code buffer named `name`. */
function codeReader(name: string): string {
  return /* wgsl */ `
fn readCode_${name}(row: u32, block: u32, bitWidth: u32, rowLength: u32) -> u32 {
  if (bitWidth == 16u) {
    let index = row * rowLength + block;
    return (${name}[index >> 1u] >> ((index & 1u) * 16u)) & 0xffffu;
  }
  var index = row * rowLength + block;
  var shift = 0u;
  if (bitWidth < 8u) {
    let bit = block * bitWidth;
    index = row * rowLength + (bit >> 3u);
    shift = bit & 7u;
  }
  let byte = (${name}[index >> 2u] >> ((index & 3u) * 8u)) & 255u;
  return (byte >> shift) & ((1u << bitWidth) - 1u);
}`;
}

function binding(index: number, name: string, type: string, access: "read" | "read_write" = "read"): string {
  return `@group(0) @binding(${index}) var<storage, ${access}> ${name}: array<${type}>;`;
}

// params: count, dimension
export const rowNormsShader = `${prelude}
${binding(1, "vectors", "f32")}
${binding(2, "norms", "f32", "read_write")}
${entry} {
  let row = linearIndex(id, groups);
  if (row >= u(0)) { return; }
  let dimension = u(1);
  var sum = 0.0;
  for (var i = 0u; i < dimension; i++) { let v = vectors[row * dimension + i]; sum += v * v; }
  norms[row] = sqrt(sum);
}`;

// params: blockCount, dimension, blockSize, size
export const encodeShellsShader = `${prelude}
${binding(1, "vectors", "f32")}
${binding(2, "norms", "f32")}
${binding(3, "radii", "f32")}
${binding(4, "sortedCodewords", "f32")}
${binding(5, "order", "u32")}
${binding(6, "codes", "u32", "read_write")}
${entry} {
  let index = linearIndex(id, groups);
  if (index >= u(0)) { return; }
  let dimension = u(1);
  let blockSize = u(2);
  let size = i32(u(3));
  let blocksPerRow = dimension / blockSize;
  let row = index / blocksPerRow;
  let offset = row * dimension + (index % blocksPerRow) * blockSize;
  let norm = norms[row];
  var inverse = 0.0;
  if (norm > 0.0) { inverse = 1.0 / norm; }
  var radiusSquared = 0.0;
  for (var j = 0u; j < blockSize; j++) { let v = vectors[offset + j] * inverse; radiusSquared += v * v; }
  var radius = sqrt(radiusSquared);
  if (blockSize == 1u) { radius = vectors[offset] * inverse; }
  var low = 0;
  var high = size;
  while (low < high) {
    let middle = (low + high) / 2;
    if (radii[middle] < radius) { low = middle + 1; } else { high = middle; }
  }
  var inner = low - 1;
  var outer = low;
  var bestOriginal = 65536u;
  var bestDistance = 3.0e38;
  loop {
    if (inner < 0 && outer >= size) { break; }
    var innerGap = 3.0e38;
    if (inner >= 0) { innerGap = radius - radii[inner]; }
    var outerGap = 3.0e38;
    if (outer < size) { outerGap = radii[outer] - radius; }
    let takeInner = innerGap <= outerGap;
    let gap = select(outerGap, innerGap, takeInner);
    if (gap * gap >= bestDistance) { break; }
    var rank = outer;
    if (takeInner) { rank = inner; inner--; } else { outer++; }
    var distance = 0.0;
    for (var j = 0u; j < blockSize; j++) {
      let d = vectors[offset + j] * inverse - sortedCodewords[u32(rank) * blockSize + j];
      distance += d * d;
    }
    let original = order[rank];
    if (distance < bestDistance || (distance == bestDistance && original < bestOriginal)) {
      bestDistance = distance;
      bestOriginal = original;
    }
  }
  codes[index] = bestOriginal;
}`;

// params: count·dimension, dimension, blockSize, size, bitWidth, rowLength
export const decodeShader = `${prelude}
${binding(1, "codes", "u32")}
${binding(2, "norms", "f32")}
${binding(3, "codewords", "f32")}
${binding(4, "out", "f32", "read_write")}
${codeReader("codes")}
${entry} {
  let index = linearIndex(id, groups);
  if (index >= u(0)) { return; }
  let dimension = u(1);
  let blockSize = u(2);
  let row = index / dimension;
  let coordinate = index % dimension;
  let code = readCode_codes(row, coordinate / blockSize, u(4), u(5));
  out[index] = norms[row] * codewords[min(code, u(3) - 1u) * blockSize + coordinate % blockSize];
}`;

// params: headCount·blocksPerRow·size, dimension, blockSize, size
export const blockTableShader = `${prelude}
${binding(1, "queries", "f32")}
${binding(2, "codewords", "f32")}
${binding(3, "tables", "f32", "read_write")}
${entry} {
  let index = linearIndex(id, groups);
  if (index >= u(0)) { return; }
  let dimension = u(1);
  let blockSize = u(2);
  let size = u(3);
  let blocksPerRow = dimension / blockSize;
  let code = index % size;
  let block = (index / size) % blocksPerRow;
  let head = index / (size * blocksPerRow);
  var dot = 0.0;
  for (var j = 0u; j < blockSize; j++) {
    dot += queries[head * dimension + block * blockSize + j] * codewords[code * blockSize + j];
  }
  tables[index] = dot;
}`;

// params: headCount·tokenCount, tokenCount, groupSize, headStride, blocksPerRow, size, bitWidth, rowLength, scale,
// tokenStride
export const tableScoresShader = `${prelude}
${binding(1, "tables", "f32")}
${binding(2, "codes", "u32")}
${binding(3, "norms", "f32")}
${binding(4, "scores", "f32", "read_write")}
${codeReader("codes")}
${entry} {
  let index = linearIndex(id, groups);
  if (index >= u(0)) { return; }
  let tokenCount = u(1);
  let head = index / tokenCount;
  let row = (head / u(2)) * u(3) + (index % tokenCount) * u(9);
  let blocksPerRow = u(4);
  let size = u(5);
  let table = head * blocksPerRow * size;
  var sum = 0.0;
  for (var block = 0u; block < blocksPerRow; block++) {
    let code = min(readCode_codes(row, block, u(6), u(7)), size - 1u);
    sum += tables[table + block * size + code];
  }
  scores[index] = sum * norms[row] * f(8);
}`;

// params: headCount·tokenCount, tokenCount, groupSize, headStride, dimension, scale, tokenStride
export const denseScoresShader = `${prelude}
${binding(1, "queries", "f32")}
${binding(2, "keys", "f32")}
${binding(3, "scores", "f32", "read_write")}
${entry} {
  let index = linearIndex(id, groups);
  if (index >= u(0)) { return; }
  let tokenCount = u(1);
  let dimension = u(4);
  let head = index / tokenCount;
  let row = (head / u(2)) * u(3) + (index % tokenCount) * u(6);
  var sum = 0.0;
  for (var i = 0u; i < dimension; i++) { sum += queries[head * dimension + i] * keys[row * dimension + i]; }
  scores[index] = sum * f(5);
}`;

// One workgroup per head. params: tokenCount
export const softmaxShader = `${prelude}
${binding(1, "scores", "f32", "read_write")}
var<workgroup> partial: array<f32, 64>;
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) group: vec3<u32>, @builtin(local_invocation_index) lane: u32) {
  let tokenCount = u(0);
  let base = group.x * tokenCount;
  var maximum = -3.0e38;
  for (var t = lane; t < tokenCount; t += 64u) { maximum = max(maximum, scores[base + t]); }
  partial[lane] = maximum;
  workgroupBarrier();
  for (var stride = 32u; stride > 0u; stride >>= 1u) {
    if (lane < stride) { partial[lane] = max(partial[lane], partial[lane + stride]); }
    workgroupBarrier();
  }
  let headMaximum = partial[0];
  workgroupBarrier();
  var sum = 0.0;
  for (var t = lane; t < tokenCount; t += 64u) {
    let weight = exp(scores[base + t] - headMaximum);
    scores[base + t] = weight;
    sum += weight;
  }
  partial[lane] = sum;
  workgroupBarrier();
  for (var stride = 32u; stride > 0u; stride >>= 1u) {
    if (lane < stride) { partial[lane] += partial[lane + stride]; }
    workgroupBarrier();
  }
  let total = partial[0];
  for (var t = lane; t < tokenCount; t += 64u) { scores[base + t] /= total; }
}`;

// params: headCount·dimension, tokenCount, groupSize, headStride, dimension, blockSize, size, bitWidth, rowLength,
// tokenStride
export const compressedValuesShader = `${prelude}
${binding(1, "weights", "f32")}
${binding(2, "codes", "u32")}
${binding(3, "norms", "f32")}
${binding(4, "codewords", "f32")}
${binding(5, "out", "f32", "read_write")}
${codeReader("codes")}
${entry} {
  let index = linearIndex(id, groups);
  if (index >= u(0)) { return; }
  let tokenCount = u(1);
  let dimension = u(4);
  let blockSize = u(5);
  let head = index / dimension;
  let coordinate = index % dimension;
  let firstRow = (head / u(2)) * u(3);
  var sum = 0.0;
  for (var t = 0u; t < tokenCount; t++) {
    let row = firstRow + t * u(9);
    let code = min(readCode_codes(row, coordinate / blockSize, u(7), u(8)), u(6) - 1u);
    sum += weights[head * tokenCount + t] * norms[row] * codewords[code * blockSize + coordinate % blockSize];
  }
  out[index] = sum;
}`;

// params: headCount·dimension, tokenCount, groupSize, headStride, dimension, tokenStride
export const denseValuesShader = `${prelude}
${binding(1, "weights", "f32")}
${binding(2, "values", "f32")}
${binding(3, "out", "f32", "read_write")}
${entry} {
  let index = linearIndex(id, groups);
  if (index >= u(0)) { return; }
  let tokenCount = u(1);
  let dimension = u(4);
  let head = index / dimension;
  let firstRow = (head / u(2)) * u(3);
  var sum = 0.0;
  for (var t = 0u; t < tokenCount; t++) {
    sum += weights[head * tokenCount + t] * values[(firstRow + t * u(5)) * dimension + index % dimension];
  }
  out[index] = sum;
}`;

// params: rows, columns
export const matmulShader = `${prelude}
${binding(1, "matrix", "f32")}
${binding(2, "vector", "f32")}
${binding(3, "out", "f32", "read_write")}
${entry} {
  let row = linearIndex(id, groups);
  if (row >= u(0)) { return; }
  let columns = u(1);
  var sum = 0.0;
  for (var column = 0u; column < columns; column++) { sum += matrix[row * columns + column] * vector[column]; }
  out[row] = sum;
}`;

// One thread per output: index = v · rows + row. params: rows, columns, count · rows
export const matmulBatchShader = `${prelude}
${binding(1, "matrix", "f32")}
${binding(2, "vectors", "f32")}
${binding(3, "out", "f32", "read_write")}
${entry} {
  let index = linearIndex(id, groups);
  let rows = u(0);
  let columns = u(1);
  if (index >= u(2)) { return; }
  let row = index % rows;
  let vector = index / rows;
  var sum = 0.0;
  for (var column = 0u; column < columns; column++) { sum += matrix[row * columns + column] * vectors[vector * columns + column]; }
  out[index] = sum;
}`;

// One workgroup. params: length, epsilon
export const rmsNormShader = `${prelude}
${binding(1, "input", "f32")}
${binding(2, "weight", "f32")}
${binding(3, "out", "f32", "read_write")}
var<workgroup> partial: array<f32, 64>;
@compute @workgroup_size(64)
fn main(@builtin(local_invocation_index) lane: u32) {
  let length = u(0);
  var sum = 0.0;
  for (var i = lane; i < length; i += 64u) { sum += input[i] * input[i]; }
  partial[lane] = sum;
  workgroupBarrier();
  for (var stride = 32u; stride > 0u; stride >>= 1u) {
    if (lane < stride) { partial[lane] += partial[lane + stride]; }
    workgroupBarrier();
  }
  let scale = 1.0 / sqrt(partial[0] / f32(length) + f(1));
  for (var i = lane; i < length; i += 64u) { out[i] = weight[i] * (scale * input[i]); }
}`;

// Thread per pair. params: pairCount, headDimension, position, (unused), then one frequency per
// pair of a head: computed on the CPU in float64 so the angles match the reference.
export const ropeShader = `${prelude}
${binding(1, "input", "f32")}
${binding(2, "out", "f32", "read_write")}
${entry} {
  let pair = linearIndex(id, groups);
  if (pair >= u(0)) { return; }
  let i = pair * 2u;
  let pairInHead = pair % (u(1) / 2u);
  let cosine = f(4u + pairInHead * 2u);
  let sine = f(5u + pairInHead * 2u);
  out[i] = input[i] * cosine - input[i + 1u] * sine;
  out[i + 1u] = input[i] * sine + input[i + 1u] * cosine;
}`;

// params: length
export const swigluShader = `${prelude}
${binding(1, "gate", "f32")}
${binding(2, "up", "f32")}
${binding(3, "out", "f32", "read_write")}
${entry} {
  let index = linearIndex(id, groups);
  if (index >= u(0)) { return; }
  let g = gate[index];
  out[index] = g / (1.0 + exp(-g)) * up[index];
}`;
