import { rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { GgufFile, ggufTokenizer, renderChatTemplate } from "@kvpack/adapters";
import { afterAll, describe, expect, it } from "vitest";
import { createServer } from "../src/app.js";
import { parseServerConfig } from "../src/config/load-config.js";
import { loadServedModel, type ServedModel } from "../src/model/load-served-model.js";
import { chatMlTemplate, writeChatGguf, type ChatGgufOptions } from "./chat-gguf.js";
import { postJson, temporaryDirectory } from "./test-server.js";

const directory = temporaryDirectory("chat-gguf");
let fileCount = 0;

async function loadChatGguf(options: ChatGgufOptions): Promise<{ model: ServedModel; bytes: Uint8Array }> {
  const bytes = writeChatGguf(options);
  const file = path.join(directory, `chat-${fileCount++}.gguf`);
  writeFileSync(file, bytes);
  return { model: await loadServedModel({ path: file, format: "auto" }), bytes };
}

/** The served model with every token it runs recorded (prompt first, then the generated ones). */
function recording(model: ServedModel): { model: ServedModel; seen: number[] } {
  const seen: number[] = [];
  const prefill = model.prefill;
  return {
    seen,
    model: {
      ...model,
      forward: (token, position, cache) => (seen.push(token), model.forward(token, position, cache)),
      prefill: prefill && ((tokens, startPosition, cache, signal) => (seen.push(...tokens), prefill(tokens, startPosition, cache, signal))),
    },
  };
}

/** One chat request on a fresh server (no prefix pages from an earlier request); returns the tokens the model saw as its prompt. */
async function promptSeen(model: ServedModel, messages: unknown[]): Promise<{ status: number; json: any; prompt: number[] }> {
  const recorder = recording(model);
  const server = await createServer(parseServerConfig({ host: "127.0.0.1", port: 0, logLevel: "silent", kv: { diskEnabled: false } }), { model: recorder.model });
  try {
    const baseUrl = await server.listen();
    const response = await postJson(baseUrl, "/v1/chat/completions", { model: model.id, messages, max_tokens: 2, temperature: 0, kvpack: { codec: "fp32" } });
    const promptTokens = response.status === 200 ? response.json.usage.prompt_tokens : 0;
    return { ...response, prompt: recorder.seen.slice(0, promptTokens) };
  } finally {
    await server.close();
  }
}

const conversation = [
  { role: "system", content: "You are terse." },
  { role: "user", content: "Name a colour." },
  { role: "assistant", content: "Blue." },
  { role: "user", content: [{ type: "text", text: "Another " }, { type: "text", text: "one?" }] },
];
// ChatML written out by hand from the template's definition: each turn "<|im_start|>role\ncontent<|im_end|>\n",
// then add_generation_prompt's "<|im_start|>assistant\n"; text parts joined.
const conversationChatMl =
  "<|im_start|>system\nYou are terse.<|im_end|>\n<|im_start|>user\nName a colour.<|im_end|>\n" +
  "<|im_start|>assistant\nBlue.<|im_end|>\n<|im_start|>user\nAnother one?<|im_end|>\n<|im_start|>assistant\n";
const imStart = 50257;
const imEnd = 50258;

afterAll(() => rmSync(directory, { recursive: true, force: true }));

describe("/v1/chat/completions with the model's own chat template (GGUF tokenizer.chat_template)", () => {
  it("serves a GGUF with its gpt2 tokenizer, its stop tokens and its template: the model's prompt is the template's rendering", async () => {
    const { model, bytes } = await loadChatGguf({ chatTemplate: chatMlTemplate });
    expect(model.chatFormat.kind).toBe("model-template");
    // <|endoftext|> is the file's EOS id; <|im_end|> ends generation by its text, as in llama.cpp.
    expect([...model.tokenizer.stopTokenIds].sort()).toEqual([50256, imEnd]);
    const rendered = renderChatTemplate(chatMlTemplate, conversation.map((message, index) => ({ role: message.role, content: index === 3 ? "Another one?" : (message.content as string) })));
    expect(rendered).toBe(conversationChatMl);
    const tokenizer = ggufTokenizer(new GgufFile(bytes))!;
    const expected = tokenizer.encode(conversationChatMl, { special: true });
    // The control tokens are single ids (4 turns + the generation prompt), not their spelling in BPE pieces.
    expect(expected.filter((id) => id === imStart)).toHaveLength(5);
    expect(expected.filter((id) => id === imEnd)).toHaveLength(4);
    // The "gpt-2" pre-tokenizer adds no BOS (llama.cpp's default for it).
    expect(model.addBos).toBe(false);
    const response = await promptSeen(model, conversation);
    expect(response.status, JSON.stringify(response.json)).toBe(200);
    expect(response.prompt).toEqual(expected);
    expect(tokenizer.decode(response.prompt)).toBe(tokenizer.decode(expected));
  });

  it("drops a leading bos_token from the rendering when the tokenizer adds BOS itself (one BOS, as llama.cpp)", async () => {
    const template = "{{ bos_token }}" + chatMlTemplate;
    const { model } = await loadChatGguf({ chatTemplate: template, metadata: { "tokenizer.ggml.add_bos_token": { type: "bool", value: true } } });
    expect(model.addBos).toBe(true);
    const response = await promptSeen(model, [{ role: "user", content: "Hi" }]);
    expect(response.status, JSON.stringify(response.json)).toBe(200);
    // "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n" after exactly one BOS (50256).
    expect(response.prompt[0]).toBe(50256);
    expect(response.prompt[1]).toBe(imStart);
    expect(response.prompt.filter((id) => id === 50256)).toHaveLength(1);
  });

  it("answers 400 naming messages when the template rejects the conversation (its raise_exception)", async () => {
    const template = "{% if messages[0]['role'] == 'system' %}{{ raise_exception('System role not supported') }}{% endif %}" + chatMlTemplate;
    const { model } = await loadChatGguf({ chatTemplate: template });
    const response = await promptSeen(model, conversation);
    expect(response.status).toBe(400);
    expect(response.json.error.param).toBe("messages");
    expect(response.json.error.message).toMatch(/System role not supported/);
  });

  it("uses the plain join for a GGUF without a chat template", async () => {
    const { model, bytes } = await loadChatGguf({});
    expect(model.chatFormat.kind).toBe("plain-join");
    const response = await promptSeen(model, [{ role: "system", content: "Once" }, { role: "user", content: " upon a time" }]);
    expect(response.status, JSON.stringify(response.json)).toBe(200);
    expect(response.prompt).toEqual(ggufTokenizer(new GgufFile(bytes))!.encode("Once upon a time"));
  });

  it("fails start-up naming the chat template when it does not parse", async () => {
    await expect(loadChatGguf({ chatTemplate: "{% for message in messages %}{{ message['content'] }}" })).rejects.toThrow(/chat template does not parse/);
  });
});
