// Dense-cache perplexity of stories260K on TinyStories validation stories 1–200 (row 0 skipped,
// each story scored from BOS and cut to the model's 512-token context), the number SOURCES.md gives
// as 3.62 over 68,808 predicted tokens (the cut is what makes the token count match).
// Run: pnpm --filter @kvpack/adapters perplexity [story count, default 200]
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { corpusNll } from "../src/generation/sequence-nll.js";
import { loadLlama2cModel } from "../src/llama2c/load-llama2c-model.js";

const dataDirectory = process.env.KVPACK_MODELS_DATA ?? fileURLToPath(new URL("../../../../shared/models-data/", import.meta.url));
const storyCount = Number(process.argv[2] ?? 200);
const { tokenizer, runtime } = await loadLlama2cModel(path.join(dataDirectory, "stories260K.bin"), path.join(dataDirectory, "tok512.bin"));
const stories = readFileSync(path.join(dataDirectory, "tinystories-valid-first600.txt"), "utf8")
  .split("<|endoftext|>")
  .map((story) => story.trim())
  .slice(1, 1 + storyCount)
  .map((story) => tokenizer.encode(story, { bos: true }).slice(0, runtime.maxSequenceLength));
const started = performance.now();
const result = corpusNll(runtime, stories, {
  onSequence: (index) => {
    if ((index + 1) % 20 === 0) process.stderr.write(`  ${index + 1}/${stories.length} stories\n`);
  },
});
const seconds = (performance.now() - started) / 1000;
console.log(`stories260K dense cache, stories 1–${storyCount}: ${result.predictedTokens} predicted tokens, mean NLL ${result.meanNll.toFixed(4)} nats, perplexity ${result.perplexity.toFixed(4)} (${(result.predictedTokens / seconds).toFixed(0)} tokens/s, ${seconds.toFixed(1)} s)`);

// Keep the number with the other measured results (bench-results/ at the repo root).
const resultsDirectory = fileURLToPath(new URL("../../../bench-results/", import.meta.url));
mkdirSync(resultsDirectory, { recursive: true });
const resultFile = path.join(resultsDirectory, "adapters-perplexity.json");
writeFileSync(
  resultFile,
  `${JSON.stringify(
    {
      model: "stories260K",
      cache: "dense fp32",
      stories: `1-${storyCount}`,
      contextCut: runtime.maxSequenceLength,
      predictedTokens: result.predictedTokens,
      meanNll: result.meanNll,
      perplexity: result.perplexity,
      reference: { perplexity: 3.62, predictedTokens: 68808, source: "shared/models-data/SOURCES.md" },
      tokensPerSecond: result.predictedTokens / seconds,
      measuredAt: new Date().toISOString(),
    },
    null,
    2,
  )}\n`,
);
console.log(`wrote ${resultFile}`);
