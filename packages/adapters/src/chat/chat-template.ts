import { Template } from "@huggingface/jinja";

/** One chat turn as chat templates see it (`message.role`, `message.content`, plus any other fields a template reads). */
export interface ChatTemplateMessage {
  readonly role: string;
  readonly content: string;
  readonly [field: string]: unknown;
}

export interface ChatTemplateOptions {
  /** Append the opening of an assistant turn (`add_generation_prompt`), for prompting a reply. Default true. */
  readonly addGenerationPrompt?: boolean;
  /** Text of the BOS token (`bos_token`), e.g. "<|begin_of_text|>"; templates that start with it print it. Default "". */
  readonly bosToken?: string;
  /** Text of the EOS token (`eos_token`), e.g. "<|im_end|>". Default "". */
  readonly eosToken?: string;
  /** Further variables the template reads (`tools`, `date_string`, `enable_thinking`, …). */
  readonly variables?: Readonly<Record<string, unknown>>;
}

/** Thrown when a chat template cannot be parsed, or fails while rendering (including the template's own `raise_exception`). */
export class ChatTemplateError extends Error {
  override readonly name = "ChatTemplateError";
}

/**
 * A Jinja chat template (GGUF `tokenizer.chat_template`, tokenizer_config.json `chat_template`),
 * parsed once and rendered per conversation with @huggingface/jinja, the implementation
 * transformers.js uses; the variables are the ones Hugging Face's apply_chat_template passes.
 */
export class ChatTemplate {
  private readonly template: Template;

  constructor(readonly source: string) {
    if (typeof source !== "string" || source.length === 0) throw new ChatTemplateError("a chat template must be a non-empty string");
    try {
      this.template = new Template(source);
    } catch (error) {
      throw new ChatTemplateError(`the chat template does not parse: ${(error as Error).message}`);
    }
  }

  render(messages: readonly ChatTemplateMessage[], options: ChatTemplateOptions = {}): string {
    for (const [index, message] of messages.entries()) {
      if (typeof message?.role !== "string" || typeof message.content !== "string") {
        throw new ChatTemplateError(`message ${index} needs a string role and a string content`);
      }
    }
    try {
      return this.template.render({
        ...options.variables,
        messages,
        add_generation_prompt: options.addGenerationPrompt ?? true,
        bos_token: options.bosToken ?? "",
        eos_token: options.eosToken ?? "",
      });
    } catch (error) {
      throw new ChatTemplateError(`the chat template failed to render: ${(error as Error).message}`);
    }
  }
}

/** Renders `messages` with a chat template in one call (parse + render; keep a ChatTemplate to parse once). */
export function renderChatTemplate(template: string, messages: readonly ChatTemplateMessage[], options: ChatTemplateOptions = {}): string {
  return new ChatTemplate(template).render(messages, options);
}
