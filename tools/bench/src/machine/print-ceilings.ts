/** `pnpm bench:machine`: prints the machine line and its ceilings (JSON with --json, used by writeBenchJson). */
import { machineInfo, machineLine } from "./machine-info.js";
import { measureCeilings } from "./measure-ceilings.js";

const ceilings = await measureCeilings();
if (process.argv.includes("--json")) {
  process.stdout.write(`${JSON.stringify(ceilings)}\n`);
} else {
  const gb = (value: number) => `${(value / 1e9).toFixed(2)} GB/s`;
  process.stdout.write(`${machineLine(machineInfo())}\n`);
  for (const row of [ceilings.singleThread, ceilings.allThreads]) {
    process.stdout.write(
      `${row.threads} thread(s): JS read ${gb(row.jsReadBytesPerSecond)}, JS copy ${gb(row.jsCopyBytesPerSecond)}, WASM read ${gb(row.wasmReadBytesPerSecond)}, WASM copy ${gb(row.wasmCopyBytesPerSecond)}, WASM SIMD ${(row.wasmSimdMultiplyAddsPerSecond / 1e9).toFixed(2)} G multiply-adds/s\n`,
    );
  }
}
