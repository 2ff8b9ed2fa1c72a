import { mkdirSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** <repo>/bench-results, or KVPACK_BENCH_RESULTS when set. */
export function benchResultsDirectory(): string {
  const fromEnvironment = process.env.KVPACK_BENCH_RESULTS;
  if (fromEnvironment) return resolve(fromEnvironment);
  return resolve(dirname(fileURLToPath(import.meta.url)), "../../../bench-results");
}

/** Machine facts recorded next to every result, so timings can be compared honestly. */
export function machineInfo(): Record<string, string | number> {
  const processors = cpus();
  return {
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    cpu: processors[0]?.model ?? "unknown",
    cores: processors.length,
  };
}

/** Writes `<results>/<name>.json` with a timestamp and machine info; returns the path. */
export function writeBenchJson(name: string, payload: Record<string, unknown>): string {
  const directory = benchResultsDirectory();
  mkdirSync(directory, { recursive: true });
  const path = resolve(directory, `${name}.json`);
  const document = { benchmark: name, createdAt: new Date().toISOString(), machine: machineInfo(), ...payload };
  writeFileSync(path, `${JSON.stringify(document, null, 2)}\n`);
  return path;
}
