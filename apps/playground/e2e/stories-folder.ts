import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { loadLlama2cCheckpoint, loadLlama2cTokenizer, sentencePieceTokenizerJson, writeLlamaModelFolder } from "@kvpack/adapters";

/**
 * stories260K + tok512 written by the adapters' folder writer (writeLlamaModelFolder: config.json,
 * generation_config.json, tokenizer.json, tokenizer_config.json, model.safetensors) into
 * `<temp dir>/<name>/`, plus `extra` files; returns the folder's path, as a person's downloaded
 * Hugging Face folder would lie on disk.
 */
export function writeStoriesFolder(checkpoint: ArrayBuffer, tokenizerBytes: ArrayBuffer, name: string, change: (files: Map<string, Uint8Array>) => void = () => {}): string {
  const weights = loadLlama2cCheckpoint(checkpoint);
  const tokenizer = loadLlama2cTokenizer(tokenizerBytes, weights.config.vocabSize);
  const pieces = Array.from({ length: tokenizer.vocabSize }, (_, id) => tokenizer.piece(id));
  const scores = Array.from({ length: tokenizer.vocabSize }, (_, id) => tokenizer.score(id));
  const files = writeLlamaModelFolder(weights, { tokenizerJson: sentencePieceTokenizerJson({ pieces, scores }) });
  change(files);
  const folder = join(mkdtempSync(join(tmpdir(), "kvpack-playground-")), name);
  for (const [path, bytes] of files) {
    mkdirSync(dirname(join(folder, path)), { recursive: true });
    writeFileSync(join(folder, path), bytes);
  }
  return folder;
}
