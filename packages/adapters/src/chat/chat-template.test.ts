import { JinjaTemplateChatWrapper, type ChatHistoryItem } from "node-llama-cpp";
import { describe, expect, it } from "vitest";
import { ChatTemplate, ChatTemplateError, renderChatTemplate, type ChatTemplateMessage } from "./chat-template.js";
import { gemma2Template, llama32Template, llama3Template, phi35MiniTemplate, phi3MiniTemplate, qwen25Template } from "./test-chat-templates.js";

const withSystem: ChatTemplateMessage[] = [
  { role: "system", content: "You are a helpful assistant" },
  { role: "user", content: "Hello" },
  { role: "assistant", content: "Hi there" },
  { role: "user", content: "Who are you" },
];
const withoutSystem = withSystem.slice(1);

// Expected strings: each model card's documented prompt format, written out by hand for these turns.
// The Llama 3 one is also llama.cpp's expected output in tests/test-chat-template.cpp ("Llama-3"), for its
// own 6-turn conversation there, of which this is the prefix.
describe("renderChatTemplate with real templates", () => {
  it("Llama 3: header ids, <|eot_id|>, BOS before the first turn, assistant header as generation prompt", () => {
    expect(renderChatTemplate(llama3Template, withSystem, { bosToken: "<|begin_of_text|>" })).toBe(
      "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nYou are a helpful assistant<|eot_id|>" +
        "<|start_header_id|>user<|end_header_id|>\n\nHello<|eot_id|>" +
        "<|start_header_id|>assistant<|end_header_id|>\n\nHi there<|eot_id|>" +
        "<|start_header_id|>user<|end_header_id|>\n\nWho are you<|eot_id|>" +
        "<|start_header_id|>assistant<|end_header_id|>\n\n",
    );
    expect(renderChatTemplate(llama3Template, withSystem, { addGenerationPrompt: false }).endsWith("Who are you<|eot_id|>")).toBe(true);
  });

  it("Llama 3.2: the system turn gets the knowledge cutoff and the date the caller passes", () => {
    const text = new ChatTemplate(llama32Template).render(withSystem, { bosToken: "<|begin_of_text|>", variables: { date_string: "06 Dec 2026" } });
    expect(text).toBe(
      "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nCutting Knowledge Date: December 2023\nToday Date: 06 Dec 2026\n\nYou are a helpful assistant<|eot_id|>" +
        "<|start_header_id|>user<|end_header_id|>\n\nHello<|eot_id|>" +
        "<|start_header_id|>assistant<|end_header_id|>\n\nHi there<|eot_id|>" +
        "<|start_header_id|>user<|end_header_id|>\n\nWho are you<|eot_id|>" +
        "<|start_header_id|>assistant<|end_header_id|>\n\n",
    );
  });

  it("Qwen2.5 ChatML: <|im_start|>role … <|im_end|>, a default system turn when none is given", () => {
    const turns = "<|im_start|>user\nHello<|im_end|>\n<|im_start|>assistant\nHi there<|im_end|>\n<|im_start|>user\nWho are you<|im_end|>\n<|im_start|>assistant\n";
    expect(renderChatTemplate(qwen25Template, withSystem)).toBe(`<|im_start|>system\nYou are a helpful assistant<|im_end|>\n${turns}`);
    expect(renderChatTemplate(qwen25Template, withoutSystem)).toBe(`<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n${turns}`);
  });

  it("Phi-3 mini and Phi-3.5 mini: <|user|> / <|assistant|> / <|end|>", () => {
    const turns = "<|user|>\nHello<|end|>\n<|assistant|>\nHi there<|end|>\n<|user|>\nWho are you<|end|>\n<|assistant|>\n";
    expect(renderChatTemplate(phi3MiniTemplate, withoutSystem, { bosToken: "<s>" })).toBe(`<s>${turns}`);
    expect(renderChatTemplate(phi35MiniTemplate, withSystem)).toBe(`<|system|>\nYou are a helpful assistant<|end|>\n${turns}`);
    expect(renderChatTemplate(phi35MiniTemplate, withoutSystem, { addGenerationPrompt: false, eosToken: "<|endoftext|>" })).toBe(
      `${turns.slice(0, -"<|assistant|>\n".length)}<|endoftext|>`,
    );
  });

  it("Gemma 2: 'model' for the assistant role, and the template's own errors for a system turn or broken alternation", () => {
    expect(renderChatTemplate(gemma2Template, withoutSystem, { bosToken: "<bos>" })).toBe(
      "<bos><start_of_turn>user\nHello<end_of_turn>\n<start_of_turn>model\nHi there<end_of_turn>\n<start_of_turn>user\nWho are you<end_of_turn>\n<start_of_turn>model\n",
    );
    expect(() => renderChatTemplate(gemma2Template, withSystem)).toThrow(ChatTemplateError);
    expect(() => renderChatTemplate(gemma2Template, withSystem)).toThrow(/System role not supported/);
    expect(() => renderChatTemplate(gemma2Template, [withoutSystem[0], withoutSystem[0]])).toThrow(/roles must alternate/);
  });
});

describe("bad input", () => {
  it("a template that does not parse, an empty template, a message without string content", () => {
    expect(() => new ChatTemplate("{% for message in messages %}{{ message.content }")).toThrow(/does not parse/);
    expect(() => new ChatTemplate("")).toThrow(ChatTemplateError);
    expect(() => renderChatTemplate(llama3Template, [{ role: "user", content: 42 as unknown as string }])).toThrow(/message 0 needs a string role and a string content/);
  });
});

// node-llama-cpp's JinjaTemplateChatWrapper (the Jinja path llama.cpp's Node binding uses for a GGUF's
// tokenizer.chat_template) renders the same conversations; its BOS/EOS markers are mapped to the texts.
describe("the same prompt as node-llama-cpp's Jinja template wrapper", () => {
  function theirs(template: string, messages: readonly ChatTemplateMessage[], bosToken: string, eosToken: string): string {
    const history: ChatHistoryItem[] = messages.map((message) =>
      message.role === "assistant" ? { type: "model", response: [message.content] } : { type: message.role as "user" | "system", text: message.content },
    );
    history.push({ type: "model", response: [] });
    const wrapper = new JinjaTemplateChatWrapper({ template });
    const parts = wrapper.generateContextState({ chatHistory: history }).contextText.toJSON();
    return (Array.isArray(parts) ? parts : [parts])
      .map((part) => (typeof part === "string" ? part : part.type === "specialToken" ? (part.value === "BOS" ? bosToken : part.value === "EOS" ? eosToken : "") : part.value))
      .join("");
  }

  const longConversation: ChatTemplateMessage[] = [
    ...withSystem,
    { role: "assistant", content: "I am an assistant." },
    { role: "user", content: "Tell me a story about a cat named Tom." },
    { role: "assistant", content: "Once upon a time, Tom the cat lived in a small house." },
    { role: "user", content: "And then? 😀 中文" },
  ];
  const cases = [
    ["Llama 3", llama3Template, longConversation, "<|begin_of_text|>", "<|end_of_text|>"],
    ["Qwen2.5", qwen25Template, longConversation, "", "<|endoftext|>"],
    ["Qwen2.5 without a system turn", qwen25Template, longConversation.slice(1), "", "<|endoftext|>"],
    ["Phi-3.5 mini", phi35MiniTemplate, longConversation, "<s>", "<|endoftext|>"],
    ["Phi-3 mini", phi3MiniTemplate, longConversation.slice(1), "<s>", "<|endoftext|>"],
    ["Gemma 2", gemma2Template, longConversation.slice(1), "<bos>", "<eos>"],
  ] as const;
  it.each(cases)("%s, 7 or 8 turns", (_name, template, messages, bosToken, eosToken) => {
    const expected = theirs(template, messages, bosToken, eosToken);
    expect(expected.length).toBeGreaterThan(100);
    expect(renderChatTemplate(template, messages, { bosToken, eosToken })).toBe(expected);
  });
});
