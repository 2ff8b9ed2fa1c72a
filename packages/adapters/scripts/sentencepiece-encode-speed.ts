// Encode time of SentencePieceBpeTokenizer on TinyStories text cut to 1,000–16,000 characters, with
// tok512.bin and the 32000-token llama2.c tokenizer.bin. Doubling the length should about double
// the time (O(n log n) merges); the old rescanning loop grew 4× per doubling.
// Run: pnpm --filter @kvpack/adapters exec tsx scripts/sentencepiece-encode-speed.ts
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { loadLlama2cTokenizer } from "../src/llama2c/load-llama2c-tokenizer.js";

const dataDirectory = process.env.KVPACK_MODELS_DATA ?? fileURLToPath(new URL("../../../../shared/models-data/", import.meta.url));
const corpus = readFileSync(path.join(dataDirectory, "tinystories-valid-first600.txt"), "utf8").replaceAll("<|endoftext|>", "\n");
const lengths = [1_000, 2_000, 4_000, 8_000, 16_000];
const rows: { tokenizer: string; characters: number; tokens: number; milliseconds: number }[] = [];
for (const [file, vocabSize] of [["tok512.bin", 512], ["tokenizer.bin", 32000]] as const) {
  const tokenizer = loadLlama2cTokenizer(new Uint8Array(readFileSync(path.join(dataDirectory, file))), vocabSize);
  tokenizer.encode(corpus.slice(0, 1_000)); // warm-up
  for (const characters of lengths) {
    const text = corpus.slice(0, characters);
    // Best of 3 runs (the machine is shared; the minimum is the least disturbed).
    let best = Infinity;
    let tokens = 0;
    for (let run = 0; run < 3; run++) {
      const started = performance.now();
      tokens = tokenizer.encode(text, { bos: true }).length;
      best = Math.min(best, performance.now() - started);
    }
    rows.push({ tokenizer: file, characters, tokens, milliseconds: best });
    console.log(`${file.padEnd(14)} ${String(characters).padStart(6)} chars  ${String(tokens).padStart(6)} tokens  ${best.toFixed(1).padStart(9)} ms`);
  }
}

const resultsDirectory = fileURLToPath(new URL("../../../bench-results/", import.meta.url));
mkdirSync(resultsDirectory, { recursive: true });
writeFileSync(path.join(resultsDirectory, "sentencepiece-encode.json"), `${JSON.stringify({ benchmark: "sentencepiece-encode", rows }, null, 2)}\n`);
