import { codeRowLength, packCodes } from "../code-layout.js";
import type { KernelBackend, KernelPrecision } from "../kernel-backend.js";
import type { CodebookInput, CompressedRows, DeviceArray } from "../kernel-inputs.js";
import type { CodebookSpec, ConformanceCase, RowsSpec } from "./conformance-cases.js";
import { gaussianArray, seededRandom } from "./seeded-random.js";
import { fibonacciCodebook, randomCodebook, scalarLevels } from "./test-codebooks.js";

export interface CaseOutcome {
  readonly name: string;
  readonly passed: boolean;
  /** Largest |result − oracle| − (absolute + relative·|oracle|); ≤ 0 passes. */
  readonly worstExcess: number;
  readonly detail: string;
}

export function buildCodebook(spec: CodebookSpec, dimension: number): CodebookInput {
  const codewords =
    spec.kind === "fibonacci"
      ? fibonacciCodebook(spec.size, dimension)
      : spec.kind === "scalar"
        ? scalarLevels(spec.size, dimension)
        : randomCodebook(spec.seed ?? 1, spec.size, spec.blockSize, dimension);
  return { codewords, blockSize: spec.blockSize };
}

/** Random valid codes in the layout of `spec.bitWidth`, plus positive norms. */
export function buildRows(random: () => number, spec: RowsSpec, rowCount: number, dimension: number) {
  const codebook = buildCodebook(spec.codebook, dimension);
  const blocksPerRow = dimension / spec.codebook.blockSize;
  const indices = Array.from({ length: rowCount * blocksPerRow }, () => Math.floor(random() * spec.codebook.size));
  let codes: Uint8Array | Uint16Array;
  if (spec.bitWidth === 16) codes = Uint16Array.from(indices);
  else if (spec.bitWidth === 8) codes = Uint8Array.from(indices);
  else codes = packCodes(Uint8Array.from(indices), rowCount, blocksPerRow, spec.bitWidth);
  if (codes.length !== rowCount * codeRowLength(blocksPerRow, spec.bitWidth)) throw new Error("layout mismatch");
  const norms = Float32Array.from({ length: rowCount }, () => 0.5 + 2.5 * random());
  return { codes, norms, codebook, bitWidth: spec.bitWidth };
}

function compare(name: string, result: Float32Array, oracle: Float32Array, precision: KernelPrecision): CaseOutcome {
  if (result.length !== oracle.length) {
    return { name, passed: false, worstExcess: Infinity, detail: `length ${result.length} ≠ ${oracle.length}` };
  }
  let worstExcess = -Infinity;
  let worstIndex = 0;
  for (let index = 0; index < oracle.length; index++) {
    const excess = Math.abs(result[index] - oracle[index]) - (precision.absolute + precision.relative * Math.abs(oracle[index]));
    const bad = Number.isNaN(excess) ? Infinity : excess;
    if (bad > worstExcess) {
      worstExcess = bad;
      worstIndex = index;
    }
  }
  return {
    name,
    passed: worstExcess <= 0,
    worstExcess,
    detail: `worst at [${worstIndex}]: ${result[worstIndex]} vs oracle ${oracle[worstIndex]}`,
  };
}

/** Uploads the arrays a resident case keeps in backend memory; returns them for disposal. */
function residentRows(backend: KernelBackend, rows: ReturnType<typeof buildRows>, owned: DeviceArray[]): CompressedRows {
  const codes = backend.upload(rows.codes);
  const norms = backend.upload(rows.norms);
  owned.push(codes, norms);
  return { ...rows, codes, norms };
}

/** Runs one case on `backend` and on `oracle` (the ts backend) and compares at `backend.precision`. */
export async function runConformanceCase(
  backend: KernelBackend,
  oracle: KernelBackend,
  testCase: ConformanceCase,
): Promise<CaseOutcome> {
  const random = seededRandom(testCase.seed);
  const precision = backend.precision;
  const owned: DeviceArray[] = [];
  const resident = "resident" in testCase && testCase.resident === true;
  const float = (data: Float32Array) => {
    if (!resident) return data;
    const array = backend.upload(data);
    owned.push(array);
    return array;
  };
  try {
    switch (testCase.kernel) {
      case "encode": {
        const inputs = {
          vectors: gaussianArray(random, testCase.count * testCase.dimension),
          count: testCase.count,
          dimension: testCase.dimension,
          codebook: buildCodebook(testCase.codebook, testCase.dimension),
        };
        const [result, expected] = await Promise.all([backend.kernels.encode(inputs), oracle.kernels.encode(inputs)]);
        const normOutcome = compare(testCase.name, result.norms, expected.norms, precision);
        if (!normOutcome.passed) return normOutcome;
        // Codes may differ only on exact or near ties: the chosen codeword must be as close as the oracle's.
        const { codewords, blockSize } = inputs.codebook;
        let worstExcess = -Infinity;
        let differing = 0;
        for (let index = 0; index < expected.codes.length; index++) {
          if (result.codes[index] === expected.codes[index]) continue;
          differing++;
          const row = Math.floor((index * blockSize) / testCase.dimension);
          const distance = (code: number) => {
            let sum = 0;
            for (let j = 0; j < blockSize; j++) {
              const value = inputs.vectors[index * blockSize + j] / expected.norms[row] - codewords[code * blockSize + j];
              sum += value * value;
            }
            return sum;
          };
          worstExcess = Math.max(worstExcess, distance(result.codes[index]) - distance(expected.codes[index]) - 1e-5);
        }
        const passed = worstExcess <= 0 && differing <= expected.codes.length * 0.01;
        return { name: testCase.name, passed, worstExcess, detail: `${differing} of ${expected.codes.length} codes differ from the oracle` };
      }
      case "decode": {
        const rows = buildRows(random, testCase.rows, testCase.count, testCase.dimension);
        const inputs = { rows: resident ? residentRows(backend, rows, owned) : rows, count: testCase.count, dimension: testCase.dimension };
        const expected = await oracle.kernels.decode({ ...inputs, rows });
        if (resident) {
          const output = backend.allocate("float32", testCase.count * testCase.dimension);
          owned.push(output);
          await backend.kernels.decode(inputs, output);
          return compare(testCase.name, (await output.read()) as Float32Array, expected, precision);
        }
        return compare(testCase.name, await backend.kernels.decode(inputs), expected, precision);
      }
      case "scores": {
        const query = gaussianArray(random, testCase.dimension);
        const keys = buildRows(random, testCase.rows, testCase.count, testCase.dimension);
        const inputs = { query, keys, count: testCase.count, dimension: testCase.dimension };
        return compare(testCase.name, await backend.kernels.scores(inputs), await oracle.kernels.scores(inputs), precision);
      }
      case "attention": {
        const capacity = testCase.capacity ?? testCase.tokenCount;
        const rowCount = testCase.kvHeadCount * capacity;
        const shape = {
          layout: testCase.layout,
          queries: gaussianArray(random, testCase.headCount * testCase.dimension, 2),
          tokenCount: testCase.tokenCount,
          headCount: testCase.headCount,
          kvHeadCount: testCase.kvHeadCount,
          dimension: testCase.dimension,
          capacity,
        };
        const keys = buildRows(random, testCase.keys, rowCount, testCase.dimension);
        const values = buildRows(random, testCase.values, rowCount, testCase.dimension);
        const expected = await oracle.kernels.attention({ ...shape, keys, values });
        const result = await backend.kernels.attention({
          ...shape,
          keys: resident ? residentRows(backend, keys, owned) : keys,
          values: resident ? residentRows(backend, values, owned) : values,
        });
        return compare(testCase.name, result, expected, precision);
      }
      case "denseAttention": {
        const capacity = testCase.capacity ?? testCase.tokenCount;
        const length = testCase.kvHeadCount * capacity * testCase.dimension;
        const shape = {
          layout: testCase.layout,
          queries: gaussianArray(random, testCase.headCount * testCase.dimension),
          tokenCount: testCase.tokenCount,
          headCount: testCase.headCount,
          kvHeadCount: testCase.kvHeadCount,
          dimension: testCase.dimension,
          capacity,
        };
        const keys = gaussianArray(random, length);
        const values = gaussianArray(random, length);
        const expected = await oracle.kernels.denseAttention({ ...shape, keys, values });
        const result = await backend.kernels.denseAttention({ ...shape, keys: float(keys), values: float(values) });
        return compare(testCase.name, result, expected, precision);
      }
      case "matmul": {
        const matrix = gaussianArray(random, testCase.rows * testCase.columns);
        const vector = gaussianArray(random, testCase.columns);
        const shape = { vector, rows: testCase.rows, columns: testCase.columns };
        const expected = await oracle.kernels.matmul({ ...shape, matrix });
        return compare(testCase.name, await backend.kernels.matmul({ ...shape, matrix: float(matrix) }), expected, precision);
      }
      case "matmulBatch": {
        const matrix = gaussianArray(random, testCase.rows * testCase.columns);
        const vectors = gaussianArray(random, testCase.count * testCase.columns);
        const shape = { vectors, count: testCase.count, rows: testCase.rows, columns: testCase.columns };
        const expected = await oracle.kernels.matmulBatch({ ...shape, matrix });
        const result = await backend.kernels.matmulBatch({ ...shape, matrix: float(matrix) });
        const outcome = compare(testCase.name, result, expected, precision);
        if (!outcome.passed) return outcome;
        // Each row must be exactly what matmul gives for that vector on the same backend.
        for (let v = 0; v < testCase.count; v++) {
          const single = await backend.kernels.matmul({ matrix: float(matrix), vector: vectors.subarray(v * testCase.columns, (v + 1) * testCase.columns), rows: testCase.rows, columns: testCase.columns });
          for (let row = 0; row < testCase.rows; row++) {
            if (single[row] !== result[v * testCase.rows + row]) {
              return { name: testCase.name, passed: false, worstExcess: Math.abs(single[row] - result[v * testCase.rows + row]), detail: `vector ${v} row ${row}: matmulBatch ${result[v * testCase.rows + row]} ≠ matmul ${single[row]}` };
            }
          }
        }
        return outcome;
      }
      case "rmsNorm": {
        const inputs = { input: gaussianArray(random, testCase.length, 3), weight: gaussianArray(random, testCase.length) };
        return compare(testCase.name, await backend.kernels.rmsNorm(inputs), await oracle.kernels.rmsNorm(inputs), precision);
      }
      case "rope": {
        const inputs = {
          input: gaussianArray(random, testCase.headCount * testCase.headDimension),
          headDimension: testCase.headDimension,
          position: testCase.position,
        };
        return compare(testCase.name, await backend.kernels.rope(inputs), await oracle.kernels.rope(inputs), precision);
      }
      case "swiglu": {
        const inputs = { gate: gaussianArray(random, testCase.length, testCase.gateScale ?? 3), up: gaussianArray(random, testCase.length) };
        const out = testCase.out ? new Float32Array(testCase.length) : undefined;
        const result = await backend.kernels.swiglu({ ...inputs, out });
        if (out !== undefined && result !== out) throw new Error(`${testCase.name}: the result is not the caller's out buffer`);
        return compare(testCase.name, result, await oracle.kernels.swiglu(inputs), precision);
      }
      default:
        throw new Error(`unknown conformance kernel in ${JSON.stringify(testCase satisfies never)}`);
    }
  } finally {
    for (const array of owned) array.dispose();
  }
}
