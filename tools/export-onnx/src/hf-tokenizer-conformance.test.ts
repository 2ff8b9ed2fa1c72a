import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { gpt2TokenizerJson, loadLlama2cTokenizer, loadModelFolder, sentencePieceTokenizerJson, type ChatTemplateMessage, type ModelFolder } from "@kvpack/adapters";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writeHuggingFaceFolder } from "./hugging-face-folder.js";
import { modelsDataDirectory, readModelsData } from "./test-support/models-data.js";

// tokenizer.json + tokenizer_config.json folders built from the shared vocabularies (GPT-2 byte-level
// BPE with ChatML tokens added, the Llama 2 SentencePiece vocabulary with its chat template), read by
// kvpack's loadModelFolder and by transformers.js 4.3.1's AutoTokenizer (offline): the same ids on
// wikitext-2 test, TinyStories and a unicode stress set, and the same rendered chat prompts.
const encoder = new TextEncoder();
const json = (value: unknown) => encoder.encode(JSON.stringify(value));
const text = (name: string) => readFileSync(path.join(modelsDataDirectory, name), "utf8");

// meta-llama/Llama-2-7b-chat-hf tokenizer_config.json chat_template.
const llama2Template = "{% if messages[0]['role'] == 'system' %}{% set loop_messages = messages[1:] %}{% set system_message = messages[0]['content'] %}{% else %}{% set loop_messages = messages %}{% set system_message = false %}{% endif %}{% for message in loop_messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}{% if loop.index0 == 0 and system_message != false %}{% set content = '<<SYS>>\\n' + system_message + '\\n<</SYS>>\\n\\n' + message['content'] %}{% else %}{% set content = message['content'] %}{% endif %}{% if message['role'] == 'user' %}{{ bos_token + '[INST] ' + content.strip() + ' [/INST]' }}{% elif message['role'] == 'assistant' %}{{ ' '  + content.strip() + ' ' + eos_token }}{% endif %}{% endfor %}";
// ChatML (Qwen2 / SmolLM style) without tools.
const chatMlTemplate = "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

const conversation: ChatTemplateMessage[] = [
  { role: "system", content: "You are a helpful assistant. Answer briefly." },
  { role: "user", content: "Hello! What is 2 + 2?" },
  { role: "assistant", content: "  2 + 2 = 4. " },
  { role: "user", content: "And in words — naïve café 🙂?" },
];

const unicodeStress = [
  "Emoji 😀👍🏽 family 👨‍👩‍👧‍👦 flags 🇫🇷🇯🇵 and ❤️",
  "中文分词测试，日本語のテキスト、한국어 문장입니다。",
  "Combining: e\u0301 a\u0308 n\u0303 Z\u0351\u0307\u0308 \u0915\u094d\u0937 \u0e01\u0e34",
  "Control \u0001\u0007\t\u000b\f\r\n\u001b[0m\u007f\u0085\u00a0\u2028 end",
  "Spaces:      eight   then\t\ttabs\n\n\nnewlines   \n  ",
  "Digits 1234567890 12 345 6789012345678901234567890 3.14159 1,000,000",
  "Contractions: I'm you're it's we'll they'd can't DON'T I'M",
  "A" + " ".repeat(100) + "B" + "9".repeat(80),
  "   leading spaces, trailing spaces   ",
  "\n\n\nleading newlines",
];

function pieces(source: string, lines: number): string[] {
  const all = source.replaceAll("\r", "").split("\n").slice(0, lines);
  const out: string[] = [];
  for (let i = 0; i < all.length; i += 20) out.push(all.slice(i, i + 20).join("\n") + "\n");
  return out;
}

const texts = [...pieces(text("wikitext-2-raw-test.raw"), 120), ...pieces(text("tinystories-valid-first600.txt").replaceAll("<|endoftext|>", ""), 80), ...unicodeStress];

describe("tokenizer.json folders: kvpack's loadModelFolder against transformers.js' AutoTokenizer", () => {
  let directory: string;
  let transformers: typeof import("@huggingface/transformers");

  beforeAll(async () => {
    directory = mkdtempSync(path.join(tmpdir(), "kvpack-hf-tokenizers-"));
    const gpt2Encoder = JSON.parse(text("gpt2-encoder.json")) as Record<string, number>;
    const gpt2 = gpt2TokenizerJson(gpt2Encoder, text("gpt2-vocab.bpe").split("\n"));
    const chatTokens = ["<|im_start|>", "<|im_end|>"].map((content, index) => ({ id: 50257 + index, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true }));
    const gpt2Json = { ...gpt2, added_tokens: [...(gpt2.added_tokens as unknown[]), ...chatTokens] };
    await writeHuggingFaceFolder(path.join(directory, "gpt2-chatml"), new Map([
      ["config.json", json({ model_type: "gpt2", vocab_size: 50259, eos_token_id: 50256, bos_token_id: 50256 })],
      ["tokenizer.json", json(gpt2Json)],
      ["tokenizer_config.json", json({ bos_token: "<|endoftext|>", eos_token: "<|im_end|>", chat_template: chatMlTemplate, tokenizer_class: "GPT2Tokenizer" })],
    ]));
    const llama = loadLlama2cTokenizer(readModelsData("tokenizer.bin"), 32000);
    const llamaJson = sentencePieceTokenizerJson({ pieces: Array.from({ length: 32000 }, (_, id) => llama.piece(id)), scores: Array.from({ length: 32000 }, (_, id) => llama.score(id)) });
    await writeHuggingFaceFolder(path.join(directory, "llama-2"), new Map([
      ["config.json", json({ model_type: "llama", vocab_size: 32000, bos_token_id: 1, eos_token_id: 2 })],
      ["tokenizer.json", json(llamaJson)],
      ["tokenizer_config.json", json({ bos_token: "<s>", eos_token: "</s>", unk_token: "<unk>", add_bos_token: true, add_eos_token: false, chat_template: llama2Template, tokenizer_class: "LlamaTokenizer", legacy: true })],
    ]));
    transformers = await import("@huggingface/transformers");
    transformers.env.allowRemoteModels = false;
    transformers.env.localModelPath = `${directory}${path.sep}`;
  });

  afterAll(() => rmSync(directory, { recursive: true, force: true }));

  /** kvpack's tokenizer of a folder (loadModelFolder reads the weights too; these folders have none, so read the tokenizer part). */
  async function kvpackFolder(name: string): Promise<Pick<ModelFolder, "tokenizer" | "chatTemplate">> {
    // A tokenizer-only folder: give loadModelFolder an empty onnx decoder to find, it never runs it.
    const files = new Map<string, Uint8Array>();
    for (const file of ["config.json", "tokenizer.json", "tokenizer_config.json"]) files.set(file, new Uint8Array(readFileSync(path.join(directory, name, file))));
    files.set("onnx/model.onnx", new Uint8Array(1));
    const config = JSON.parse(new TextDecoder().decode(files.get("config.json"))) as Record<string, unknown>;
    if (config.model_type === "llama") files.set("config.json", json({ ...config, hidden_size: 8, intermediate_size: 8, num_hidden_layers: 1, num_attention_heads: 2, max_position_embeddings: 16 }));
    return loadModelFolder(files, { format: "onnx" });
  }

  it.each(["gpt2-chatml", "llama-2"])("%s: the same ids on wikitext-2, TinyStories and unicode stress", async (name) => {
    const theirs = await transformers.AutoTokenizer.from_pretrained(name);
    const ours = (await kvpackFolder(name)).tokenizer;
    let count = 0;
    for (const sample of texts) {
      const expected = theirs.encode(sample);
      expect(ours.encode(sample, { special: true }), JSON.stringify(sample.slice(0, 50))).toEqual(expected);
      count += expected.length;
    }
    expect(count).toBeGreaterThan(10_000);
  }, 120_000);

  it.each([["gpt2-chatml"], ["llama-2"]])("%s: the chat template renders apply_chat_template's prompt and tokenizes to its ids", async (name) => {
    const theirs = await transformers.AutoTokenizer.from_pretrained(name);
    const folder = await kvpackFolder(name);
    for (const [messages, addGenerationPrompt] of [[conversation, true], [conversation.slice(0, 3), false]] as const) {
      const expected = theirs.apply_chat_template([...messages], { tokenize: false, add_generation_prompt: addGenerationPrompt }) as string;
      const rendered = folder.chatTemplate!.render(messages, { addGenerationPrompt, bosToken: folder.tokenizer.tokenText("bos_token"), eosToken: folder.tokenizer.tokenText("eos_token") });
      expect(rendered).toBe(expected);
      // The rendered prompt carries its own BOS where the template prints it.
      const ids = theirs.apply_chat_template([...messages], { tokenize: true, add_generation_prompt: addGenerationPrompt, return_tensor: false, return_dict: false }) as number[];
      expect(folder.tokenizer.encode(rendered, { special: true, bos: false })).toEqual(ids);
    }
  }, 60_000);
});
