import type { ServerContext } from "../server-context.js";

/**
 * Longest prompt text accepted before tokenizing. SentencePiece BPE merging costs O(n²) in the
 * text length (≈0.5 s for 4,000 characters of prose on stories260K's tokenizer), so the text is
 * bounded by what can fit the context: 6 characters per token is generous for English (≈4).
 */
export function promptCharacterLimit(context: ServerContext): number {
  return Math.min(context.config.limits.promptTokens, context.model.contextLength) * 6;
}
