import path from "node:path";
import { pathToFileURL } from "node:url";
import { exportLlama2cCheckpoint } from "./export-checkpoint.js";

const usage = "usage: pnpm --filter @kvpack/export-onnx export -- <checkpoint.bin> <out.onnx>";

/**
 * CLI entry: `export <checkpoint.bin> <out.onnx>`. Relative paths resolve against the directory
 * the command was started from (pnpm's INIT_CWD), not this package's folder.
 */
export async function runExportCli(argv: readonly string[], baseDirectory = process.env.INIT_CWD ?? process.cwd()): Promise<string> {
  // pnpm forwards the `--` separator to the script; skip it.
  const args = argv.filter((arg) => arg !== "--");
  if (args.length !== 2 || args.some((arg) => arg.startsWith("-"))) throw new Error(usage);
  const [inputPath, outputPath] = args.map((arg) => path.resolve(baseDirectory, arg));
  const summary = await exportLlama2cCheckpoint(inputPath, outputPath);
  return (
    `wrote ${summary.outputPath} (${summary.bytes} bytes): ${summary.layers} layers, ${summary.heads} heads, ` +
    `${summary.kvHeads} KV heads × ${summary.headDim}, vocabulary ${summary.vocabSize}`
  );
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  runExportCli(process.argv.slice(2)).then(
    (message) => console.log(message),
    (error: unknown) => {
      console.error(error instanceof Error ? error.message : error);
      process.exitCode = 1;
    },
  );
}
