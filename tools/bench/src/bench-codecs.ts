/**
 * Codec benchmark: for each codec × rate × head dimension (× FibQuant block size k) it measures the all-in
 * bits per element, compression vs fp16, normalized MSE on random unit vectors and its ratio to the
 * Shannon bound 4^(−b), the inner-product error of scores(), and encode / decode / scores throughput next to
 * a plain fp32 copy measured in the same run. Prints a table, writes bench-results/codecs.json.
 *
 *   pnpm bench:codecs            full run (a few minutes)
 *   KVPACK_BENCH_QUICK=1 pnpm bench:codecs    fewer vectors, shorter timings (smoke run)
 */
import { createCodec, type Codec, type CodecSpec } from "@kvpack/codecs";
import { BenchProgress, measureRate } from "./bench-progress.js";
import { writeBenchJson } from "./bench-output.js";
import { printTable } from "./bench-table.js";
import { randomUnitVectors } from "./bench-vectors.js";

const quick = process.env.KVPACK_BENCH_QUICK === "1";
const dimensions = [64, 128];
const fibquantRates = [0.5, 0.75, 1, 1.5, 2, 2.5, 3, 4];
const fibquantBlockSizes = [2, 4, 8];
/**
 * Largest FibQuant codebook benchmarked per block size: beyond it codebook training takes minutes on a small
 * machine (k=8, N=4096: ≈100 s) and encoding drops below ~1000 vectors/s, so it is not a practical setting.
 */
const maxFibquantCodewords = quick ? 256 : 4096;
const maxFibquantCodewordsAtBlockSize8 = quick ? 256 : 1024;
const vectorCount = quick ? 512 : 2048;
const queryCount = quick ? 16 : 64;
const blockRows = 128;
const timingMilliseconds = quick ? 40 : 150;

interface BenchCase {
  spec: CodecSpec;
  name: string;
  /** Code rate in bits per coordinate before norms/scales (the codec's nominal rate). */
  rate: number;
  blockSize: number | null;
  codewords: number | null;
}

function buildCases(): BenchCase[] {
  const cases: BenchCase[] = [];
  for (const dimension of dimensions) {
    for (const rate of fibquantRates) {
      for (const blockSize of fibquantBlockSizes) {
        const codewords = Math.round(2 ** (blockSize * rate));
        const limit = blockSize >= 8 ? maxFibquantCodewordsAtBlockSize8 : maxFibquantCodewords;
        if (codewords < 2 || codewords > limit || dimension % blockSize !== 0) continue;
        cases.push({ spec: { kind: "fibquant", dimension, bits: rate, blockSize }, name: "fibquant", rate, blockSize, codewords });
      }
    }
    for (const bits of [1, 2, 3, 4]) cases.push({ spec: { kind: "turboquant", dimension, bits }, name: "turboquant", rate: bits, blockSize: null, codewords: 2 ** bits });
    for (const bits of [2, 4] as const) {
      cases.push({ spec: { kind: "kivi", dimension, bits, role: "key" }, name: "kivi-key", rate: bits, blockSize: null, codewords: 2 ** bits });
      cases.push({ spec: { kind: "kivi", dimension, bits, role: "value" }, name: "kivi-value", rate: bits, blockSize: null, codewords: 2 ** bits });
    }
    for (const bits of [2, 3, 4] as const) cases.push({ spec: { kind: "quarot", dimension, bits }, name: "quarot", rate: bits, blockSize: null, codewords: 2 ** bits });
    // llama.cpp's cache types: rate = code bits, blocks of 32 (fp16 scales add the rest).
    for (const [kind, bits] of [["q8_0", 8], ["q5_0", 5], ["q4_1", 4], ["q4_0", 4]] as const) {
      cases.push({ spec: { kind, dimension }, name: kind, rate: bits, blockSize: 32, codewords: 2 ** bits });
    }
    cases.push({ spec: { kind: "int8", dimension }, name: "int8", rate: 8, blockSize: null, codewords: 256 });
    cases.push({ spec: { kind: "fp16", dimension }, name: "fp16", rate: 16, blockSize: null, codewords: null });
    cases.push({ spec: { kind: "fp32", dimension }, name: "fp32", rate: 32, blockSize: null, codewords: null });
  }
  return cases;
}

interface BenchRow {
  codec: string;
  codecId: string;
  dimension: number;
  blockSize: number | null;
  codewords: number | null;
  rate: number;
  /** Bits per coordinate of the codes alone: log2(N)/k for FibQuant, the bit width otherwise. */
  codeRate: number;
  bitsPerElement: number;
  compressionVsFp16: number;
  normalizedMse: number;
  shannonBound: number;
  mseOverShannonBound: number;
  /** MSE over 4^(−codeRate): distance to the bound at the code rate alone (norm and scales not charged). */
  mseOverShannonBoundAtCodeRate: number;
  innerProductMse: number;
  innerProductMseTimesDimension: number;
  setupSeconds: number;
  encodeVectorsPerSecond: number;
  decodeVectorsPerSecond: number;
  scoresKeysPerSecond: number;
  copyVectorsPerSecond: number;
}

function encodeAll(codec: Codec, vectors: Float32Array, count: number, dimension: number) {
  const blocks = [];
  for (let first = 0; first < count; first += blockRows) {
    const rows = Math.min(blockRows, count - first);
    blocks.push(codec.encode(vectors.subarray(first * dimension, (first + rows) * dimension), rows, dimension));
  }
  return blocks;
}

function runCase(benchCase: BenchCase, copyRate: Map<number, number>): BenchRow {
  const { spec } = benchCase;
  const dimension = spec.dimension;
  const setupStart = performance.now();
  const codec = createCodec(spec);
  const setupSeconds = (performance.now() - setupStart) / 1000;
  const vectors = randomUnitVectors(vectorCount, dimension, 1000 + dimension);
  const queries = randomUnitVectors(queryCount, dimension, 2000 + dimension);
  const blocks = encodeAll(codec, vectors, vectorCount, dimension);

  // Normalized MSE E‖u − û‖² over unit vectors (‖u‖ = 1).
  let squaredError = 0;
  const decoded = new Float32Array(blockRows * dimension);
  blocks.forEach((block, blockIndex) => {
    codec.decode(block, decoded);
    const base = blockIndex * blockRows * dimension;
    for (let index = 0; index < block.count * dimension; index++) squaredError += (vectors[base + index] - decoded[index]) ** 2;
  });
  const normalizedMse = squaredError / vectorCount;

  // Inner-product error of scores() against exact q·k, unit q and k.
  let innerProductError = 0;
  const scores = new Float32Array(blockRows);
  for (let queryIndex = 0; queryIndex < queryCount; queryIndex++) {
    const query = queries.subarray(queryIndex * dimension, (queryIndex + 1) * dimension);
    const prepared = codec.prepareQuery(query);
    blocks.forEach((block, blockIndex) => {
      codec.scores(prepared, block, scores);
      for (let row = 0; row < block.count; row++) {
        const base = (blockIndex * blockRows + row) * dimension;
        let exact = 0;
        for (let column = 0; column < dimension; column++) exact += query[column] * vectors[base + column];
        innerProductError += (scores[row] - exact) ** 2;
      }
    });
  }
  const innerProductMse = innerProductError / (queryCount * vectorCount);

  const bitsPerElement = codec.bitsPerElement(blockRows);
  const sample = vectors.subarray(0, blockRows * dimension);
  const sampleBlock = blocks[0];
  const prepared = codec.prepareQuery(queries.subarray(0, dimension));
  const encodeRate = measureRate(() => codec.encode(sample, blockRows, dimension), timingMilliseconds) * blockRows;
  const decodeRate = measureRate(() => codec.decode(sampleBlock, decoded), timingMilliseconds) * blockRows;
  const scoresRate = measureRate(() => codec.scores(prepared, sampleBlock, scores), timingMilliseconds) * blockRows;
  const shannonBound = 4 ** -bitsPerElement;
  const codeRate =
    benchCase.blockSize !== null && benchCase.codewords !== null ? Math.log2(benchCase.codewords) / benchCase.blockSize : benchCase.rate;
  return {
    codec: benchCase.name,
    codecId: codec.codecId,
    dimension,
    blockSize: benchCase.blockSize,
    codewords: benchCase.codewords,
    rate: benchCase.rate,
    codeRate,
    bitsPerElement,
    compressionVsFp16: 16 / bitsPerElement,
    normalizedMse,
    shannonBound,
    mseOverShannonBound: normalizedMse / shannonBound,
    mseOverShannonBoundAtCodeRate: normalizedMse / 4 ** -codeRate,
    innerProductMse,
    innerProductMseTimesDimension: innerProductMse * dimension,
    setupSeconds,
    encodeVectorsPerSecond: encodeRate,
    decodeVectorsPerSecond: decodeRate,
    scoresKeysPerSecond: scoresRate,
    copyVectorsPerSecond: copyRate.get(dimension) ?? Number.NaN,
  };
}

function main(): void {
  const started = performance.now();
  const cases = buildCases();
  process.stderr.write(`bench:codecs: ${cases.length} cases, ${vectorCount} unit vectors per case, blocks of ${blockRows} rows${quick ? " (quick)" : ""}\n`);

  // Baseline in the same run: a plain fp32 copy of one block of rows into another buffer.
  const copyRate = new Map<number, number>();
  for (const dimension of dimensions) {
    const source = randomUnitVectors(blockRows, dimension, 7);
    const target = new Float32Array(source.length);
    copyRate.set(dimension, measureRate(() => target.set(source), timingMilliseconds) * blockRows);
  }

  const progress = new BenchProgress(cases.length);
  const rows: BenchRow[] = [];
  const failures: { spec: CodecSpec; error: string }[] = [];
  for (const benchCase of cases) {
    const label = `${benchCase.name} d=${benchCase.spec.dimension}${benchCase.blockSize ? ` k=${benchCase.blockSize}` : ""} rate=${benchCase.rate}`;
    try {
      const row = runCase(benchCase, copyRate);
      rows.push(row);
      progress.step(`${label}: ${row.bitsPerElement.toFixed(3)} bits/el, MSE ${row.normalizedMse.toFixed(4)}`);
    } catch (error) {
      failures.push({ spec: benchCase.spec, error: String(error) });
      progress.step(`${label}: FAILED ${String(error)}`);
    }
  }

  printTable("Codecs on random unit vectors (all-in bits at 128-row blocks; throughput in vectors/s, single thread)", rows, [
    { header: "codec", value: (row) => row.codec },
    { header: "d", value: (row) => row.dimension, digits: 0 },
    { header: "k", value: (row) => (row.blockSize === null ? "-" : String(row.blockSize)) },
    { header: "N", value: (row) => (row.codewords === null ? "-" : String(row.codewords)) },
    { header: "rate", value: (row) => row.rate, digits: 2 },
    { header: "code b", value: (row) => row.codeRate, digits: 3 },
    { header: "bits/el", value: (row) => row.bitsPerElement, digits: 3 },
    { header: "x fp16", value: (row) => row.compressionVsFp16, digits: 2 },
    { header: "MSE", value: (row) => row.normalizedMse, digits: 5 },
    { header: "MSE/4^-bits", value: (row) => row.mseOverShannonBound, digits: 2 },
    { header: "MSE/4^-code", value: (row) => row.mseOverShannonBoundAtCodeRate, digits: 2 },
    { header: "IP err*d", value: (row) => row.innerProductMseTimesDimension, digits: 4 },
    { header: "encode/s", value: (row) => Math.round(row.encodeVectorsPerSecond), digits: 0 },
    { header: "decode/s", value: (row) => Math.round(row.decodeVectorsPerSecond), digits: 0 },
    { header: "scores/s", value: (row) => Math.round(row.scoresKeysPerSecond), digits: 0 },
    { header: "fp32 copy/s", value: (row) => Math.round(row.copyVectorsPerSecond), digits: 0 },
  ]);
  if (failures.length > 0) process.stdout.write(`\n${failures.length} case(s) failed:\n${failures.map((failure) => `  ${JSON.stringify(failure.spec)}: ${failure.error}`).join("\n")}\n`);

  const path = writeBenchJson("codecs", {
    description:
      "Codec fidelity and speed on random unit vectors. bitsPerElement is all-in (codes, norms, scales, block header) for 128-row blocks; normalizedMse = E||u - u_hat||^2; shannonBound = 4^(-bitsPerElement); innerProductMse = E[(q.k - scores)^2] for unit q, k; throughputs are single-thread vectors/s beside a plain fp32 copy (copyVectorsPerSecond) measured in the same run.",
    settings: { quick, dimensions, vectorCount, queryCount, blockRows, timingMilliseconds, maxFibquantCodewords, maxFibquantCodewordsAtBlockSize8 },
    baseline: Object.fromEntries([...copyRate].map(([dimension, rate]) => [`fp32CopyVectorsPerSecond_d${dimension}`, rate])),
    results: rows,
    failures,
    totalSeconds: (performance.now() - started) / 1000,
  });
  process.stdout.write(`\nwrote ${path} in ${((performance.now() - started) / 1000).toFixed(1)} s\n`);
}

main();
