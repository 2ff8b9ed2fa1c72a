import { readFileSync } from "node:fs";
import path from "node:path";
import { Tokenizer as HfTokenizer } from "@huggingface/tokenizers";
import { describe, expect, it } from "vitest";
import { modelsDataDirectory } from "../model/test-models-data.js";
import { bpePreTokenizer } from "./bpe-pre-tokenizers.js";
import { ByteLevelBpeTokenizer } from "./byte-level-bpe-tokenizer.js";

// Why ByteLevelBpeTokenizer is hand-written rather than @huggingface/tokenizers 0.2.0 (the pure-JS
// port of 🤗 tokenizers) running a tokenizer.json synthesized from the GGUF vocabulary: both give the
// same ids (this test; ByteLevelBpeTokenizer gives llama.cpp's, gguf-tokenizer-llama-cpp.test.ts), but
// the library is several times slower on the same texts, and it always matches special tokens in the
// text, where llama.cpp does so only when asked (parse_special). The pre-tokenizer regexes are the
// ones the Hugging Face tokenizer.json files of GPT-2 and Llama 3 carry. KVPACK_TOKENIZER_FULL=1 runs
// the whole wikitext-2 test text and TinyStories file and prints the timings.
const full = process.env.KVPACK_TOKENIZER_FULL === "1";
const texts = {
  wikitext: readFileSync(path.join(modelsDataDirectory, "wikitext-2-raw-test.raw"), "utf8"),
  tinyStories: readFileSync(path.join(modelsDataDirectory, "tinystories-valid-first600.txt"), "utf8").replaceAll("<|endoftext|>", ""),
};
const encoder = JSON.parse(readFileSync(path.join(modelsDataDirectory, "gpt2-encoder.json"), "utf8")) as Record<string, number>;
const tokens: string[] = [];
for (const [piece, id] of Object.entries(encoder)) tokens[id] = piece;
const merges = readFileSync(path.join(modelsDataDirectory, "gpt2-vocab.bpe"), "utf8").split("\n").filter((line) => line && !line.startsWith("#version"));
const hfRegexes = {
  "gpt-2": "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)",
  "llama-bpe": "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
} as const;

function pieces(text: string): string[] {
  const lines = text.split("\n").slice(0, full ? undefined : 200);
  const out: string[] = [];
  for (let i = 0; i < lines.length; i += 20) out.push(lines.slice(i, i + 20).join("\n") + "\n");
  return out;
}

describe("@huggingface/tokenizers 0.2.0 on a tokenizer.json built from the same vocabulary", () => {
  it.each(Object.keys(hfRegexes) as (keyof typeof hfRegexes)[])("pre-tokenizer %s: same ids as ByteLevelBpeTokenizer", (pre) => {
    const hf = new HfTokenizer(
      {
        version: "1.0",
        added_tokens: [{ id: 50256, content: "<|endoftext|>", single_word: false, lstrip: false, rstrip: false, normalized: false, special: true }],
        normalizer: null,
        pre_tokenizer: { type: "Sequence", pretokenizers: [{ type: "Split", pattern: { Regex: hfRegexes[pre] }, behavior: "Isolated", invert: false }, { type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: false }] },
        post_processor: null,
        decoder: { type: "ByteLevel", add_prefix_space: true, trim_offsets: true, use_regex: true },
        model: { type: "BPE", dropout: null, unk_token: null, continuing_subword_prefix: null, end_of_word_suffix: null, fuse_unk: false, byte_fallback: false, ignore_merges: pre === "llama-bpe", vocab: encoder, merges },
      },
      {},
    );
    const ours = new ByteLevelBpeTokenizer({ tokens, merges, tokenTypes: tokens.map((_, id) => (id === 50256 ? 3 : 1)), preTokenizer: bpePreTokenizer(pre)!, bosId: 50256, eosId: 50256 });
    for (const [name, text] of Object.entries(texts)) {
      let hfMs = 0;
      let oursMs = 0;
      let count = 0;
      for (const piece of pieces(text)) {
        let started = performance.now();
        const theirs = hf.encode(piece, { add_special_tokens: false }).ids;
        hfMs += performance.now() - started;
        started = performance.now();
        const ids = ours.encode(piece, { bos: false });
        oursMs += performance.now() - started;
        expect(ids).toEqual(theirs);
        count += ids.length;
      }
      console.log(`${pre} ${name}: ${count} tokens equal; @huggingface/tokenizers ${hfMs.toFixed(0)} ms, ByteLevelBpeTokenizer ${oursMs.toFixed(0)} ms`);
    }
  }, 300_000);
});
