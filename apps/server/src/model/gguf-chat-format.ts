import type { GgufFile, Tokenizer } from "@kvpack/adapters";
import { ModelLoadError } from "./model-load-error.js";
import { type ChatPromptFormat, modelTemplateFormat, plainJoinFormat } from "./chat-prompt-format.js";

/** The text of token `id` as the file spells it (tokenizer.ggml.tokens), "" when the file has no such token. */
function tokenText(file: GgufFile, id: number): string {
  const tokens = file.metadata.get("tokenizer.ggml.tokens");
  const text = Array.isArray(tokens) ? tokens[id] : undefined;
  return typeof text === "string" ? text : "";
}

/**
 * The chat format of a GGUF model: its `tokenizer.chat_template` with the file's BOS / EOS token
 * texts, or the plain join when the file has no template.
 */
export function ggufChatFormat(file: GgufFile, tokenizer: Tokenizer, tokenizerAddsBos: boolean): ChatPromptFormat {
  const source = file.metadata.get("tokenizer.chat_template");
  if (source === undefined) return plainJoinFormat;
  if (typeof source !== "string" || source.length === 0) throw new ModelLoadError("GGUF tokenizer.chat_template must be a non-empty string");
  return modelTemplateFormat(source, { bosToken: tokenText(file, tokenizer.bosId), eosToken: tokenText(file, tokenizer.eosId), tokenizerAddsBos });
}
