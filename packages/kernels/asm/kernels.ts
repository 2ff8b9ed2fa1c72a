// AssemblyScript kernels for @kvpack/kernels (compiled with --enable simd -O3 --runtime stub; a second
// build imports a shared memory for the thread pool, see scripts/build-wasm.mjs).
// Every argument is a byte offset into linear memory that the TypeScript glue manages; nothing
// here allocates. Layouts match src/kernel-inputs.ts.

import { exp4 } from "./exp4";

@inline function f32At(base: usize, index: i32): f32 {
  return load<f32>(base + (<usize>index << 2));
}

@inline function storeF32(base: usize, index: i32, value: f32): void {
  store<f32>(base + (<usize>index << 2), value);
}

@inline function readCode(codes: usize, bitWidth: i32, rowLength: i32, row: i32, block: i32): i32 {
  if (bitWidth == 16) return <i32>load<u16>(codes + ((<usize>row * rowLength + block) << 1));
  if (bitWidth == 8) return <i32>load<u8>(codes + <usize>row * rowLength + block);
  const bit = block * bitWidth;
  const byte = <i32>load<u8>(codes + <usize>row * rowLength + (bit >>> 3));
  return (byte >>> (bit & 7)) & ((1 << bitWidth) - 1);
}

// ---- decode -------------------------------------------------------------------------------

/** Rows whose bytes are all full: each code byte expands to `floatsPerByte` floats of `table`. */
export function decodeBytes(
  codes: usize, rowLength: i32, rowCount: i32, norms: usize,
  table: usize, floatsPerByte: i32, out: usize,
): void {
  const rowFloats = rowLength * floatsPerByte;
  for (let row = 0; row < rowCount; row++) {
    const norm = f32At(norms, row);
    const scale = f32x4.splat(norm);
    const source = codes + <usize>row * rowLength;
    let target = out + ((<usize>row * rowFloats) << 2);
    if (floatsPerByte == 4) {
      let j = 0;
      for (; j + 4 <= rowLength; j += 4) {
        const word = load<u32>(source + j);
        v128.store(target, f32x4.mul(v128.load(table + (<usize>(word & 255) << 4)), scale));
        v128.store(target, f32x4.mul(v128.load(table + (<usize>((word >>> 8) & 255) << 4)), scale), 16);
        v128.store(target, f32x4.mul(v128.load(table + (<usize>((word >>> 16) & 255) << 4)), scale), 32);
        v128.store(target, f32x4.mul(v128.load(table + (<usize>(word >>> 24) << 4)), scale), 48);
        target += 64;
      }
      for (; j < rowLength; j++) {
        v128.store(target, f32x4.mul(v128.load(table + (<usize>load<u8>(source + j) << 4)), scale));
        target += 16;
      }
    } else if (floatsPerByte == 2) {
      let j = 0;
      for (; j + 2 <= rowLength; j += 2) {
        let pair = v128.load64_zero(table + (<usize>load<u8>(source + j) << 3));
        pair = v128.load64_lane(table + (<usize>load<u8>(source + j + 1) << 3), pair, 1);
        v128.store(target, f32x4.mul(pair, scale));
        target += 16;
      }
      if (j < rowLength) {
        const entry = table + (<usize>load<u8>(source + j) << 3);
        store<f32>(target, load<f32>(entry) * norm);
        store<f32>(target, load<f32>(entry, 4) * norm, 4);
      }
    } else if ((floatsPerByte & 3) == 0) {
      for (let j = 0; j < rowLength; j++) {
        const entry = table + ((<usize>load<u8>(source + j) * floatsPerByte) << 2);
        for (let q = 0; q < floatsPerByte; q += 4) {
          v128.store(target, f32x4.mul(v128.load(entry + (<usize>q << 2)), scale));
          target += 16;
        }
      }
    } else {
      for (let j = 0; j < rowLength; j++) {
        const entry = table + ((<usize>load<u8>(source + j) * floatsPerByte) << 2);
        for (let q = 0; q < floatsPerByte; q++) {
          store<f32>(target, load<f32>(entry + (<usize>q << 2)) * norm);
          target += 4;
        }
      }
    }
  }
}

/** Any layout: one code at a time; codes ≥ size decode to NaN. */
export function decodeGeneric(
  codes: usize, bitWidth: i32, rowLength: i32, rowCount: i32, blocksPerRow: i32,
  blockSize: i32, size: i32, norms: usize, codewords: usize, out: usize,
): void {
  const dimension = blocksPerRow * blockSize;
  for (let row = 0; row < rowCount; row++) {
    const norm = f32At(norms, row);
    for (let block = 0; block < blocksPerRow; block++) {
      const code = readCode(codes, bitWidth, rowLength, row, block);
      const target = row * dimension + block * blockSize;
      for (let j = 0; j < blockSize; j++) {
        storeF32(out, target + j, code < size ? norm * f32At(codewords, code * blockSize + j) : NaN);
      }
    }
  }
}

// ---- lookup tables ------------------------------------------------------------------------

/** table[block][code] = q_block · codeword[code]. */
export function buildBlockTable(
  query: usize, codewords: usize, size: i32, blockSize: i32, blocksPerRow: i32, table: usize,
): void {
  for (let block = 0; block < blocksPerRow; block++) {
    for (let code = 0; code < size; code++) {
      let dot: f32 = 0;
      for (let j = 0; j < blockSize; j++) {
        dot += f32At(query, block * blockSize + j) * f32At(codewords, code * blockSize + j);
      }
      storeF32(table, block * size + code, dot);
    }
  }
}

/**
 * byteTable[j][v] = Σ over the codes packed in byte value v at row byte j of blockTable lookups:
 * one load per code byte instead of one per code. Codes ≥ size give NaN, never a plausible score.
 */
@inline function tableEntry(blockTable: usize, size: i32, block: i32, code: i32): f32 {
  return code < size ? f32At(blockTable, block * size + code) : NaN;
}

/** The 16 entries of one block's table as 4 lanes × 4 (codes ≥ size → NaN). */
@inline function quarter(blockTable: usize, size: i32, block: i32, first: i32): v128 {
  let lanes = f32x4.splat(tableEntry(blockTable, size, block, first));
  lanes = f32x4.replace_lane(lanes, 1, tableEntry(blockTable, size, block, first + 1));
  lanes = f32x4.replace_lane(lanes, 2, tableEntry(blockTable, size, block, first + 2));
  lanes = f32x4.replace_lane(lanes, 3, tableEntry(blockTable, size, block, first + 3));
  return lanes;
}

export function buildByteTable(
  blockTable: usize, size: i32, blocksPerRow: i32, bitWidth: i32, rowLength: i32, byteTable: usize,
): void {
  if (bitWidth == 4) {
    // byte v = (high << 4) | low: entry = table[2j][low] + table[2j+1][high], 16 lanes at a time.
    for (let j = 0; j < rowLength; j++) {
      const low = j * 2;
      const q0 = quarter(blockTable, size, low, 0);
      const q1 = quarter(blockTable, size, low, 4);
      const q2 = quarter(blockTable, size, low, 8);
      const q3 = quarter(blockTable, size, low, 12);
      const hasHigh = low + 1 < blocksPerRow;
      for (let high = 0; high < 16; high++) {
        const add = f32x4.splat(hasHigh ? tableEntry(blockTable, size, low + 1, high) : 0);
        const target = byteTable + ((<usize>((j << 8) + (high << 4))) << 2);
        v128.store(target, f32x4.add(q0, add));
        v128.store(target, f32x4.add(q1, add), 16);
        v128.store(target, f32x4.add(q2, add), 32);
        v128.store(target, f32x4.add(q3, add), 48);
      }
    }
    return;
  }
  const codesPerByte = bitWidth >= 8 ? 1 : 8 / bitWidth;
  const mask = bitWidth >= 8 ? 255 : (1 << bitWidth) - 1;
  for (let j = 0; j < rowLength; j++) {
    for (let value = 0; value < 256; value++) {
      let sum: f32 = 0;
      for (let i = 0; i < codesPerByte; i++) {
        const block = j * codesPerByte + i;
        if (block >= blocksPerRow) break;
        const code = (value >>> (i * bitWidth)) & mask;
        sum += code < size ? f32At(blockTable, block * size + code) : NaN;
      }
      storeF32(byteTable, (j << 8) + value, sum);
    }
  }
}

@inline function rowScoreBytes(source: usize, rowLength: i32, byteTable: usize): f32 {
  let s0: f32 = 0, s1: f32 = 0, s2: f32 = 0, s3: f32 = 0;
  let j = 0;
  let entries = byteTable;
  for (; j + 4 <= rowLength; j += 4) {
    const word = load<u32>(source + j);
    s0 += load<f32>(entries + (<usize>(word & 255) << 2));
    s1 += load<f32>(entries + (<usize>((word >>> 8) & 255) << 2), 1024);
    s2 += load<f32>(entries + (<usize>((word >>> 16) & 255) << 2), 2048);
    s3 += load<f32>(entries + (<usize>(word >>> 24) << 2), 3072);
    entries += 4096;
  }
  for (; j < rowLength; j++) {
    s0 += load<f32>(entries + (<usize>load<u8>(source + j) << 2));
    entries += 1024;
  }
  return (s0 + s1) + (s2 + s3);
}

@inline function rowScoreGeneric(
  codes: usize, bitWidth: i32, rowLength: i32, row: i32, blocksPerRow: i32, size: i32, blockTable: usize,
): f32 {
  let sum: f32 = 0;
  for (let block = 0; block < blocksPerRow; block++) {
    const code = readCode(codes, bitWidth, rowLength, row, block);
    sum += code < size ? f32At(blockTable, block * size + code) : NaN;
  }
  return sum;
}

/** scores[t] = scale · norm[row] · Σ lookups, row = firstRow + t · tokenStride; returns the max. */
function tableScores(
  codes: usize, norms: usize, bitWidth: i32, rowLength: i32, blocksPerRow: i32, size: i32,
  firstRow: i32, tokenStride: i32, count: i32, scale: f32, useBytes: bool, blockTable: usize, byteTable: usize, scores: usize,
): f32 {
  let maximum: f32 = -Infinity;
  for (let t = 0; t < count; t++) {
    const row = firstRow + t * tokenStride;
    const sum = useBytes
      ? rowScoreBytes(codes + <usize>row * rowLength, rowLength, byteTable)
      : rowScoreGeneric(codes, bitWidth, rowLength, row, blocksPerRow, size, blockTable);
    const score = sum * f32At(norms, row) * scale;
    storeF32(scores, t, score);
    maximum = max(maximum, score);
  }
  return maximum;
}

export function scores(
  query: usize, codes: usize, norms: usize, codewords: usize, size: i32, blockSize: i32,
  blocksPerRow: i32, bitWidth: i32, rowLength: i32, count: i32,
  blockTable: usize, byteTable: usize, out: usize,
): void {
  buildBlockTable(query, codewords, size, blockSize, blocksPerRow, blockTable);
  const useBytes = bitWidth <= 8;
  if (useBytes) buildByteTable(blockTable, size, blocksPerRow, bitWidth, rowLength, byteTable);
  tableScores(codes, norms, bitWidth, rowLength, blocksPerRow, size, 0, 1, count, 1, useBytes, blockTable, byteTable, out);
}

// ---- softmax ------------------------------------------------------------------------------

/** scores[t] ← exp(scores[t] − maximum); returns the sum. */
function exponentiate(scores: usize, count: i32, maximum: f32): f32 {
  const shift = f32x4.splat(maximum);
  let sums = f32x4.splat(0);
  let t = 0;
  for (; t + 4 <= count; t += 4) {
    const address = scores + (<usize>t << 2);
    const weights = exp4(f32x4.sub(v128.load(address), shift));
    v128.store(address, weights);
    sums = f32x4.add(sums, weights);
  }
  let sum: f32 = (f32x4.extract_lane(sums, 0) + f32x4.extract_lane(sums, 1)) +
    (f32x4.extract_lane(sums, 2) + f32x4.extract_lane(sums, 3));
  for (; t < count; t++) {
    const weight = f32x4.extract_lane(exp4(f32x4.splat(f32At(scores, t) - maximum)), 0);
    storeF32(scores, t, weight);
    sum += weight;
  }
  return sum;
}

/** target += weight · (byte-table expansion of one row): one table row per code byte, f32x4. */
@inline function accumulateRowBytes(
  source: usize, rowLength: i32, table: usize, floatsPerByte: i32, weight: f32, target: usize,
): void {
  const splat = f32x4.splat(weight);
  if (floatsPerByte == 4) {
    let slot = target;
    let j = 0;
    for (; j + 4 <= rowLength; j += 4) {
      const word = load<u32>(source + j);
      v128.store(slot, f32x4.add(v128.load(slot), f32x4.mul(v128.load(table + (<usize>(word & 255) << 4)), splat)));
      v128.store(slot, f32x4.add(v128.load(slot, 16), f32x4.mul(v128.load(table + (<usize>((word >>> 8) & 255) << 4)), splat)), 16);
      v128.store(slot, f32x4.add(v128.load(slot, 32), f32x4.mul(v128.load(table + (<usize>((word >>> 16) & 255) << 4)), splat)), 32);
      v128.store(slot, f32x4.add(v128.load(slot, 48), f32x4.mul(v128.load(table + (<usize>(word >>> 24) << 4)), splat)), 48);
      slot += 64;
    }
    for (; j < rowLength; j++) {
      v128.store(slot, f32x4.add(v128.load(slot), f32x4.mul(v128.load(table + (<usize>load<u8>(source + j) << 4)), splat)));
      slot += 16;
    }
  } else if (floatsPerByte == 2) {
    let slot = target;
    let j = 0;
    for (; j + 2 <= rowLength; j += 2) {
      let pair = v128.load64_zero(table + (<usize>load<u8>(source + j) << 3));
      pair = v128.load64_lane(table + (<usize>load<u8>(source + j + 1) << 3), pair, 1);
      v128.store(slot, f32x4.add(v128.load(slot), f32x4.mul(pair, splat)));
      slot += 16;
    }
    if (j < rowLength) {
      const entry = table + (<usize>load<u8>(source + j) << 3);
      store<f32>(slot, load<f32>(slot) + weight * load<f32>(entry));
      store<f32>(slot, load<f32>(slot, 4) + weight * load<f32>(entry, 4), 4);
    }
  } else {
    for (let j = 0; j < rowLength; j++) {
      const entry = table + ((<usize>load<u8>(source + j) * floatsPerByte) << 2);
      const slot = target + ((<usize>j * floatsPerByte) << 2);
      for (let q = 0; q < floatsPerByte; q++) {
        const position = slot + (<usize>q << 2);
        store<f32>(position, load<f32>(position) + weight * load<f32>(entry + (<usize>q << 2)));
      }
    }
  }
}

// ---- compressed attention -----------------------------------------------------------------

/**
 * Bytes of one head's scratch buffer `which` (0 block table, 1 byte table, 2 scores, 3 histogram), as
 * the TypeScript glue allocates them (src/wasm/wasm-backend.ts).
 */
@inline function compressedScratchBytes(which: i32, keyBlocks: i32, keySize: i32, keyRowLength: i32, tokenCount: i32, valueRowLength: i32, valueMode: i32): usize {
  if (which == 0) return <usize>(keyBlocks * keySize) << 2;
  if (which == 1) return <usize>(keyRowLength << 8) << 2;
  if (which == 2) return <usize>tokenCount << 2;
  return valueMode == 2 ? <usize>(valueRowLength << 8) << 2 : 16;
}

/**
 * One decoding step over compressed pages. Keys: per-head byte tables turn a row score into one
 * load per code byte. Values, valueMode 1: each code byte adds weight · (its byte-table row) with
 * f32x4; valueMode 2: a histogram of softmax weight per (row byte, byte value), expanded once
 * through the value byte table at the end; valueMode 0: one code at a time (any layout).
 */
export function attentionCompressed(
  queries: usize, headCount: i32, groupSize: i32, tokenCount: i32, headStride: i32, tokenStride: i32,
  dimension: i32, scale: f32,
  keyCodes: usize, keyNorms: usize, keyCodewords: usize, keySize: i32, keyBlockSize: i32, keyBitWidth: i32, keyRowLength: i32,
  valueCodes: usize, valueNorms: usize, valueTable: usize, valueSize: i32, valueBlockSize: i32, valueBitWidth: i32,
  valueRowLength: i32, valueMode: i32,
  blockTable: usize, byteTable: usize, scoreBuffer: usize, histogram: usize, out: usize,
): void {
  attentionCompressedHeads(
    queries, headCount, groupSize, tokenCount, headStride, tokenStride, dimension, scale,
    keyCodes, keyNorms, keyCodewords, keySize, keyBlockSize, keyBitWidth, keyRowLength,
    valueCodes, valueNorms, valueTable, valueSize, valueBlockSize, valueBitWidth, valueRowLength, valueMode,
    blockTable, byteTable, scoreBuffer, histogram, out, 0, 0, headCount,
  );
}

/**
 * Heads [headStart, headEnd) of `attentionCompressed` (the thread pool's unit of work). With
 * `scratchPerHead` 1 each head uses its own slice of the four scratch buffers (head × each one's
 * size), so threads never share one; the arithmetic per head is the same either way.
 */
export function attentionCompressedHeads(
  queries: usize, headCount: i32, groupSize: i32, tokenCount: i32, headStride: i32, tokenStride: i32,
  dimension: i32, scale: f32,
  keyCodes: usize, keyNorms: usize, keyCodewords: usize, keySize: i32, keyBlockSize: i32, keyBitWidth: i32, keyRowLength: i32,
  valueCodes: usize, valueNorms: usize, valueTable: usize, valueSize: i32, valueBlockSize: i32, valueBitWidth: i32,
  valueRowLength: i32, valueMode: i32,
  blockTables: usize, byteTables: usize, scoreBuffers: usize, histograms: usize, out: usize,
  scratchPerHead: i32, headStart: i32, headEnd: i32,
): void {
  const keyBlocks = dimension / keyBlockSize;
  const valueBlocks = dimension / valueBlockSize;
  const keyBytes = keyBitWidth <= 8;
  for (let head = headStart; head < headEnd; head++) {
    const slot: usize = scratchPerHead ? <usize>head : 0;
    const blockTable = blockTables + slot * compressedScratchBytes(0, keyBlocks, keySize, keyRowLength, tokenCount, valueRowLength, valueMode);
    const byteTable = byteTables + slot * compressedScratchBytes(1, keyBlocks, keySize, keyRowLength, tokenCount, valueRowLength, valueMode);
    const scoreBuffer = scoreBuffers + slot * compressedScratchBytes(2, keyBlocks, keySize, keyRowLength, tokenCount, valueRowLength, valueMode);
    const histogram = histograms + slot * compressedScratchBytes(3, keyBlocks, keySize, keyRowLength, tokenCount, valueRowLength, valueMode);
    const firstRow = (head / groupSize) * headStride;
    const query = queries + ((<usize>head * dimension) << 2);
    const target = out + ((<usize>head * dimension) << 2);
    buildBlockTable(query, keyCodewords, keySize, keyBlockSize, keyBlocks, blockTable);
    if (keyBytes) buildByteTable(blockTable, keySize, keyBlocks, keyBitWidth, keyRowLength, byteTable);
    const maximum = tableScores(
      keyCodes, keyNorms, keyBitWidth, keyRowLength, keyBlocks, keySize,
      firstRow, tokenStride, tokenCount, scale, keyBytes, blockTable, byteTable, scoreBuffer,
    );
    const sum = exponentiate(scoreBuffer, tokenCount, maximum);
    memory.fill(target, 0, <usize>dimension << 2);
    if (valueMode == 1) {
      const floatsPerByte = dimension / valueRowLength;
      for (let t = 0; t < tokenCount; t++) {
        const row = firstRow + t * tokenStride;
        const weight = f32At(scoreBuffer, t) * f32At(valueNorms, row);
        accumulateRowBytes(valueCodes + <usize>row * valueRowLength, valueRowLength, valueTable, floatsPerByte, weight, target);
      }
    } else if (valueMode == 2) {
      const histogramFloats = valueRowLength << 8;
      memory.fill(histogram, 0, <usize>histogramFloats << 2);
      for (let t = 0; t < tokenCount; t++) {
        const row = firstRow + t * tokenStride;
        const weight = f32At(scoreBuffer, t) * f32At(valueNorms, row);
        const source = valueCodes + <usize>row * valueRowLength;
        let bins = histogram;
        let j = 0;
        for (; j + 4 <= valueRowLength; j += 4) {
          const word = load<u32>(source + j);
          const b0 = bins + (<usize>(word & 255) << 2);
          const b1 = bins + (<usize>((word >>> 8) & 255) << 2) + 1024;
          const b2 = bins + (<usize>((word >>> 16) & 255) << 2) + 2048;
          const b3 = bins + (<usize>(word >>> 24) << 2) + 3072;
          store<f32>(b0, load<f32>(b0) + weight);
          store<f32>(b1, load<f32>(b1) + weight);
          store<f32>(b2, load<f32>(b2) + weight);
          store<f32>(b3, load<f32>(b3) + weight);
          bins += 4096;
        }
        for (; j < valueRowLength; j++) {
          const bin = bins + (<usize>load<u8>(source + j) << 2);
          store<f32>(bin, load<f32>(bin) + weight);
          bins += 1024;
        }
      }
      const floatsPerByte = dimension / valueRowLength;
      for (let j = 0; j < valueRowLength; j++) {
        const slot = target + ((<usize>j * floatsPerByte) << 2);
        const bins = histogram + (<usize>(j << 8) << 2);
        // Σ_v weight[v] · table[v] in f32x4 accumulators. Products of empty bins are masked to 0:
        // an invalid code's NaN entry must not turn 0 · NaN into NaN.
        const zero = f32x4.splat(0);
        if (floatsPerByte == 4) {
          let even = zero;
          let odd = zero;
          for (let value = 0; value < 256; value += 2) {
            const first = f32x4.splat(load<f32>(bins + (<usize>value << 2)));
            const second = f32x4.splat(load<f32>(bins + (<usize>value << 2), 4));
            const entries = valueTable + (<usize>value << 4);
            even = f32x4.add(even, v128.and(f32x4.mul(first, v128.load(entries)), f32x4.ne(first, zero)));
            odd = f32x4.add(odd, v128.and(f32x4.mul(second, v128.load(entries, 16)), f32x4.ne(second, zero)));
          }
          v128.store(slot, f32x4.add(v128.load(slot), f32x4.add(even, odd)));
          continue;
        }
        if (floatsPerByte == 2) {
          // Lanes 0–1 accumulate entry v, lanes 2–3 entry v + 1.
          let sum = zero;
          for (let value = 0; value < 256; value += 2) {
            const pair = v128.load64_zero(bins + (<usize>value << 2));
            const weights = v128.shuffle<f32>(pair, pair, 0, 0, 1, 1);
            const product = f32x4.mul(weights, v128.load(valueTable + (<usize>value << 3)));
            sum = f32x4.add(sum, v128.and(product, f32x4.ne(weights, zero)));
          }
          store<f32>(slot, load<f32>(slot) + f32x4.extract_lane(sum, 0) + f32x4.extract_lane(sum, 2));
          store<f32>(slot, load<f32>(slot, 4) + f32x4.extract_lane(sum, 1) + f32x4.extract_lane(sum, 3), 4);
          continue;
        }
        for (let value = 0; value < 256; value++) {
          const weight = load<f32>(bins + (<usize>value << 2));
          if (weight == 0) continue;
          const entry = valueTable + ((<usize>value * floatsPerByte) << 2);
          for (let q = 0; q < floatsPerByte; q++) {
            const position = slot + (<usize>q << 2);
            store<f32>(position, load<f32>(position) + weight * load<f32>(entry + (<usize>q << 2)));
          }
        }
      }
    } else {
      for (let t = 0; t < tokenCount; t++) {
        const row = firstRow + t * tokenStride;
        const weight = f32At(scoreBuffer, t) * f32At(valueNorms, row);
        for (let block = 0; block < valueBlocks; block++) {
          const code = readCode(valueCodes, valueBitWidth, valueRowLength, row, block);
          for (let j = 0; j < valueBlockSize; j++) {
            const index = block * valueBlockSize + j;
            const codeword = code < valueSize ? f32At(valueTable, code * valueBlockSize + j) : NaN;
            storeF32(target, index, f32At(target, index) + weight * codeword);
          }
        }
      }
    }
    const inverse: f32 = 1 / sum;
    for (let i = 0; i < dimension; i++) storeF32(target, i, f32At(target, i) * inverse);
  }
}

// ---- dense attention (baseline) -----------------------------------------------------------

@inline function dot(a: usize, b: usize, length: i32): f32 {
  let i = 0;
  let sum: f32 = 0;
  if ((length & 15) == 0) {
    let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
    for (; i < length; i += 16) {
      const offset = <usize>i << 2;
      a0 = f32x4.add(a0, f32x4.mul(v128.load(a + offset), v128.load(b + offset)));
      a1 = f32x4.add(a1, f32x4.mul(v128.load(a + offset, 16), v128.load(b + offset, 16)));
      a2 = f32x4.add(a2, f32x4.mul(v128.load(a + offset, 32), v128.load(b + offset, 32)));
      a3 = f32x4.add(a3, f32x4.mul(v128.load(a + offset, 48), v128.load(b + offset, 48)));
    }
    const total = f32x4.add(f32x4.add(a0, a1), f32x4.add(a2, a3));
    sum = (f32x4.extract_lane(total, 0) + f32x4.extract_lane(total, 1)) +
      (f32x4.extract_lane(total, 2) + f32x4.extract_lane(total, 3));
  } else {
    let accumulator = f32x4.splat(0);
    for (; i + 4 <= length; i += 4) {
      const offset = <usize>i << 2;
      accumulator = f32x4.add(accumulator, f32x4.mul(v128.load(a + offset), v128.load(b + offset)));
    }
    sum = (f32x4.extract_lane(accumulator, 0) + f32x4.extract_lane(accumulator, 1)) +
      (f32x4.extract_lane(accumulator, 2) + f32x4.extract_lane(accumulator, 3));
    for (; i < length; i++) sum += f32At(a, i) * f32At(b, i);
  }
  return sum;
}

export function attentionDense(
  queries: usize, headCount: i32, groupSize: i32, tokenCount: i32, headStride: i32, tokenStride: i32,
  dimension: i32, scale: f32, keys: usize, values: usize, scoreBuffer: usize, out: usize,
): void {
  attentionDenseHeads(queries, headCount, groupSize, tokenCount, headStride, tokenStride, dimension, scale, keys, values, scoreBuffer, out, 0, 0, headCount);
}

/** Heads [headStart, headEnd) of `attentionDense`; `scratchPerHead` 1: head h scores into scoreBuffers + h · tokenCount floats. */
export function attentionDenseHeads(
  queries: usize, headCount: i32, groupSize: i32, tokenCount: i32, headStride: i32, tokenStride: i32,
  dimension: i32, scale: f32, keys: usize, values: usize, scoreBuffers: usize, out: usize,
  scratchPerHead: i32, headStart: i32, headEnd: i32,
): void {
  const rowBytes = <usize>dimension << 2;
  for (let head = headStart; head < headEnd; head++) {
    const scoreBuffer = scoreBuffers + (scratchPerHead ? (<usize>head * tokenCount) << 2 : 0);
    const firstRow = (head / groupSize) * headStride;
    const query = queries + <usize>head * rowBytes;
    const target = out + <usize>head * rowBytes;
    let maximum: f32 = -Infinity;
    for (let t = 0; t < tokenCount; t++) {
      const score = dot(query, keys + <usize>(firstRow + t * tokenStride) * rowBytes, dimension) * scale;
      storeF32(scoreBuffer, t, score);
      maximum = max(maximum, score);
    }
    const sum = exponentiate(scoreBuffer, tokenCount, maximum);
    memory.fill(target, 0, rowBytes);
    for (let t = 0; t < tokenCount; t++) {
      const weight = f32At(scoreBuffer, t);
      const splat = f32x4.splat(weight);
      const row = values + <usize>(firstRow + t * tokenStride) * rowBytes;
      let i = 0;
      for (; i + 4 <= dimension; i += 4) {
        const offset = <usize>i << 2;
        v128.store(target + offset, f32x4.add(v128.load(target + offset), f32x4.mul(splat, v128.load(row + offset))));
      }
      for (; i < dimension; i++) storeF32(target, i, f32At(target, i) + weight * f32At(row, i));
    }
    const inverse: f32 = 1 / sum;
    for (let i = 0; i < dimension; i++) storeF32(target, i, f32At(target, i) * inverse);
  }
}

// ---- encode -------------------------------------------------------------------------------

/** Nearest codeword per block, searching shells outward from the block's radius (exact bound). */
export function encodeShells(
  vectors: usize, count: i32, dimension: i32, blockSize: i32, size: i32,
  radii: usize, sortedCodewords: usize, order: usize, codeBytes: i32, codes: usize, norms: usize,
  quadCodewords: usize, quadOrder: usize, quadInnerRadii: usize, quadOuterRadii: usize,
): void {
  const blocksPerRow = dimension / blockSize;
  for (let row = 0; row < count; row++) {
    const base = row * dimension;
    let squares: f64 = 0;
    for (let i = 0; i < dimension; i++) {
      const value = <f64>f32At(vectors, base + i);
      squares += value * value;
    }
    const norm = <f32>Math.sqrt(squares);
    storeF32(norms, row, norm);
    const inverse: f32 = norm > 0 ? <f32>(1 / Math.sqrt(squares)) : 0;
    for (let block = 0; block < blocksPerRow; block++) {
      const offset = base + block * blockSize;
      let radiusSquared: f32 = 0;
      for (let j = 0; j < blockSize; j++) {
        const value = f32At(vectors, offset + j) * inverse;
        radiusSquared += value * value;
      }
      // k = 1: the shells are the signed levels (see src/codebook-shells.ts).
      const radius = blockSize == 1 ? f32At(vectors, offset) * inverse : Mathf.sqrt(radiusSquared);
      // First shell with radius ≥ the block's radius; branch-free lower bound.
      let low = 0;
      let length = size;
      while (length > 0) {
        const half = length >>> 1;
        const below = f32At(radii, low + half) < radius;
        low = select(low + half + 1, low, below);
        length = select(length - half - 1, half, below);
      }
      if (blockSize == 1) {
        // Sorted signed levels: the nearest is one of the two neighbours of the insertion point.
        const value = f32At(vectors, offset) * inverse;
        const lowerRank = max(low - 1, 0);
        const upperRank = min(low, size - 1);
        const lowerDistance = Mathf.abs(value - f32At(sortedCodewords, lowerRank));
        const upperDistance = Mathf.abs(value - f32At(sortedCodewords, upperRank));
        const lowerOriginal = <i32>load<u16>(order + (<usize>lowerRank << 1));
        const upperOriginal = <i32>load<u16>(order + (<usize>upperRank << 1));
        const takeUpper = upperDistance < lowerDistance || (upperDistance == lowerDistance && upperOriginal < lowerOriginal);
        const chosen = select(upperOriginal, lowerOriginal, takeUpper);
        const index = row * blocksPerRow + block;
        if (codeBytes == 1) store<u8>(codes + <usize>index, <u8>chosen);
        else store<u16>(codes + (<usize>index << 1), <u16>chosen);
        continue;
      }
      // k ≥ 2: shells of 4 radius-sorted codewords (structure of arrays, see quadShells in the
      // glue) are evaluated 4 at a time with f32x4, outward from the shell holding the block's
      // radius, until the radius gap to the next shell rules it out.
      const quadCount = (size + 3) >>> 2;
      let first = min(low >>> 2, quadCount - 1);
      let bestDistances = f32x4.splat(Infinity);
      let bestOriginals = i32x4.splat(65536);
      let bestDistance: f32 = Infinity;
      let inner = first - 1;
      let outer = first + 1;
      let quad = first;
      while (true) {
        let distances = f32x4.splat(0);
        const lanes = quadCodewords + ((<usize>quad * blockSize) << 4);
        for (let j = 0; j < blockSize; j++) {
          const difference = f32x4.sub(f32x4.splat(f32At(vectors, offset + j) * inverse), v128.load(lanes + (<usize>j << 4)));
          distances = f32x4.add(distances, f32x4.mul(difference, difference));
        }
        const originals = v128.load(quadOrder + (<usize>quad << 4));
        // Per lane: strictly closer, or equally close with a lower original index.
        const closer = v128.or(
          f32x4.lt(distances, bestDistances),
          v128.and(f32x4.eq(distances, bestDistances), i32x4.lt_s(originals, bestOriginals)),
        );
        bestDistances = v128.bitselect(distances, bestDistances, closer);
        bestOriginals = v128.bitselect(originals, bestOriginals, closer);
        bestDistance = min(
          min(f32x4.extract_lane(bestDistances, 0), f32x4.extract_lane(bestDistances, 1)),
          min(f32x4.extract_lane(bestDistances, 2), f32x4.extract_lane(bestDistances, 3)),
        );
        const innerGap: f32 = inner >= 0 ? radius - f32At(quadOuterRadii, inner) : Infinity;
        const outerGap: f32 = outer < quadCount ? f32At(quadInnerRadii, outer) - radius : Infinity;
        const takeInner = innerGap <= outerGap;
        const gap = max<f32>(takeInner ? innerGap : outerGap, 0);
        if (gap * gap >= bestDistance) break;
        quad = takeInner ? inner-- : outer++;
      }
      let bestOriginal = 65536;
      for (let lane = 0; lane < 4; lane++) {
        const distance = f32x4.extract_lane(bestDistances, 0);
        const original = i32x4.extract_lane(bestOriginals, 0);
        if (distance == bestDistance && original < bestOriginal) bestOriginal = original;
        bestDistances = v128.shuffle<f32>(bestDistances, bestDistances, 1, 2, 3, 0);
        bestOriginals = v128.shuffle<i32>(bestOriginals, bestOriginals, 1, 2, 3, 0);
      }
      const index = row * blocksPerRow + block;
      if (codeBytes == 1) store<u8>(codes + <usize>index, <u8>bestOriginal);
      else store<u16>(codes + (<usize>index << 1), <u16>bestOriginal);
    }
  }
}

// ---- transformer kernels ------------------------------------------------------------------

export function matmul(matrix: usize, vector: usize, rows: i32, columns: i32, out: usize): void {
  matmulRows(matrix, vector, columns, out, 0, rows);
}

/**
 * Rows [rowStart, rowEnd) of `matmul` (out[row] for those rows only). The thread pool hands each
 * worker ranges of rows; every row is the same `dot`, so any split gives bit-identical results.
 */
export function matmulRows(matrix: usize, vector: usize, columns: i32, out: usize, rowStart: i32, rowEnd: i32): void {
  const rowBytes = <usize>columns << 2;
  for (let row = rowStart; row < rowEnd; row++) storeF32(out, row, dot(matrix + <usize>row * rowBytes, vector, columns));
}

export function rmsNorm(input: usize, weight: usize, length: i32, epsilon: f32, out: usize): void {
  let squares: f32 = 0;
  for (let i = 0; i < length; i++) squares += f32At(input, i) * f32At(input, i);
  const scale: f32 = 1 / Mathf.sqrt(squares / <f32>length + epsilon);
  for (let i = 0; i < length; i++) storeF32(out, i, f32At(weight, i) * (scale * f32At(input, i)));
}

export function rope(input: usize, length: i32, headDimension: i32, position: i32, theta: f64, out: usize): void {
  for (let i = 0; i < length; i += 2) {
    const frequency = 1 / Math.pow(theta, <f64>(i % headDimension) / <f64>headDimension);
    const angle = <f64>position * frequency;
    const cos = <f32>Math.cos(angle);
    const sin = <f32>Math.sin(angle);
    const first = f32At(input, i);
    const second = f32At(input, i + 1);
    storeF32(out, i, first * cos - second * sin);
    storeF32(out, i + 1, first * sin + second * cos);
  }
}

export { quantizeRowQ8_0, matmulQ8_0, matmulQ4_0, matmulF16, matmulQ8_0Rows, matmulQ4_0Rows, matmulF16Rows } from "./quantized-matmul";
export { matmulBatch, matmulBatchRows } from "./matmul-batch";
export { activationBlockSumsQ8_0, matmulQ4_K, matmulQ6_K, matmulQ4_KRows, matmulQ6_KRows } from "./quantized-matmul-k";
export { matmulQ4_1, matmulQ5_0, matmulQ4_1Rows, matmulQ5_0Rows } from "./quantized-matmul-legacy";
export { matmulBatchQ8_0Rows, matmulBatchQ4_0Rows } from "./quantized-matmul-batch";
export { swiglu } from "./swiglu";
