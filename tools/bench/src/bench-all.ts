/**
 * `pnpm bench:all`: every benchmark and evaluation in turn, each in its own process (a fresh heap and its
 * own ceiling measurement), with progress on stderr, then `results:render` so the README matches the new
 * JSON. KVPACK_BENCH_QUICK=1 runs each in its quick mode (and the evaluations on fewer stories/positions).
 * Stops at the first failure, naming it.
 */
import { spawnSync } from "node:child_process";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const quick = process.env.KVPACK_BENCH_QUICK === "1";
const here = dirname(fileURLToPath(import.meta.url));

const steps: Array<{ name: string; script: string; args: string[] }> = [
  { name: "bench:codecs", script: "bench-codecs.ts", args: [] },
  { name: "bench:kernels", script: "bench-kernels.ts", args: [] },
  { name: "bench:runtime", script: "bench-runtime.ts", args: [] },
  { name: "bench:server", script: "bench-server.ts", args: [] },
  { name: "bench:policies", script: "bench-policies.ts", args: [] },
  { name: "bench:vs-llama-cpp", script: "bench-vs-llama-cpp.ts", args: [] },
  { name: "eval:perplexity", script: "eval/eval-perplexity.ts", args: quick ? ["--calibration-stories", "2", "--stories", "6", "--dense-stories", "20"] : [] },
  { name: "eval:fidelity", script: "eval/eval-attention-fidelity.ts", args: quick ? ["--positions", "8"] : [] },
  { name: "results:render", script: "results/results-cli.ts", args: [] },
];

const started = performance.now();
for (const [index, step] of steps.entries()) {
  const elapsed = ((performance.now() - started) / 60000).toFixed(1);
  process.stderr.write(`\n=== [${index + 1}/${steps.length}] ${step.name}${quick ? " (quick)" : ""} — ${elapsed} min so far ===\n`);
  const stepStarted = performance.now();
  // The same Node flags (tsx's loader) as this process.
  const result = spawnSync(process.execPath, [...process.execArgv, resolve(here, step.script), ...step.args], { stdio: "inherit", env: process.env });
  const seconds = ((performance.now() - stepStarted) / 1000).toFixed(0);
  if (result.status !== 0) {
    process.stderr.write(`\nbench:all: ${step.name} failed (exit ${result.status ?? result.signal}) after ${seconds} s\n`);
    process.exit(1);
  }
  process.stderr.write(`=== ${step.name} done in ${seconds} s ===\n`);
}
process.stderr.write(`\nbench:all: ${steps.length} steps in ${((performance.now() - started) / 60000).toFixed(1)} min; README tables rendered from the new JSON\n`);
