import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { loadLlama2cCheckpoint } from "@kvpack/adapters";
import { exportLlamaDecoderOnnx } from "./llama-decoder-graph.js";

export interface ExportSummary {
  readonly inputPath: string;
  readonly outputPath: string;
  readonly bytes: number;
  readonly layers: number;
  readonly heads: number;
  readonly kvHeads: number;
  readonly headDim: number;
  readonly vocabSize: number;
}

/** Reads a llama2.c checkpoint and writes it as a decoder-with-past ONNX model. */
export async function exportLlama2cCheckpoint(inputPath: string, outputPath: string): Promise<ExportSummary> {
  const weights = loadLlama2cCheckpoint(new Uint8Array(await readFile(inputPath)));
  const modelName = path.basename(inputPath).replace(/\.bin$/, "");
  const bytes = exportLlamaDecoderOnnx(weights, { modelName });
  await writeFile(outputPath, bytes);
  const { layers, heads, kvHeads, headDim, vocabSize } = weights.config;
  return { inputPath, outputPath, bytes: bytes.byteLength, layers, heads, kvHeads, headDim, vocabSize };
}
