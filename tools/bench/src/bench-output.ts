import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { machineInfo } from "./machine/machine-info.js";
import type { MachineCeilings } from "./machine/measure-ceilings.js";

export { machineInfo } from "./machine/machine-info.js";

/** <repo>/bench-results, or KVPACK_BENCH_RESULTS when set. */
export function benchResultsDirectory(): string {
  const fromEnvironment = process.env.KVPACK_BENCH_RESULTS;
  if (fromEnvironment) return resolve(fromEnvironment);
  return resolve(dirname(fileURLToPath(import.meta.url)), "../../../bench-results");
}

let measured: MachineCeilings | { skipped: string } | undefined;

/**
 * The machine's ceilings (machine/measure-ceilings.ts), measured once per process in a fresh child
 * process (so the bench's own heap and JIT state do not disturb it, and this stays synchronous).
 * KVPACK_BENCH_CEILINGS=0 skips the measurement (the JSON then says so).
 */
export function benchCeilings(): MachineCeilings | { skipped: string } {
  if (measured) return measured;
  if (process.env.KVPACK_BENCH_CEILINGS === "0") return (measured = { skipped: "KVPACK_BENCH_CEILINGS=0" });
  const script = resolve(dirname(fileURLToPath(import.meta.url)), "machine/print-ceilings.ts");
  process.stderr.write("measuring machine ceilings (memory bandwidth, WASM SIMD rate) …\n");
  try {
    // The same Node flags (tsx's loader) so the child can run the TypeScript entry.
    const output = execFileSync(process.execPath, [...process.execArgv, script, "--json"], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
    measured = JSON.parse(output.trim().split("\n").pop() ?? "") as MachineCeilings;
  } catch (error) {
    measured = { skipped: `measurement failed: ${String(error)}` };
  }
  return measured;
}

/** Writes `<results>/<name>.json` with a timestamp, the machine and its measured ceilings; returns the path. */
export function writeBenchJson(name: string, payload: Record<string, unknown>): string {
  const directory = benchResultsDirectory();
  mkdirSync(directory, { recursive: true });
  const path = resolve(directory, `${name}.json`);
  const document = { benchmark: name, createdAt: new Date().toISOString(), machine: machineInfo(), ceilings: benchCeilings(), ...payload };
  writeFileSync(path, `${JSON.stringify(document, null, 2)}\n`);
  return path;
}
