import { mkdtempSync, mkdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { loadLlama2cCheckpoint } from "../llama2c/load-llama2c-checkpoint.js";
import { loadLlama2cTokenizer } from "../llama2c/load-llama2c-tokenizer.js";
import { readModelsData } from "../model/test-models-data.js";
import type { SentencePieceBpeTokenizer } from "../tokenizers/sentencepiece-bpe-tokenizer.js";
import { writeLlamaModelFolder, type WriteLlamaModelFolderOptions } from "./write-model-folder.js";
import { sentencePieceTokenizerJson } from "./write-tokenizer-json.js";

// Test-only helpers (not exported from the package): Hugging Face folders built from ../shared/models-data.

export function sentencePieceJsonOf(tokenizer: SentencePieceBpeTokenizer): Record<string, unknown> {
  const pieces = Array.from({ length: tokenizer.vocabSize }, (_, id) => tokenizer.piece(id));
  const scores = Array.from({ length: tokenizer.vocabSize }, (_, id) => tokenizer.score(id));
  return sentencePieceTokenizerJson({ pieces, scores });
}

/** stories260K + tok512 as a Hugging Face folder (file path → bytes). */
export function stories260KFolder(options: Partial<WriteLlamaModelFolderOptions> = {}): Map<string, Uint8Array> {
  const weights = loadLlama2cCheckpoint(readModelsData("stories260K.bin"));
  const tokenizer = loadLlama2cTokenizer(readModelsData("tok512.bin"), weights.config.vocabSize);
  return writeLlamaModelFolder(weights, { tokenizerJson: sentencePieceJsonOf(tokenizer), ...options });
}

/** Writes a folder's files under a fresh temporary directory and returns its path. */
export function writeFolderToDisk(files: ReadonlyMap<string, Uint8Array>): string {
  const directory = mkdtempSync(path.join(tmpdir(), "kvpack-hf-folder-"));
  for (const [name, bytes] of files) {
    mkdirSync(path.dirname(path.join(directory, name)), { recursive: true });
    writeFileSync(path.join(directory, name), bytes);
  }
  return directory;
}

export function jsonBytes(value: unknown): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(value));
}

export function parseJsonFile(files: ReadonlyMap<string, Uint8Array>, name: string): Record<string, unknown> {
  return JSON.parse(new TextDecoder().decode(files.get(name))) as Record<string, unknown>;
}
