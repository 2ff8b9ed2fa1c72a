import type { ChatMessage } from "./request-schemas.js";

/** The text of one message (string content or the concatenated text parts). */
export function messageText(message: ChatMessage): string {
  if (message.content === null) return "";
  if (typeof message.content === "string") return message.content;
  return message.content.map((part) => part.text).join("");
}

/**
 * Chat template for story models with no chat training (stories260K): the messages' contents
 * concatenated in order, nothing added. A conversation that resends earlier turns therefore
 * tokenizes to (almost) the same prefix, so its session KV is reused, not recomputed.
 */
export function renderChatPrompt(messages: readonly ChatMessage[]): string {
  return messages.map(messageText).join("");
}
