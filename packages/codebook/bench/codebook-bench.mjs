// Codebook benchmark: FibQuant vs the scalar Lloyd–Max baseline at matched rate (same run), build times, and
// radial vs brute-force nearest search. Prints a table and writes bench-results/codebook.json.
// Usage (after `pnpm --filter @kvpack/codebook build`): node bench/codebook-bench.mjs [--quick]
import { mkdirSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import {
  buildFibQuantCodebookWithReport,
  buildScalarCodebook,
  createNearestCodewordSearch,
  createRandom,
  nearestCodewordBruteForce,
  sampleSphericalBeta,
} from "../dist/index.js";

const quick = process.argv.includes("--quick");
const dimension = 128;
const cases = quick
  ? [[2, 1], [2, 2], [4, 1], [4, 0.5]]
  : [[2, 1], [2, 2], [2, 3], [2, 4], [4, 0.5], [4, 0.75], [4, 1], [4, 1.5], [4, 2], [8, 0.5], [8, 1]];

const rows = [];
for (const [blockSize, bits] of cases) {
  let lastTenth = -1;
  const report = buildFibQuantCodebookWithReport({
    sourceDimension: dimension,
    blockSize,
    bits,
    onProgress: ({ stage, fraction }) => {
      const tenth = Math.floor(fraction * 10);
      if (tenth !== lastTenth) {
        lastTenth = tenth;
        process.stderr.write(`\r  k=${blockSize} b=${bits}: ${stage} ${(fraction * 100).toFixed(0)}%      `);
      }
    },
  });
  process.stderr.write("\n");
  const codebook = report.codebook;
  const scalarBits = Number.isInteger(bits) ? bits : undefined;
  const scalar = scalarBits !== undefined ? buildScalarCodebook({ sourceDimension: dimension, bits: scalarBits }).distortion : null;

  // Nearest search timing: fast vs brute force on the same blocks.
  const count = 20_000;
  const samples = sampleSphericalBeta(dimension, blockSize, count, createRandom(12345));
  const search = createNearestCodewordSearch(codebook);
  // Each loop runs twice; the second (warm, JIT-compiled) pass is timed.
  let checksum = 0;
  let fastNanoseconds = 0;
  for (let pass = 0; pass < 2; pass++) {
    checksum = 0;
    const started = performance.now();
    for (let i = 0; i < count; i++) checksum += search.nearest(samples, i * blockSize);
    fastNanoseconds = ((performance.now() - started) / count) * 1e6;
  }
  let bruteChecksum = 0;
  let bruteNanoseconds = 0;
  for (let pass = 0; pass < 2; pass++) {
    bruteChecksum = 0;
    const started = performance.now();
    for (let i = 0; i < count; i++) bruteChecksum += nearestCodewordBruteForce(codebook, samples, i * blockSize);
    bruteNanoseconds = ((performance.now() - started) / count) * 1e6;
  }
  if (checksum !== bruteChecksum) throw new Error("fast search disagrees with brute force");

  rows.push({
    sourceDimension: dimension,
    blockSize,
    bits,
    size: codebook.size,
    fibQuantDistortion: codebook.distortion,
    scalarDistortion: scalar,
    ratioToScalar: scalar === null ? null : codebook.distortion / scalar,
    chosenScheme: report.chosenScheme,
    buildMilliseconds: report.buildMilliseconds,
    nearestFastNanoseconds: fastNanoseconds,
    nearestBruteForceNanoseconds: bruteNanoseconds,
  });
}

const header = "k  b     N     FibQuant   scalar     ratio  build ms  nearest ns (fast / brute)  layout";
console.log(header);
for (const row of rows) {
  console.log(
    [
      String(row.blockSize).padEnd(2),
      String(row.bits).padEnd(5),
      String(row.size).padEnd(5),
      row.fibQuantDistortion.toFixed(5).padEnd(10),
      (row.scalarDistortion === null ? "—" : row.scalarDistortion.toFixed(5)).padEnd(10),
      (row.ratioToScalar === null ? "—" : row.ratioToScalar.toFixed(3)).padEnd(6),
      row.buildMilliseconds.toFixed(0).padEnd(9),
      `${row.nearestFastNanoseconds.toFixed(0)} / ${row.nearestBruteForceNanoseconds.toFixed(0)}`.padEnd(26),
      row.chosenScheme,
    ].join(" "),
  );
}
const output = fileURLToPath(new URL("../../../bench-results/", import.meta.url));
mkdirSync(output, { recursive: true });
writeFileSync(`${output}codebook.json`, JSON.stringify({ date: new Date().toISOString(), quick, rows }, null, 2));
console.log(`wrote ${output}codebook.json`);
