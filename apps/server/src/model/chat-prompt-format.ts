import { ChatTemplate, ChatTemplateError, type ChatTemplateMessage } from "@kvpack/adapters";
import { ApiError } from "../http/api-error.js";
import { messageText, renderChatPrompt } from "../openai/chat-template.js";
import type { ChatMessage } from "../openai/request-schemas.js";

/** How /v1/chat/completions turns messages into the prompt text the model sees. */
export interface ChatPromptFormat {
  /** "model-template": the model's own Jinja chat template; "plain-join": the contents concatenated (models without one). */
  readonly kind: "model-template" | "plain-join";
  /** The prompt text; a template that rejects the conversation (its raise_exception) gives a 400 naming `messages`. */
  render(messages: readonly ChatMessage[]): string;
  /** Whether control tokens written by the template ("<|im_start|>") are tokenized as themselves (llama.cpp parse_special). */
  readonly special: boolean;
}

/** Today's format for story models with no chat training (stories260K): renderChatPrompt. */
export const plainJoinFormat: ChatPromptFormat = { kind: "plain-join", render: renderChatPrompt, special: false };

export interface ModelTemplateOptions {
  /** Text of the BOS token (`bos_token` in the template), e.g. "<|begin_of_text|>"; "" when the model has none. */
  readonly bosToken: string;
  /** Text of the EOS token (`eos_token`). */
  readonly eosToken: string;
  /**
   * The tokenizer adds BOS itself: a rendering that starts with the BOS text loses it, so the prompt
   * does not start with two BOS tokens (llama.cpp's common_chat_templates_apply does the same).
   */
  readonly tokenizerAddsBos: boolean;
}

/** The messages as chat templates read them: role, content as one string, name when given. */
function templateMessages(messages: readonly ChatMessage[]): ChatTemplateMessage[] {
  return messages.map((message) => (message.name === undefined ? { role: message.role, content: messageText(message) } : { role: message.role, content: messageText(message), name: message.name }));
}

/**
 * A model's own chat template (GGUF `tokenizer.chat_template`, or a Hugging Face
 * tokenizer_config.json `chat_template`), parsed once at load and rendered per request with
 * add_generation_prompt. Throws ChatTemplateError at load when the template does not parse.
 */
export function modelTemplateFormat(source: string, options: ModelTemplateOptions): ChatPromptFormat {
  const template = new ChatTemplate(source);
  return {
    kind: "model-template",
    special: true,
    render(messages) {
      let text: string;
      try {
        text = template.render(templateMessages(messages), { addGenerationPrompt: true, bosToken: options.bosToken, eosToken: options.eosToken });
      } catch (error) {
        if (error instanceof ChatTemplateError) throw new ApiError(400, `the model's chat template rejected the messages: ${error.message}`, { param: "messages", code: "invalid_value" });
        throw error;
      }
      if (options.tokenizerAddsBos && options.bosToken !== "" && text.startsWith(options.bosToken)) text = text.slice(options.bosToken.length);
      return text;
    },
  };
}
