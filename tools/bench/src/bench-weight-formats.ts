/**
 * Weight-format benchmark: the WASM backend's `quantizedMatmul` per weight encoding (Q8_0, Q4_0,
 * Q4_1, Q5_0, Q4_K, Q6_K) on resident blocks at SmolLM2-135M's shapes: ffn_down 576 × 1536 (every
 * format), gate/up 1536 × 576 and q/o 576 × 576 (not the K-quants: 576 is not whole 256-blocks), on
 * one thread and on every core, interleaved trials, median kept. Bytes per weight say what the block
 * formats save in resident memory; µs per call what they cost, also as a ratio to Q8_0's.
 *
 *   pnpm bench:weight-formats            (about 1 minute)
 *   KVPACK_BENCH_QUICK=1 …               fewer trials
 *
 * Prints the table and writes bench-results/weight-formats.json.
 */
import { availableParallelism } from "node:os";
import { ggmlBlockCodecs } from "@kvpack/adapters";
import { createWasmBackend, type KernelBackend, type WeightFormat } from "@kvpack/kernels";
import { writeBenchJson } from "./bench-output.js";
import { printTable } from "./bench-table.js";

const quick = process.env.KVPACK_BENCH_QUICK === "1";
const trials = quick ? 3 : 9;
const threads = availableParallelism();

const formats = [
  { format: "q8_0", ggml: "Q8_0" },
  { format: "q4_0", ggml: "Q4_0" },
  { format: "q4_1", ggml: "Q4_1" },
  { format: "q5_0", ggml: "Q5_0" },
  { format: "q4_k", ggml: "Q4_K" },
  { format: "q6_k", ggml: "Q6_K" },
] as const satisfies readonly { format: WeightFormat; ggml: string }[];

const shapes = [
  { rows: 576, columns: 1536 },
  { rows: 1536, columns: 576 },
  { rows: 576, columns: 576 },
];

function uniform(length: number, seed: number): Float32Array {
  let state = seed;
  return Float32Array.from({ length }, () => {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    return (state / 4294967296 - 0.5) * 0.2;
  });
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

interface Row {
  format: string;
  rows: number;
  columns: number;
  bytesPerWeight: number;
  /** Median µs per call by variant ("1 thread", "N threads"). */
  microseconds: Record<string, number>;
  /** Median µs relative to Q8_0's at the same shape and variant. */
  versusQ8_0: Record<string, number>;
}

async function main(): Promise<void> {
  const variants: { name: string; backend: KernelBackend }[] = [
    { name: "1 thread", backend: createWasmBackend({ threads: 1 }) },
    { name: `${threads} threads`, backend: createWasmBackend({ threads }) },
  ];
  for (const variant of variants) await variant.backend.init();
  const rows: Row[] = [];
  for (const shape of shapes) {
    const values = uniform(shape.rows * shape.columns, 3);
    const vector = uniform(shape.columns, 5);
    const reps = Math.max(5, Math.round(2e8 / (shape.rows * shape.columns * 40)));
    const shapeRows: Row[] = [];
    const fitting = formats.filter(({ format }) => shape.columns % (format.endsWith("_k") ? 256 : 32) === 0);
    const calls = fitting.map(({ format, ggml }) => {
      const blocks = ggmlBlockCodecs[ggml]!.quantize(values);
      return {
        format,
        bytesPerWeight: blocks.length / (shape.rows * shape.columns),
        perVariant: variants.map(({ backend }) => {
          const matrix = backend.upload(blocks);
          return { matrix, run: () => backend.kernels.quantizedMatmul!({ matrix, format, vector, rows: shape.rows, columns: shape.columns }) };
        }),
      };
    });
    const samples = calls.map(() => variants.map(() => [] as number[]));
    for (let trial = 0; trial < trials; trial++) {
      for (const [f, call] of calls.entries()) {
        for (const [v, { run }] of call.perVariant.entries()) {
          await run();
          const start = performance.now();
          for (let r = 0; r < reps; r++) await run();
          samples[f][v].push(((performance.now() - start) * 1000) / reps);
        }
      }
    }
    for (const [f, call] of calls.entries()) {
      const microseconds: Record<string, number> = {};
      variants.forEach(({ name }, v) => (microseconds[name] = median(samples[f][v])));
      shapeRows.push({ format: call.format, ...shape, bytesPerWeight: call.bytesPerWeight, microseconds, versusQ8_0: {} });
      for (const { matrix } of call.perVariant) matrix.dispose();
    }
    for (const row of shapeRows) {
      for (const { name } of variants) row.versusQ8_0[name] = row.microseconds[name] / shapeRows[0].microseconds[name];
    }
    rows.push(...shapeRows);
  }
  for (const variant of variants) variant.backend.dispose();
  printTable(`quantizedMatmul on wasm, median of ${trials} trials (µs per call)`, rows, [
    { header: "format", value: (row) => row.format },
    { header: "rows×columns", value: (row) => `${row.rows}×${row.columns}` },
    { header: "bytes/weight", value: (row) => row.bytesPerWeight, digits: 4 },
    ...variants.flatMap(({ name }) => [
      { header: `µs ${name}`, value: (row: Row) => row.microseconds[name], digits: 1 },
      { header: `÷ Q8_0 ${name}`, value: (row: Row) => row.versusQ8_0[name], digits: 2 },
    ]),
  ]);
  console.log(`wrote ${writeBenchJson("weight-formats", { trials, threads, rows })}`);
}

await main();
