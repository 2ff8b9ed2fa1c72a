import path from "node:path";
import { pathToFileURL } from "node:url";
import { readFile } from "node:fs/promises";
import { loadLlama2cCheckpoint, loadLlama2cTokenizer, sentencePieceTokenizerJson } from "@kvpack/adapters";
import { huggingFaceFolderFiles, onnxVariants, writeHuggingFaceFolder, type OnnxVariant } from "./hugging-face-folder.js";

const usage = "usage: pnpm --filter @kvpack/export-onnx export-folder -- <checkpoint.bin> <tokenizer.bin> <out-folder> [fp32,fp16,q4,q8,int8,uint8] [--external-data]";

/**
 * CLI entry: `export-folder <checkpoint.bin> <tokenizer.bin> <out-folder> [variants]` writes a
 * llama2.c checkpoint and its tokenizer as a Hugging Face folder (safetensors + tokenizer.json +
 * onnx/ decoders; `--external-data` puts their weights in onnx/<file>.onnx_data). Relative paths
 * resolve against the directory the command was started from.
 */
export async function runExportFolderCli(argv: readonly string[], baseDirectory = process.env.INIT_CWD ?? process.cwd()): Promise<string> {
  const externalData = argv.includes("--external-data");
  const args = argv.filter((arg) => arg !== "--" && arg !== "--external-data");
  if (args.length < 3 || args.length > 4 || args.some((arg) => arg.startsWith("-"))) throw new Error(usage);
  const variants = (args[3] ?? "fp32,fp16,q4").split(",") as OnnxVariant[];
  for (const variant of variants) if (!(variant in onnxVariants)) throw new Error(`unknown ONNX variant ${JSON.stringify(variant)}; ${usage}`);
  const [checkpointPath, tokenizerPath, folder] = args.slice(0, 3).map((arg) => path.resolve(baseDirectory, arg));
  const weights = loadLlama2cCheckpoint(new Uint8Array(await readFile(checkpointPath)));
  const tokenizer = loadLlama2cTokenizer(new Uint8Array(await readFile(tokenizerPath)), weights.config.vocabSize);
  const pieces = Array.from({ length: tokenizer.vocabSize }, (_, id) => tokenizer.piece(id));
  const scores = Array.from({ length: tokenizer.vocabSize }, (_, id) => tokenizer.score(id));
  const files = huggingFaceFolderFiles(weights, { tokenizerJson: sentencePieceTokenizerJson({ pieces, scores }), onnx: variants, externalData, modelName: path.basename(checkpointPath).replace(/\.bin$/, "") });
  const written = await writeHuggingFaceFolder(folder, files);
  return `wrote ${written.length} files to ${folder}: ${[...files.keys()].join(", ")}`;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  runExportFolderCli(process.argv.slice(2)).then(
    (message) => console.log(message),
    (error: unknown) => {
      console.error(error instanceof Error ? error.message : error);
      process.exitCode = 1;
    },
  );
}
