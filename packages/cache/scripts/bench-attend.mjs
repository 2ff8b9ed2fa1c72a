// Benchmark (not a test): decode-step attention time of CompressedKVCache per codec against
// DenseKVCache measured in the same run, plus all-in bits per element and ratio vs fp16.
// Run after `pnpm --filter @kvpack/cache build`: `node scripts/bench-attend.mjs [contexts…]`.
// Writes bench-results/cache-attend.json at the repo root.
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { CompressedKVCache, DenseKVCache } from "../dist/index.js";

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");
const contexts = process.argv.slice(2).map(Number).filter((n) => n > 0);
if (contexts.length === 0) contexts.push(512, 2048);
// One layer of a TinyLlama-1.1B-like shape: 32 query heads, 4 KV heads, head dim 64.
const heads = 32;
const kvHeads = 4;
const headDim = 64;
const codecs = [
  ["fp32", { kind: "fp32", dimension: headDim }, { kind: "fp32", dimension: headDim }],
  ["fp16", { kind: "fp16", dimension: headDim }, { kind: "fp16", dimension: headDim }],
  ["int8", { kind: "int8", dimension: headDim }, { kind: "int8", dimension: headDim }],
  ["kivi-4", { kind: "kivi", dimension: headDim, bits: 4, role: "key" }, { kind: "kivi", dimension: headDim, bits: 4, role: "value" }],
  ["kivi-2", { kind: "kivi", dimension: headDim, bits: 2, role: "key" }, { kind: "kivi", dimension: headDim, bits: 2, role: "value" }],
  ["turboquant-3", { kind: "turboquant", dimension: headDim, bits: 3 }, { kind: "turboquant", dimension: headDim, bits: 3 }],
];

// A codec whose blocks are aligned fp32 views: isolates the cache's own overhead (paging,
// softmax, GQA, bookkeeping) from codec kernels.
function viewOf(block) {
  return new Float32Array(block.data.buffer, block.data.byteOffset, block.count * headDim);
}
const viewCodec = {
  spec: { kind: "fp32", dimension: headDim },
  codecId: "bench-view-fp32",
  kind: "fp32",
  dimension: headDim,
  tokenGroup: 1,
  bitsPerElement: () => 32,
  encodedByteLength: (count) => count * headDim * 4,
  encode: (vectors, count, dimension) => ({ codecId: "bench-view-fp32", count, dimension, data: new Uint8Array(vectors.slice(0, count * dimension).buffer) }),
  decode: (block, out) => {
    const rows = viewOf(block);
    if (out) {
      out.set(rows);
      return out;
    }
    return rows.slice();
  },
  decodeRow: (block, row, out = new Float32Array(headDim)) => {
    out.set(viewOf(block).subarray(row * headDim, (row + 1) * headDim));
    return out;
  },
  prepareQuery: (query) => ({ codecId: "bench-view-fp32", query: query.slice() }),
  scores: (prepared, block, out = new Float32Array(block.count)) => {
    const rows = viewOf(block);
    const query = prepared.query ?? prepared;
    for (let row = 0; row < block.count; row++) {
      let sum = 0;
      for (let i = 0; i < headDim; i++) sum += query[i] * rows[row * headDim + i];
      out[row] = sum;
    }
    return out;
  },
  accumulate: (weights, block, accumulator) => {
    const rows = viewOf(block);
    for (let row = 0; row < block.count; row++) {
      const weight = weights[row];
      if (weight === 0) continue;
      for (let i = 0; i < headDim; i++) accumulator[i] += weight * rows[row * headDim + i];
    }
  },
  finishAccumulator: (accumulator, out) => {
    out.set(accumulator);
    return out;
  },
};
codecs.unshift(["view-fp32 (cache overhead only)", viewCodec, viewCodec]);

let seed = 12345;
function random() {
  seed = (seed * 1103515245 + 12345) >>> 0;
  return seed / 4294967296 - 0.5;
}
const fill = (length) => Float32Array.from({ length }, random);

function timeAttend(cache, queries, out, minimumMs = 300) {
  cache.attend(0, queries, out, { heads }); // warm-up
  let runs = 0;
  const start = performance.now();
  while (performance.now() - start < minimumMs || runs < 3) {
    cache.attend(0, queries, out, { heads });
    runs += 1;
  }
  return (performance.now() - start) / runs;
}

const rows = [];
for (const context of contexts) {
  const tokens = Array.from({ length: context }, () => ({ keys: fill(kvHeads * headDim), values: fill(kvHeads * headDim) }));
  const queries = fill(heads * headDim);
  const out = new Float32Array(heads * headDim);
  const dense = new DenseKVCache({ layers: 1, kvHeads, headDim, capacity: context });
  for (const { keys, values } of tokens) dense.append(0, keys, values);
  const denseMs = timeAttend(dense, queries, out);
  const reference = out.slice();
  rows.push({ context, codec: "dense (baseline)", attendMs: denseMs, slowdown: 1, bitsPerElement: 32, ratioVsFp16: 0.5, cosine: 1 });
  process.stdout.write(`context ${context}: dense ${denseMs.toFixed(2)} ms\n`);
  for (const [name, keys, values] of codecs) {
    let cache;
    try {
      cache = new CompressedKVCache({ layers: 1, kvHeads, headDim, keys, values });
    } catch (error) {
      process.stdout.write(`  ${name}: skipped (${error.message})\n`);
      continue;
    }
    for (const token of tokens) cache.append(0, token.keys, token.values);
    const attendMs = timeAttend(cache, queries, out);
    let dot = 0;
    let a = 0;
    let b = 0;
    for (let i = 0; i < out.length; i++) {
      dot += out[i] * reference[i];
      a += out[i] * out[i];
      b += reference[i] * reference[i];
    }
    const { totals } = cache.memoryReport();
    rows.push({
      context,
      codec: name,
      attendMs,
      slowdown: attendMs / denseMs,
      bitsPerElement: totals.bitsPerElement,
      ratioVsFp16: totals.compressionRatio,
      cosine: dot / Math.sqrt(a * b),
    });
    process.stdout.write(`  ${name}: ${attendMs.toFixed(2)} ms\n`);
  }
}

console.log("\n| context | codec | attend ms/step | × dense | bits/element (all-in) | ratio vs fp16 | output cosine vs dense |");
console.log("|---:|---|---:|---:|---:|---:|---:|");
for (const row of rows) {
  console.log(
    `| ${row.context} | ${row.codec} | ${row.attendMs.toFixed(2)} | ${row.slowdown.toFixed(2)} | ${row.bitsPerElement.toFixed(2)} | ${row.ratioVsFp16.toFixed(2)} | ${row.cosine.toFixed(5)} |`,
  );
}
const outputDirectory = join(repoRoot, "bench-results");
mkdirSync(outputDirectory, { recursive: true });
writeFileSync(
  join(outputDirectory, "cache-attend.json"),
  `${JSON.stringify({ benchmark: "cache-attend", node: process.version, shape: { heads, kvHeads, headDim }, pageSize: 32, residualWindow: 32, rows }, null, 2)}\n`,
);
console.log(`\nwrote ${join(outputDirectory, "cache-attend.json")}`);
